/**
 * Unauthenticated input against a tunnel session (security-tests.md, S-3): every rejected
 * datagram must leave the session byte-identical (digest over status and every held secret).
 */
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {test} from 'node:test'

import {
  RECV_FAR_LOOKAHEAD_MAX_PACKETS, RECV_FAR_SKIP_PACKETS_PER_S, RECV_LOOKAHEAD_MAX_PACKETS, RECV_REORDER_WINDOW_PACKETS,
} from '../../../src/constants.js'
import {type SealResult, TunnelSession} from '../../../src/session/tunnel-session.js'
import {encodeTunnelHeader} from '../../../src/wire/tunnel.js'
import {testAead} from '../../helpers/aead.js'
import {digest, makePair, payloadOf} from './session-pair.js'

function dg(r: SealResult): Buffer {
  assert.equal(r.kind, 'datagram', JSON.stringify(r))
  return (r as {datagram: Buffer}).datagram
}

/** open() must drop with `reason` and change nothing at all. */
function rejects(s: TunnelSession, d: Uint8Array, now: number, reason?: string): void {
  s.expire(now)
  const before = digest(s)
  const r = s.open(d, now)
  assert.equal(r.kind, 'drop', JSON.stringify(r))
  if (reason !== undefined) assert.equal((r as {reason: string}).reason, reason)
  assert.equal(digest(s), before, 'state changed by a rejected datagram')
}

function forged(tid: Uint8Array, epoch: number, index: number, bodyBytes = 20): Buffer {
  const d = randomBytes(56 + bodyBytes)
  encodeTunnelHeader(d, tid, epoch, index)
  return d
}

test('replays are rejected: at once and at +1 s, +60 s, +200 s while the tunnel lives on (R-2)', () => {
  const {client, server} = makePair()
  const captured: Buffer[] = []
  for (let i = 0; i < 2000; i++) {
    const d = dg(client.seal(payloadOf(i), i * 0.005))
    captured.push(Buffer.from(d))
    assert.equal(server.open(d, i * 0.005).kind, 'data')
  }
  const replayAll = (t: number): void => {
    for (const d of captured) rejects(server, d, t)
  }
  replayAll(10)
  let t = 10
  let n = 2000
  for (const at of [11, 70, 210]) {
    // Live traffic both ways until the replay time, so the session is alive and in later epochs.
    for (; t < at; t += 0.5) {
      const d = dg(client.seal(payloadOf(n++), t))
      captured.push(Buffer.from(d))
      assert.equal(server.open(d, t).kind, 'data')
      assert.equal(client.open(dg(server.seal(new Uint8Array(0), t)), t).kind, 'keepalive')
    }
    replayAll(at)
  }
  assert.ok(server.isAlive(210))
  assert.ok(server.status().recvEpochs.at(-1)!.epoch >= 6)
})

test('a forged datagram with a high epoch and a bad tag changes nothing, send epoch included (14 item 2)', () => {
  const {client, server, tid} = makePair()
  assert.equal(server.open(dg(client.seal(payloadOf(1), 1)), 1).kind, 'data')
  for (let ahead = 1; ahead <= 4; ahead++) {
    for (const index of [0, 17, RECV_LOOKAHEAD_MAX_PACKETS - 1]) rejects(server, forged(tid, ahead, index), 2, 'auth-failed')
  }
  rejects(server, forged(tid, 4, 0, 0), 2, 'auth-failed') // empty body
  assert.equal(server.sendEpoch, 0)
  assert.deepEqual(server.status().recvEpochs.map((e) => e.epoch), [0])
  // The genuine traffic is unaffected.
  assert.equal(server.open(dg(client.seal(payloadOf(2), 3)), 3).kind, 'data')
})

