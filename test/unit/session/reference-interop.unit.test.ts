/**
 * Compatibility proof against an independent model of the reference's tunnel (pq1-protocol.md
 * 7.2-7.5, written from the spec as plain kdf() loops, whole-second clock, eager first batch,
 * MAX_CHAIN_LEN receive limit): its datagrams open in our session, ours open in it.
 */
import assert from 'node:assert/strict'
import {test} from 'node:test'

import sodium from 'sodium-native'

import {kdf} from '../../../src/crypto/kdf.js'
import {hex} from '../../helpers/hex.js'
import {makePair, payloadOf, prng} from './session-pair.js'

const NONCE = new Uint8Array(12)

function refSeal(key: Buffer, ad: Buffer, pt: Uint8Array): Buffer {
  const c = Buffer.alloc(pt.length)
  const tag = Buffer.alloc(16)
  sodium.crypto_aead_chacha20poly1305_ietf_encrypt_detached(c, tag, pt, ad, null, NONCE, key)
  return Buffer.concat([ad, c, tag])
}

function refOpen(key: Buffer, d: Buffer): Buffer | undefined {
  const m = Buffer.alloc(d.length - 56)
  try {
    sodium.crypto_aead_chacha20poly1305_ietf_decrypt_detached(m, null, d.subarray(40, d.length - 16), d.subarray(d.length - 16), d.subarray(0, 40), NONCE, key)
    return m
  } catch {
    return undefined
  }
}

/** Packet key (epoch, index) straight from the root: a plain loop of kdf() calls (7.2). */
function refKey(root: Buffer, epoch: number, index: number): Buffer {
  let r = root
  for (let e = 0; e < epoch; e++) r = kdf(2, r)[0]!
  let c = kdf(2, r)[1]!
  let out: Buffer[] = []
  for (let b = 0; b <= Math.floor(index / 18); b++) {
    out = kdf(19, c)
    c = out[0]!
  }
  return out[1 + (index % 18)]!
}

interface RefChain {next: Buffer; c: Buffer; keys: Map<number, Buffer>; ctr: number}

/** The reference TunnelSession as section 7 describes it (without cookies and timers' threads). */
class RefPeer {
  sendEpoch = 0
  private send: RefChain
  private expire: number
  private recv = new Map<number, RefChain & {created: number}>()

  constructor(private tid: Buffer, sendRoot: Buffer, recvRoot: Buffer, now: number) {
    this.send = RefPeer.chain(sendRoot)
    this.expire = Math.floor(now) + 30
    this.recv.set(0, {...RefPeer.chain(recvRoot), created: Math.floor(now)})
  }

  describe(): string {
    return JSON.stringify({sendEpoch: this.sendEpoch, expire: this.expire, recv: [...this.recv].map(([e, c]) => [e, c.created, c.ctr, c.keys.size])})
  }

  static chain(root: Buffer): RefChain {
    const [next, c] = kdf(2, root)
    const ch = {next: next!, c: c!, keys: new Map<number, Buffer>(), ctr: 0}
    RefPeer.batch(ch) // run once immediately
    return ch
  }

  static batch(ch: RefChain): void {
    const out = kdf(19, ch.c)
    ch.c = out[0]!
    for (let i = 1; i <= 18; i++) ch.keys.set(ch.ctr++, out[i]!)
  }

  private ratchetSend(now: number): void {
    this.send = RefPeer.chain(this.send.next)
    this.expire = Math.min(now, this.expire) + 30
    this.sendEpoch++
  }

  seal(pt: Uint8Array, nowReal: number): Buffer {
    const now = Math.floor(nowReal)
    while (now > this.expire) this.ratchetSend(now)
    if (this.send.keys.size === 0) RefPeer.batch(this.send)
    const index = Math.min(...this.send.keys.keys())
    const key = this.send.keys.get(index)!
    this.send.keys.delete(index)
    const ad = Buffer.alloc(40)
    ad[0] = 2
    this.tid.copy(ad, 2)
    ad.writeUInt16BE(this.sendEpoch, 34)
    ad.writeUInt32BE(index, 36)
    return refSeal(key, ad, pt)
  }

  open(d: Buffer, nowReal: number): Buffer | undefined {
    const now = Math.floor(nowReal)
    for (const [e, ch] of this.recv) if (now - ch.created >= 120) this.recv.delete(e)
    const epoch = d.readUInt16BE(34)
    const index = d.readUInt32BE(36)
    let newest = Math.max(...this.recv.keys())
    while (epoch > newest && this.recv.size < 5) {
      this.recv.set(newest + 1, {...RefPeer.chain(this.recv.get(newest)!.next), created: now})
      newest++
    }
    try {
      const ch = this.recv.get(epoch)
      if (ch === undefined) return undefined
      if (ch.keys.size === 0) RefPeer.batch(ch)
      while (index >= ch.ctr && ch.keys.size < 90) RefPeer.batch(ch)
      const key = ch.keys.get(index)
      if (key === undefined) return undefined
      const pt = refOpen(key, d)
      if (pt !== undefined) ch.keys.delete(index)
      return pt
    } finally {
      while (newest > this.sendEpoch) this.ratchetSend(now) // 7.5 step 7
    }
  }
}

