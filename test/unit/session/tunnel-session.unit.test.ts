import assert from 'node:assert/strict'
import {test} from 'node:test'

import {COOKIE_BYTES, COOKIE_PREFIX, EPOCH_TIMEOUT_S, RECV_REORDER_WINDOW_PACKETS} from '../../../src/constants.js'
import {chacha20Poly1305} from '../../../src/crypto/aead.js'
import {TunnelSession, type OpenResult, type SealResult} from '../../../src/session/tunnel-session.js'
import {testAeadAllocating} from '../../helpers/aead.js'
import {isZero, makePair, payloadOf, prng} from './session-pair.js'

function dg(r: SealResult): Buffer {
  assert.equal(r.kind, 'datagram', JSON.stringify(r))
  return (r as {datagram: Buffer}).datagram
}

function data(r: OpenResult): Buffer {
  assert.equal(r.kind, 'data', JSON.stringify(r))
  return (r as {payload: Buffer}).payload
}

test('10^5 packets each way over 30 simulated minutes, epochs rolling over', () => {
  const {client, server} = makePair()
  const N = 100_000
  const step = 1800 / N
  const cEpochs = new Set<number>()
  const sEpochs = new Set<number>()
  let okC = 0
  let okS = 0
  for (let i = 0; i < N; i++) {
    const t = i * step
    const up = client.seal(payloadOf(i), t)
    assert.equal(up.kind, 'datagram')
    if (up.kind === 'datagram') cEpochs.add(up.epoch)
    if (data(server.open(dg(up), t)).equals(payloadOf(i))) okS++
    const down = server.seal(payloadOf(~i), t + step / 2)
    if (down.kind === 'datagram') sEpochs.add(down.epoch)
    if (data(client.open(dg(down), t + step / 2)).equals(payloadOf(~i))) okC++
  }
  assert.equal(okS, N)
  assert.equal(okC, N)
  assert.equal(cEpochs.size, 60, '1800 s / 30 s')
  assert.equal(sEpochs.size, 60)
  assert.ok(Math.abs(client.sendEpoch - server.sendEpoch) <= 1)
  assert.ok(client.isAlive(1800) && server.isAlive(1800))
})

test('30% loss and reordering within a window: every datagram that arrives is accepted once', () => {
  const {client, server} = makePair()
  const rnd = prng(42)
  const N = 30_000
  const inFlight: Array<{d: Buffer; n: number}> = []
  const delivered: number[] = []
  let sent = 0
  let dropped = 0
  const flush = (t: number, all = false): void => {
    // Deliver in a random order among the last 16 datagrams in flight (reordering).
    while (inFlight.length > (all ? 0 : 16)) {
      const [x] = inFlight.splice(Math.floor(rnd() * inFlight.length), 1)
      const r = server.open(x!.d, t)
      assert.equal(r.kind, 'data', `packet ${x!.n}: ${JSON.stringify(r)}`)
      delivered.push(data(r).readUInt32BE(8))
    }
  }
  for (let i = 0; i < N; i++) {
    const t = i * 0.02 // 600 s: 20 epochs
    // One-way traffic: the server's keepalives keep the client's receive side alive (7.6, 14.15).
    if (i % 1000 === 0) assert.equal(client.open(dg(server.seal(new Uint8Array(0), t)), t).kind, 'keepalive')
    const d = dg(client.seal(payloadOf(i), t))
    sent++
    if (rnd() < 0.3) {
      dropped++
      continue
    }
    inFlight.push({d, n: i})
    flush(t + 0.01)
  }
  flush(N * 0.02, true)
  assert.equal(sent, N)
  assert.equal(delivered.length, N - dropped)
  assert.equal(new Set(delivered).size, delivered.length, 'no duplicates')
  assert.ok(dropped > N * 0.27 && dropped < N * 0.33)
})

test('after a burst of 1000 lost packets the very next one is accepted (no 90-key stall, 14.16)', () => {
  const {client, server} = makePair()
  for (let i = 0; i < 1000; i++) client.seal(payloadOf(i), 1) // all lost
  assert.equal(data(server.open(dg(client.seal(payloadOf(1000), 1)), 1)).readUInt32BE(8), 1000)
  assert.equal(server.status().recvEpochs[0]!.heldKeys <= RECV_REORDER_WINDOW_PACKETS + 18, true)
})

test('reordered datagrams inside the window are accepted, older ones are dropped', () => {
  const {client, server} = makePair()
  const ds = Array.from({length: 600}, (_, i) => dg(client.seal(payloadOf(i), 1)))
  data(server.open(ds[500]!, 1))
  data(server.open(ds[500 - RECV_REORDER_WINDOW_PACKETS]!, 1)) // oldest kept key
  assert.deepEqual(server.open(ds[500 - RECV_REORDER_WINDOW_PACKETS - 1]!, 1), {kind: 'drop', reason: 'replay-or-old'})
  data(server.open(ds[499]!, 1))
  data(server.open(ds[599]!, 1))
})

test('keepalive (empty plaintext) round trip: authenticated, nothing for the TUN', () => {
  const {client, server} = makePair()
  const ka = dg(client.seal(new Uint8Array(0), 5))
  assert.equal(ka.length, 56)
  assert.equal(server.lastAuthenticatedReceive, undefined)
  assert.deepEqual(server.open(ka, 5), {kind: 'keepalive'})
  assert.equal(server.lastAuthenticatedReceive, 5)
  assert.deepEqual(client.open(dg(server.seal(new Uint8Array(0), 6)), 6), {kind: 'keepalive'})
  assert.equal(client.lastAuthenticatedReceive, 6)
})