test('R-1 table: far future, other tid, truncations, bit flips; the genuine datagram still opens afterwards', () => {
  const {client, server, tid} = makePair()
  assert.equal(server.open(dg(client.seal(payloadOf(0), 1)), 1).kind, 'data')
  rejects(server, forged(tid, 5, 0), 2, 'epoch-too-far')
  rejects(server, forged(tid, 0xffff, 0), 2, 'epoch-too-far')
  rejects(server, forged(tid, 0, 0x8000_0000), 2, 'index-too-far')
  rejects(server, forged(tid, 0, 1 + RECV_FAR_LOOKAHEAD_MAX_PACKETS), 2, 'index-too-far')
  // Past the near lookahead: far jumps are tried (and fail the tag) while the skip budget lasts,
  // each spending its distance; then they are refused before any derivation.
  rejects(server, forged(tid, 0, 1 + RECV_LOOKAHEAD_MAX_PACKETS), 2, 'auth-failed')
  rejects(server, forged(tid, 0, 60_000), 2, 'auth-failed')
  rejects(server, forged(tid, 0, 60_000), 2, 'index-too-far')
  rejects(server, forged(tid, 1, 8000), 2, 'index-too-far')
  rejects(server, forged(randomBytes(32), 0, 1), 2, 'tid-mismatch')
  const real = Buffer.from(dg(client.seal(payloadOf(1), 2)))
  for (let len = 0; len < real.length; len++) rejects(server, real.subarray(0, len), 2)
  for (let bit = 0; bit < real.length * 8; bit++) {
    const m = Buffer.from(real)
    m[bit >> 3]! ^= 1 << (bit & 7)
    rejects(server, m, 2)
  }
  rejects(server, Buffer.concat([real, Buffer.from([0])]), 2, 'auth-failed')
  // A failed tag keeps the key (7.5 step 5): the real datagram is still accepted once.
  assert.equal(server.open(real, 2).kind, 'data')
  rejects(server, real, 2, 'replay-or-old')
})

/** A second responder with the same roots: it has received nothing so far. */
function freshServer(p: ReturnType<typeof makePair>, now: number): TunnelSession {
  return new TunnelSession({tid: p.tid, sendRoot: Buffer.from(p.tr), recvRoot: Buffer.from(p.ti), now, aead: testAead})
}

/** Client traffic answered by keepalives, so both sides stay alive and in step (7.6). */
function exchange(p: ReturnType<typeof makePair>, t: number): void {
  assert.equal(p.server.open(dg(p.client.seal(payloadOf(t), t)), t).kind, 'data')
  assert.equal(p.client.open(dg(p.server.seal(new Uint8Array(0), t)), t).kind, 'keepalive')
}

test('a peer 4 epochs ahead is accepted, 5 or more are rejected (MAX_EPOCHS = 5)', () => {
  for (const [clientTime, ok] of [[121, true], [150.5, false], [1000, false]] as const) {
    const p = makePair()
    for (let t = 10; t < clientTime; t += 20) exchange(p, t)
    const victim = freshServer(p, clientTime - 1) // newest receive epoch 0
    const d = dg(p.client.seal(payloadOf(1), clientTime))
    const epoch = d.readUInt16BE(34)
    if (ok) {
      assert.equal(epoch, 4)
      assert.equal(victim.open(d, clientTime).kind, 'data')
      assert.deepEqual(victim.status().recvEpochs.map((e) => e.epoch), [0, 1, 2, 3, 4])
      assert.equal(victim.sendEpoch, 4)
      // Again 4 ahead of the newest: the oldest chains make room, never more than 5 live.
      for (let t = clientTime; t < clientTime + 120; t += 20) exchange(p, t)
      const d2 = dg(p.client.seal(payloadOf(2), clientTime + 120))
      assert.equal(d2.readUInt16BE(34), 8)
      assert.equal(victim.open(d2, clientTime + 1).kind, 'data')
      assert.deepEqual(victim.status().recvEpochs.map((e) => e.epoch), [4, 5, 6, 7, 8])
      // The evicted epochs are gone for good.
      rejects(victim, forged(victim.tid, 3, 5), clientTime + 1, 'epoch-expired')
    } else {
      assert.ok(epoch >= 5)
      rejects(victim, d, clientTime, 'epoch-too-far')
      assert.equal(victim.sendEpoch, 0)
    }
  }
})

