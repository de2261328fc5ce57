/**
 * Key erasure on a virtual clock (security-tests.md E-1, E-4; pq1-protocol.md 7.6): receive chains
 * die EPOCH_TIMEOUT_S after creation, send keys at use or at the end of their epoch, and every
 * buffer a session lets go of is zero. Also the 16-bit epoch limit over a 22.7-day session.
 */
import assert from 'node:assert/strict'
import {test} from 'node:test'

import {EPOCH_DURATION_S, EPOCH_TIMEOUT_S, MAX_EPOCH} from '../../../src/constants.js'
import type {SealResult, TunnelSession} from '../../../src/session/tunnel-session.js'
import {isZero, makePair, payloadOf, prng} from './session-pair.js'

/** The brief's bound: no packet key (nor chain key or root) held longer than this. */
const HOUR_S = 3600
const MAX_KEY_AGE_S = EPOCH_TIMEOUT_S + EPOCH_DURATION_S

function dg(r: SealResult): Buffer {
  assert.equal(r.kind, 'datagram', JSON.stringify(r))
  return (r as {datagram: Buffer}).datagram
}

test('every receive key is erased (zeroed) 120 s after its chain was created', () => {
  const {client, server} = makePair()
  for (let i = 0; i < 100; i++) assert.equal(server.open(dg(client.seal(payloadOf(i), i * 0.1)), i * 0.1).kind, 'data')
  // Skipped indices leave keys behind for reordering: make sure some are held.
  for (let i = 0; i < 40; i++) client.seal(payloadOf(i), 10)
  assert.equal(server.open(dg(client.seal(payloadOf(1), 10)), 10).kind, 'data')
  const held = [...server.secrets()].filter((s) => s.direction === 'receive')
  assert.ok(held.filter((s) => s.kind === 'packet-key').length >= 40)
  assert.equal(server.nextDeadline(), Math.min(EPOCH_TIMEOUT_S, server.status().sendEpochEndsAt))
  server.expire(EPOCH_TIMEOUT_S - 0.001)
  assert.ok(held.every((s) => !isZero(s.bytes)), 'still held just before')
  server.expire(EPOCH_TIMEOUT_S)
  assert.ok(held.every((s) => isZero(s.bytes)), 'all zero at 120 s')
  assert.equal([...server.secrets()].length, 0, 'dead: the send side is wiped too')
  assert.equal(server.isAlive(EPOCH_TIMEOUT_S), false)
})

test('a send key is zeroed when used, and an idle send epoch is erased when it ends', () => {
  const {client} = makePair()
  client.seal(payloadOf(0), 1)
  const next = [...client.secrets()].find((s) => s.direction === 'send' && s.kind === 'packet-key' && s.index === 1)!
  assert.ok(!isZero(next.bytes))
  client.seal(payloadOf(1), 2)
  assert.ok(isZero(next.bytes), 'used key wiped')
  const idle = [...client.secrets()].filter((s) => s.direction === 'send').map((s) => s.bytes)
  assert.equal(client.nextDeadline(), EPOCH_DURATION_S)
  client.expire(EPOCH_DURATION_S)
  assert.ok(idle.every(isZero), 'the ended epoch is erased without waiting for the next send')
  assert.equal(client.sendEpoch, 1)
})

