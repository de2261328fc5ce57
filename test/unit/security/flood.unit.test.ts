/**
 * Handshake flood (security-tests.md H-2, section 5): initiations of the right length and type at
 * 10x the server's handshake capacity from 10^4 spoofed sources, plus genuine initiations from
 * attacker clients, while legitimate clients connect once per second each. Runs the real
 * HandshakePipeline on a virtual clock (handshake-load.ts: decapsulation costs T_DEC_S virtual).
 */
import assert from 'node:assert/strict'
import {test} from 'node:test'

import {HANDSHAKE_CONCURRENCY, HANDSHAKE_CONFIRM_S, HANDSHAKE_MAX_ATTEMPTS, HANDSHAKE_QUEUE_MAX} from '../../../src/constants.js'
import {CAPACITY_PER_S, HandshakeBench, source} from './handshake-load.js'

const FLOOD_S = 60
const FLOOD_PER_S = 10 * CAPACITY_PER_S
const SPOOFED_SOURCES = 10_000
const LEGIT_CLIENTS = 10
const ATTACKER_CLIENTS = 4
/** Genuine initiations per second from each attacker client (above the per-source limit). */
const ATTACKER_PER_S = 10

interface Stats {
  connections: number
  succeeded: number
  firstTry: number
  initiations: number
  latencies: number[]
}

const newStats = (): Stats => ({connections: 0, succeeded: 0, firstTry: 0, initiations: 0, latencies: []})

/** One connection the way ClientRouter makes it: initiation, wait HANDSHAKE_CONFIRM_S, retry. */
function connect(b: HandshakeBench, ip: string, port: number, s: Stats): void {
  s.connections++
  const startedAt = b.clock.mono()
  const attempt = async (n: number): Promise<void> => {
    const {message, tidHex} = await b.initiation()
    s.initiations++
    const timer = b.clock.setTimeout(() => {
      b.onSession(tidHex, undefined)
      if (n < HANDSHAKE_MAX_ATTEMPTS) void attempt(n + 1)
    }, HANDSHAKE_CONFIRM_S * 1000)
    b.onSession(tidHex, () => {
      b.clock.clearTimeout(timer)
      b.onSession(tidHex, undefined)
      s.succeeded++
      if (n === 1) s.firstTry++
      s.latencies.push(b.clock.mono() - startedAt)
    })
    b.offer(message, source(ip, port))
  }
  void attempt(1)
}

/** Legitimate clients: one connection per second each, staggered, from `fromS` to `toS`. */
function legit(b: HandshakeBench, ips: string[], fromS: number, toS: number, s: Stats): number {
  let scheduled = 0
  ips.forEach((ip, i) => {
    for (let t = fromS + i / ips.length; t < toS; t += 1, scheduled++) b.clock.setTimeout(() => connect(b, ip, 40_000 + (scheduled % 1000), s), t * 1000)
  })
  return scheduled
}

/** The flood, from now to `toS`: garbage at FLOOD_PER_S from SPOOFED_SOURCES, genuine initiations from attacker clients. */
function flood(b: HandshakeBench, toS: number, validPadding: boolean): {garbage: number; genuine: number} {
  const sent = {garbage: 0, genuine: 0}
  let carry = 0
  const tick = b.clock.setInterval(() => {
    if (b.clock.mono() >= toS) return b.clock.clearInterval(tick)
    for (carry += FLOOD_PER_S / 100; carry >= 1; carry--) {
      const n = Math.floor(Math.random() * SPOOFED_SOURCES)
      b.offer(HandshakeBench.garbage(validPadding), source(`100.${64 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`, 1024 + Math.floor(Math.random() * 60_000)))
      sent.garbage++
    }
  }, 10)
  for (let a = 0; a < ATTACKER_CLIENTS; a++) {
    const ip = `203.0.113.${a + 1}`
    const t = b.clock.setInterval(() => {
      if (b.clock.mono() >= toS) return b.clock.clearInterval(t)
      void b.initiation().then(({message}) => {
        sent.genuine++
        b.offer(message, source(ip, 5000 + sent.genuine))
      })
    }, 1000 / ATTACKER_PER_S)
  }
  return sent
}

const quantile = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil(xs.length * q) - 1)] ?? Number.NaN
const p99 = (xs: number[]): number => quantile(xs, 0.99)