test('a cookie plaintext (pqccookE...) is surfaced as an event and not delivered', () => {
  const {client, server} = makePair()
  const cookie = Buffer.alloc(COOKIE_BYTES, 0xaa)
  cookie.write(COOKIE_PREFIX, 0, 'latin1')
  assert.deepEqual(client.open(dg(server.seal(cookie, 1)), 1), {kind: 'cookie'})
  assert.equal(client.status().recvEpochs.length, 1, 'no receive ratchet on cookies')
  assert.deepEqual(data(client.open(dg(server.seal(Buffer.from('pqccook'), 1)), 1)), Buffer.from('pqccook'))
})

test('a fresh tunnel: the initiator sends at once, lives EPOCH_TIMEOUT_S without an answer, then asks to rehandshake', () => {
  const {client} = makePair({clientNow: 1000})
  assert.equal(client.isAlive(1000), true)
  assert.equal(client.lastAuthenticatedReceive, undefined)
  assert.equal(dg(client.seal(payloadOf(1), 1000)).length, 56 + 12)
  assert.equal(client.seal(payloadOf(2), 1000 + EPOCH_TIMEOUT_S - 0.001).kind, 'datagram')
  assert.equal(client.isAlive(1000 + EPOCH_TIMEOUT_S), false)
  assert.deepEqual(client.seal(payloadOf(3), 1000 + EPOCH_TIMEOUT_S), {kind: 'rehandshake', reason: 'tunnel-dead'})
  assert.equal([...client.secrets()].length, 0, 'a dead session holds nothing')
  assert.equal(client.nextDeadline(), undefined)
})

test('the send epoch follows the peer only after authentication (7.5 step 7)', () => {
  const {client, server} = makePair({clientNow: 0, serverNow: 0})
  const d = dg(client.seal(payloadOf(1), 65)) // client clock: epoch 2
  assert.equal(server.sendEpoch, 0)
  data(server.open(d, 1))
  assert.equal(server.sendEpoch, 2)
  assert.deepEqual(server.status().recvEpochs.map((e) => e.epoch), [0, 1, 2])
  assert.equal(server.status().sendEpochEndsAt, 31, 'the followed epoch lasts 30 s from now')
})

test('caller buffers: seal in place into out, open into out; allocating AEAD fallback agrees', () => {
  const {client, server} = makePair()
  const buf = Buffer.alloc(1500)
  const pt = payloadOf(77, 100)
  pt.copy(buf, 40)
  const r = client.seal(buf.subarray(40, 140), 1, buf)
  const d = dg(r)
  assert.equal(d.buffer, buf.buffer, 'written into the caller buffer')
  assert.equal(d.length, 156)
  const out = Buffer.alloc(1500)
  const p = data(server.open(Buffer.from(d), 1, out))
  assert.equal(p.buffer, out.buffer)
  assert.deepEqual(p, pt)
  assert.throws(() => client.seal(pt, 1, Buffer.alloc(100)), /too small/)
  const alloc = makePair({aead: testAeadAllocating})
  const a = dg(alloc.client.seal(pt, 1, Buffer.alloc(200)))
  assert.deepEqual(data(alloc.server.open(a, 1, Buffer.alloc(10))), pt, 'small out: payload is allocated')
})

test('destroy wipes every key; afterwards seal refuses and open drops', () => {
  const {client, server} = makePair()
  data(server.open(dg(client.seal(payloadOf(1), 1)), 1))
  const held = [...server.secrets()].map((s) => s.bytes)
  assert.ok(held.length > 3)
  const pending = dg(client.seal(payloadOf(2), 2))
  server.destroy()
  assert.ok(held.every(isZero))
  assert.equal([...server.secrets()].length, 0)
  assert.deepEqual(server.seal(payloadOf(3), 2), {kind: 'rehandshake', reason: 'destroyed'})
  assert.deepEqual(server.open(pending, 2), {kind: 'drop', reason: 'destroyed'})
  assert.equal(server.isAlive(2), false)
  assert.equal(server.rehandshakeDue, true)
})

test('bad arguments are local misuse (LocalError), not silent', () => {
  assert.throws(() => new TunnelSession({tid: Buffer.alloc(31), sendRoot: Buffer.alloc(32), recvRoot: Buffer.alloc(32), now: 0, aead: testAeadAllocating}), {name: 'LocalError'})
})

test('the production AEAD adapter (src/crypto/aead.ts) interoperates with the test AEAD', () => {
  const a = makePair({aead: chacha20Poly1305})
  const b = new TunnelSession({tid: a.tid, sendRoot: Buffer.from(a.tr), recvRoot: Buffer.from(a.ti), now: 0, aead: testAeadAllocating})
  for (let i = 0; i < 100; i++) {
    assert.deepEqual(data(b.open(dg(a.client.seal(payloadOf(i), i)), i)), payloadOf(i))
    assert.deepEqual(data(a.client.open(dg(b.seal(payloadOf(-i), i)), i, Buffer.alloc(1500))), payloadOf(-i))
    assert.equal(a.client.open(dg(b.seal(new Uint8Array(0), i)), i).kind, 'keepalive')
  }
})