test('one simulated hour of mixed traffic: no key older than 150 s, and every dropped buffer is zero (E-1)', () => {
  const rnd = prng(7)
  let pair = makePair()
  const firstSeen = new Map<Buffer, number>()
  let previous = new Set<Buffer>()
  let maxAge = 0
  let deaths = 0
  let delivered = 0
  const scan = (now: number, sessions: TunnelSession[]): void => {
    const current = new Set<Buffer>()
    for (const s of sessions) {
      const d = s.nextDeadline()
      if (d !== undefined && now >= d) s.expire(now) // what the router's timer does
      for (const x of s.secrets()) {
        current.add(x.bytes)
        if (!firstSeen.has(x.bytes)) firstSeen.set(x.bytes, now)
        const age = now - firstSeen.get(x.bytes)!
        maxAge = Math.max(maxAge, age)
        if (age > MAX_KEY_AGE_S) assert.fail(`${x.direction} ${x.kind} epoch ${x.epoch} held ${age} s`)
      }
    }
    for (const b of previous) {
      if (current.has(b)) continue
      assert.ok(isZero(b), 'a buffer was dropped without being wiped')
      firstSeen.delete(b)
    }
    previous = current
  }
  for (let now = 0; now < HOUR_S; now++) {
    const phase = Math.floor(now / 300) % 4
    const {client, server} = pair
    if (!client.isAlive(now) || !server.isAlive(now)) {
      // What the router does on a dead tunnel: destroy and handshake again.
      scan(now, [client, server])
      client.destroy()
      server.destroy()
      scan(now, [])
      deaths++
      pair = makePair({clientNow: now, serverNow: now})
      continue
    }
    if (phase === 0 || phase === 2) {
      // Busy: both directions, 30% loss on the way up.
      for (let i = 0; i < 20; i++) {
        const up = dg(client.seal(payloadOf(i), now + i / 20))
        if (rnd() >= 0.3 && server.open(up, now + i / 20).kind === 'data') delivered++
        if (i % 4 === 0) client.open(dg(server.seal(payloadOf(i), now + i / 20)), now + i / 20)
      }
    } else if (phase === 1 && now % 45 === 0) {
      // Idle: keepalives both ways every 45 s keep the tunnel (13.1 item 8).
      server.open(dg(client.seal(new Uint8Array(0), now)), now)
      client.open(dg(server.seal(new Uint8Array(0), now)), now)
    }
    // phase 3: silence; both sides die and are replaced.
    scan(now + 0.999, [client, server])
  }
  assert.ok(delivered > 20_000, `delivered ${delivered}`)
  // Only the silent phases kill tunnels: twice each (the replacement dies silent too).
  assert.equal(deaths, 6)
  assert.ok(maxAge > 60 && maxAge <= MAX_KEY_AGE_S, `max age ${maxAge}`)
  // In fact the bound is the receive-chain lifetime (plus the 1 s scan step).
  assert.ok(maxAge <= EPOCH_TIMEOUT_S + 1, `max age ${maxAge}`)
})

test('R-5: a 22.7-day session reaches epoch 65535, then seal asks for a rehandshake instead of throwing', () => {
  const {client, server} = makePair()
  let t = 0
  let dueAt: number | undefined
  // One exchange every 3 epochs (90 s) keeps both sides alive (chains live 120 s, 4 epochs ahead).
  for (let e = 0; e < MAX_EPOCH; e += 3) {
    t = e * EPOCH_DURATION_S + 1
    assert.equal(server.open(dg(client.seal(new Uint8Array(0), t)), t).kind, 'keepalive')
    assert.equal(client.open(dg(server.seal(new Uint8Array(0), t)), t).kind, 'keepalive')
    if (dueAt === undefined && client.rehandshakeDue) dueAt = e
  }
  const last = MAX_EPOCH * EPOCH_DURATION_S + 1
  const r = client.seal(payloadOf(1), last)
  assert.equal(r.kind, 'datagram')
  assert.equal((r as {epoch: number}).epoch, MAX_EPOCH)
  assert.equal(server.open((r as {datagram: Buffer}).datagram, last).kind, 'data')
  assert.equal(client.open(dg(server.seal(new Uint8Array(0), last)), last).kind, 'keepalive')
  assert.ok(dueAt !== undefined && dueAt < MAX_EPOCH, 'asked for a rehandshake ahead of time')
  assert.deepEqual(client.seal(payloadOf(2), last + EPOCH_DURATION_S), {kind: 'rehandshake', reason: 'epoch-exhausted'})
  assert.equal([...client.secrets()].some((s) => s.direction === 'send'), false)
})
