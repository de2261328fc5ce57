import assert from 'node:assert/strict'
import {test} from 'node:test'

import {INIT_CWND_BYTES, MAX_RTO_S, MIN_CWND_BYTES, PACING_BURST_BYTES, PACING_GAIN, Pacer, type PacedPacket} from '../../../src/keyfetch/pacer.js'

/**
 * Virtual link: one-way delay, a serialising bottleneck and random loss. Drives the pacer exactly
 * as the key fetcher does: send the earliest-due packet when decongested, retransmit on RTO.
 */
function download(opts: {packets: number; bytes: number; rttS: number; bitsPerS: number; loss: number; seed: number}) {
  const pacer = new Pacer()
  const pkts: PacedPacket[] = Array.from({length: opts.packets}, () => pacer.newPacket(opts.bytes))
  let seed = opts.seed
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000)
  const acks: Array<{at: number; p: PacedPacket}> = []
  let linkFree = 0
  let now = 0
  let sends = 0
  let maxInflight = 0
  let done = 0
  while (done < pkts.length && now < 600) {
    // Deliver acknowledgements due by now.
    acks.sort((a, b) => a.at - b.at)
    while (acks.length > 0 && acks[0]!.at <= now) {
      const a = acks.shift()!
      if (!a.p.acked) {
        pacer.acknowledged(a.p, a.at)
        done++
      }
    }
    // Next packet to (re)send: unsent first in order, else the earliest RTO-expired one.
    const next = pkts.find((p) => p.sends === 0) ?? pkts.filter((p) => !p.acked && pacer.whenRto(p, now) === 0)[0]
    const wait = next === undefined ? Number.POSITIVE_INFINITY : pacer.whenDecongested(opts.bytes, now)
    if (next !== undefined && wait === 0) {
      pacer.transmitted(next, now)
      sends++
      maxInflight = Math.max(maxInflight, pacer.bytesInFlight)
      // Request and equally large response both cross the bottleneck.
      linkFree = Math.max(linkFree, now) + (2 * next.bytes * 8) / opts.bitsPerS
      if (rand() >= opts.loss) acks.push({at: linkFree + opts.rttS, p: next})
      continue
    }
    const rtoWaits = pkts.filter((p) => p.sends > 0 && !p.acked).map((p) => pacer.whenRto(p, now)).filter((w) => w > 0)
    const step = Math.min(wait, acks[0] === undefined ? Infinity : acks[0].at - now, ...rtoWaits, 1)
    now += Math.max(step, 1e-6)
  }
  return {done, now, sends, maxInflight, pacer}
}

test('a 938-packet key download over a 20 ms, 100 Mbit/s path completes quickly', () => {
  const r = download({packets: 938, bytes: 1163, rttS: 0.02, bitsPerS: 100e6, loss: 0, seed: 1})
  assert.equal(r.done, 938)
  assert.equal(r.sends, 938, 'no spurious retransmission without loss')
  assert.ok(r.now < 2, `took ${r.now.toFixed(3)} s`)
  // The estimate includes the queue the download itself builds at the bottleneck.
  assert.ok(r.pacer.srtt! >= 0.02 && r.pacer.srtt! < 0.2, `srtt ${r.pacer.srtt}`)
})

test('with 10% loss every packet still arrives, and the window backs off', () => {
  const r = download({packets: 938, bytes: 1163, rttS: 0.02, bitsPerS: 100e6, loss: 0.1, seed: 7})
  assert.equal(r.done, 938)
  assert.ok(r.sends > 938 && r.sends < 938 * 1.5, `sends ${r.sends}`)
  assert.ok(r.pacer.cwnd >= MIN_CWND_BYTES)
})

test('first contact is gentle: before any answer, sends are spaced 0.5 s x packets sent', () => {
  const pacer = new Pacer()
  const p = pacer.newPacket(1163)
  assert.equal(pacer.whenDecongested(1163, 0), 0)
  pacer.transmitted(p, 0)
  assert.equal(pacer.whenDecongested(1163, 0), 0.5)
  pacer.transmitted(pacer.newPacket(1163), 0.5)
  assert.equal(pacer.whenDecongested(1163, 0.5), 1)
  assert.equal(pacer.cwnd, INIT_CWND_BYTES)
})

test('RTO doubles per retransmission and is capped', () => {
  const pacer = new Pacer()
  const p = pacer.newPacket(100)
  pacer.transmitted(p, 0)
  assert.equal(pacer.whenRto(p, 0), 1)
  pacer.transmitted(p, 1)
  assert.equal(pacer.whenRto(p, 1), 2)
  for (let i = 0; i < 20; i++) pacer.transmitted(p, 100 * i)
  assert.equal(pacer.whenRto(p, 1900), MAX_RTO_S)
})

test('pacing allows a burst of at most PACING_BURST_BYTES ahead of the schedule, then spaces sends at the rate', () => {
  const pacer = new Pacer()
  // One answered request gives srtt = 10 ms; open the window wide so only pacing limits.
  const first = pacer.newPacket(1000)
  pacer.transmitted(first, 0)
  pacer.acknowledged(first, 0.01)
  pacer.cwnd = 1_000_000
  const rate = (PACING_GAIN * pacer.cwnd) / pacer.srtt! // bytes per second
  const now = 1
  let burst = 0
  while (pacer.whenDecongested(1000, now) === 0 && burst < 1_000_000) {
    const p = pacer.newPacket(1000)
    pacer.transmitted(p, now)
    burst += p.bytes
  }
  assert.ok(burst >= PACING_BURST_BYTES && burst <= PACING_BURST_BYTES + 2 * 1028, `burst ${burst} bytes`)
  // The next send waits about one packet's time at the pacing rate, not a timer tick.
  const wait = pacer.whenDecongested(1000, now)
  assert.ok(wait > 0 && wait <= (2 * 1028) / rate, `wait ${wait} s at ${rate} B/s`)
})