test('a receive chain is gone 120 s after creation: its epoch is rejected even with a valid tag', () => {
  const p = makePair()
  const late = dg(p.client.seal(payloadOf(1), 1)) // epoch 0, held back
  for (let t = 30; t <= 150; t += 30) exchange(p, t)
  assert.equal(p.server.status().recvEpochs[0]!.epoch, 2) // epochs 0 (t=0) and 1 (t=30) are over at t=150
  rejects(p.server, late, 150, 'epoch-expired')
})

test('a burst of 5000 lost datagrams: the next genuine one opens (one far jump), only the reorder window of keys is held', () => {
  const {client, server} = makePair()
  let t = 1
  assert.equal(server.open(dg(client.seal(payloadOf(0), t)), t).kind, 'data')
  for (let i = 0; i < 5000; i++) client.seal(payloadOf(i), t) // lost on the way
  const late = dg(client.seal(payloadOf(1), t))
  assert.equal(server.open(late, t).kind, 'data', 'the datagram after the burst opens')
  for (let i = 0; i < 100; i++) assert.equal(server.open(dg(client.seal(payloadOf(i), t)), t).kind, 'data')
  const held = server.status().recvEpochs.reduce((n, e) => n + e.heldKeys, 0)
  assert.ok(held <= RECV_REORDER_WINDOW_PACKETS + 2 * 18, `${held} keys held after the jump`)
  // More bursts in the same instant: each jumps while the skip budget lasts (65536 packets).
  for (let burst = 0; burst < 12; burst++) {
    for (let i = 0; i < 3000; i++) client.seal(payloadOf(i), t)
    assert.equal(server.open(dg(client.seal(payloadOf(2), t)), t).kind, 'data', `burst ${burst + 2} in the same instant`)
  }
  // 5001 + 12 x 3001 packets skipped: a burst of 30000 more is past the budget now...
  for (let i = 0; i < 30_000; i++) client.seal(payloadOf(i), t)
  assert.equal(server.open(dg(client.seal(payloadOf(2), t)), t).kind, 'drop', 'past the skip budget: refused')
  // ...and allowed once the budget has refilled for that distance (30001 / 262144 per s).
  t += 30_002 / RECV_FAR_SKIP_PACKETS_PER_S
  assert.equal(server.open(dg(client.seal(payloadOf(3), t)), t).kind, 'data', 'after the refill the jump is allowed')
})

test('forged far indices cost at most the skip budget: 10^4 forgeries in 1 s skip at most 65536 + 262144 packets and change nothing', () => {
  const {client, server, tid} = makePair()
  assert.equal(server.open(dg(client.seal(payloadOf(0), 1)), 1).kind, 'data')
  const before = server.status().recvEpochs
  let tried = 0
  let skipped = 0
  for (let i = 0; i < 10_000; i++) {
    const index = 2000 + (i % 10_000)
    const r = server.open(forged(tid, 0, index), 1 + i / 10_000)
    assert.equal(r.kind, 'drop')
    if (r.kind === 'drop' && r.reason === 'auth-failed') {
      tried++
      skipped += index // the highest authenticated index is 0
    }
  }
  // The forgeries that got as far as a tag check skipped, together, no more chain keys than a
  // full budget plus one second of refill; all others were refused before any derivation.
  assert.ok(tried >= 1, `${tried} far jumps tried`)
  assert.ok(skipped <= RECV_FAR_LOOKAHEAD_MAX_PACKETS + RECV_FAR_SKIP_PACKETS_PER_S, `${skipped} packets skipped in ${tried} jumps`)
  assert.deepEqual(server.status().recvEpochs, before, 'the forgeries changed no receive state')
  assert.equal(server.open(dg(client.seal(payloadOf(1), 2)), 2).kind, 'data')
})