test('the reference model reproduces the key-schedule vectors', () => {
  assert.equal(hex(refKey(Buffer.alloc(32), 0, 0)), '242ad89021b16eca55b03174d7ac8d79193988583793baf65494bb17ab80eded')
  assert.equal(hex(refKey(Buffer.alloc(32), 1, 5)), '27443b6fd8d38aff8e1dec89f971c5e2a7fe8e78e870712d527f4cb3a8eda375')
})

test('our datagrams open with keys derived reference-style from T (epoch, index from the header)', () => {
  const {client, ti} = makePair()
  for (let i = 0; i < 300; i++) {
    const r = client.seal(payloadOf(i), i * 0.3)
    assert.equal(r.kind, 'datagram')
    if (r.kind !== 'datagram') return
    const pt = refOpen(refKey(ti, r.datagram.readUInt16BE(34), r.datagram.readUInt32BE(36)), r.datagram)
    assert.deepEqual(pt, payloadOf(i))
  }
})

interface End {
  seal(pt: Uint8Array, now: number): Buffer | undefined
  open(d: Buffer, now: number): boolean
}

interface Tally {up: number; upRefused: number; down: number; downRefused: number}

/**
 * 30 minutes of traffic from a reference-model client to `server` and back, with 10% loss,
 * reordering, keepalives and 90 s of silence every 5 minutes (the sender then jumps 3 epochs).
 */
function scenario(client: RefPeer, server: End, idleKeepaliveS?: number): Tally {
  const rnd = prng(3)
  const n: Tally = {up: 0, upRefused: 0, down: 0, downRefused: 0}
  let held: Buffer | undefined
  const deliverUp = (d: Buffer, t: number): void => {
    if (server.open(d, t)) n.up++
    else n.upRefused++
  }
  for (let t = 0; t < 1800; t += 0.05) {
    if (t % 300 > 200 && t % 300 < 290) {
      if (idleKeepaliveS !== undefined && t % idleKeepaliveS < 0.05) {
        deliverUp(client.seal(new Uint8Array(0), t), t)
        const k = server.seal(new Uint8Array(0), t)
        if (k !== undefined && client.open(k, t) !== undefined) n.down++
        else n.downRefused++
      }
      continue
    }
    const d = client.seal(payloadOf(n.up), t)
    const lost = rnd() < 0.1
    if (lost) {
      // nothing arrives
    } else if (held === undefined && rnd() < 0.1) {
      held = d // delivered after the next one
    } else {
      deliverUp(d, t)
      if (held !== undefined) deliverUp(held, t)
      held = undefined
    }
    if (rnd() < 0.5) {
      const r = server.seal(rnd() < 0.2 ? new Uint8Array(0) : payloadOf(n.down), t + 0.01)
      assert.ok(r !== undefined, `t=${t}`)
      if (client.open(r, t + 0.01) !== undefined) n.down++
      else n.downRefused++
    }
  }
  return n
}

test('30 minutes both ways against the reference model: we accept all of its traffic, it accepts ours as well as its own', () => {
  const ours = makePair()
  const server: End = {
    seal: (pt, now) => {
      const r = ours.server.seal(pt, now)
      return r.kind === 'datagram' ? Buffer.from(r.datagram) : undefined
    },
    open: (d, now) => ours.server.open(d, now).kind !== 'drop',
  }
  const withOurs = scenario(new RefPeer(ours.tid, Buffer.from(ours.ti), Buffer.from(ours.tr), 0), server)
  // Baseline: the same scenario, same roots and random decisions, reference model on both ends.
  const refServer = new RefPeer(ours.tid, Buffer.from(ours.tr), Buffer.from(ours.ti), 0)
  const baseline = scenario(new RefPeer(ours.tid, Buffer.from(ours.ti), Buffer.from(ours.tr), 0), {
    seal: (pt, now) => refServer.seal(pt, now),
    open: (d, now) => refServer.open(d, now) !== undefined,
  })
  assert.equal(withOurs.upRefused, 0, 'every reference datagram that arrives opens in our session')
  assert.ok(withOurs.up > 15_000 && withOurs.down > 8_000)
  // The reference receiver itself stalls after an epoch jump (5-chain limit, section 14 item 2):
  // our datagrams are refused no more often than the reference's own.
  assert.ok(withOurs.downRefused <= baseline.downRefused, `ours ${JSON.stringify(withOurs)} reference ${JSON.stringify(baseline)}`)
  assert.ok(baseline.upRefused > 0, 'the baseline shows the reference stall this test is about')
})

test('with a keepalive in every epoch while idle (every 25 s), neither end refuses anything', () => {
  const ours = makePair()
  const withOurs = scenario(new RefPeer(ours.tid, Buffer.from(ours.ti), Buffer.from(ours.tr), 0), {
    seal: (pt, now) => {
      const r = ours.server.seal(pt, now)
      return r.kind === 'datagram' ? Buffer.from(r.datagram) : undefined
    },
    open: (d, now) => ours.server.open(d, now).kind !== 'drop',
  }, 25)
  assert.deepEqual([withOurs.upRefused, withOurs.downRefused], [0, 0], JSON.stringify(withOurs))
})