function report(name: string, b: HandshakeBench, s: Stats, sent: {garbage: number; genuine: number}): void {
  console.log(`# ${name}: legit ${s.succeeded}/${s.connections} connections up (${s.firstTry} on the first initiation, ` +
    `${s.initiations} initiations), p99 ${p99(s.latencies).toFixed(3)} s; flood ${sent.garbage} garbage + ${sent.genuine} genuine; ` +
    `decapsulations ${b.decaps} (capacity ${(CAPACITY_PER_S * FLOOD_S).toFixed(0)}), max in flight ${b.maxInFlight}; ` +
    `counters ${JSON.stringify(b.pipeline.counters)} ${JSON.stringify(b.pipeline.admission)}; latencies ${[0.5, 0.9, 0.95, 0.99, 1].map((q) => quantile(s.latencies, q).toFixed(3)).join(' ')}`)
}

test(`random-content flood at 10x capacity (${FLOOD_PER_S.toFixed(0)}/s) plus attacker clients: >= 99% of new legitimate clients connect`, async () => {
  const b = await HandshakeBench.create()
  const s = newStats()
  const ips = Array.from({length: LEGIT_CLIENTS}, (_, i) => `192.0.2.${i + 1}`)
  const sent = flood(b, FLOOD_S, false)
  const scheduled = legit(b, ips, 0.5, FLOOD_S - 2, s)
  await b.runUntil(FLOOD_S + 5)
  report('random content', b, s, sent)
  assert.ok(sent.garbage >= FLOOD_PER_S * FLOOD_S * 0.99, `flood sent ${sent.garbage}`)
  assert.equal(s.connections, scheduled)
  assert.ok(scheduled >= LEGIT_CLIENTS * (FLOOD_S - 3), `${scheduled} connections`)
  assert.ok(s.succeeded >= 0.99 * s.connections, `${s.succeeded}/${s.connections}`)
  // Success is the requirement (>= 99%); latency depends on the random flood content, so the
  // bound only says most clients need no more than two retries (the client retries after 1 s).
  assert.ok(p99(s.latencies) < 3, `p99 ${p99(s.latencies)} s`)
  assert.ok(b.decaps <= CAPACITY_PER_S * (FLOOD_S + 5) + HANDSHAKE_CONCURRENCY, `decapsulations ${b.decaps}`)
  assert.ok(b.maxInFlight <= 2 * HANDSHAKE_QUEUE_MAX + HANDSHAKE_CONCURRENCY, `in flight ${b.maxInFlight}`)
})

test('informed flood (padding bits valid, 10x capacity): clients that connected before keep >= 99%; new ones are counted', async () => {
  const b = await HandshakeBench.create()
  const warm = newStats()
  const ips = Array.from({length: LEGIT_CLIENTS}, (_, i) => `192.0.2.${i + 1}`)
  legit(b, ips, 0, 1, warm) // one handshake each before the flood: they become returning sources
  await b.runUntil(2)
  assert.equal(warm.succeeded, LEGIT_CLIENTS)
  const s = newStats()
  const newcomers = newStats()
  const sent = flood(b, 2 + FLOOD_S, true)
  const scheduled = legit(b, ips, 2.5, FLOOD_S, s)
  // Ten clients the server has never seen, each connecting once every 5 s.
  const fresh = Array.from({length: LEGIT_CLIENTS}, (_, i) => `198.18.0.${i + 1}`)
  fresh.forEach((ip, i) => {
    for (let t = 3 + i / 2; t < FLOOD_S; t += 5) b.clock.setTimeout(() => connect(b, ip, 50_000, newcomers), t * 1000)
  })
  await b.runUntil(FLOOD_S + 7)
  report('informed, returning clients', b, s, sent)
  report('informed, new clients', b, newcomers, sent)
  assert.equal(s.connections, scheduled)
  assert.ok(s.succeeded >= 0.99 * s.connections, `${s.succeeded}/${s.connections}`)
  // Success is the requirement (>= 99%); latency depends on the random flood content, so the
  // bound only says most clients need no more than two retries (the client retries after 1 s).
  assert.ok(p99(s.latencies) < 3, `p99 ${p99(s.latencies)} s`)
  // Without address validation (a wire change, H-5) a new source cannot be told from a spoofed
  // one; the new lane still gets a third of the capacity, so some get through.
  assert.ok(newcomers.succeeded > 0, `${newcomers.succeeded}/${newcomers.connections}`)
  assert.ok(b.decaps <= CAPACITY_PER_S * (FLOOD_S + 7) + HANDSHAKE_CONCURRENCY, `decapsulations ${b.decaps}`)
  assert.ok(b.maxInFlight <= 2 * HANDSHAKE_QUEUE_MAX + HANDSHAKE_CONCURRENCY, `in flight ${b.maxInFlight}`)
})
