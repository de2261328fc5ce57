/**
 * Test helpers for tunnel sessions: a client/server pair sharing random roots (client sends with
 * T_i, server with T_r), a seeded PRNG, and a digest of everything a session holds.
 */
import {randomBytes} from 'node:crypto'

import type {Aead} from '../../../src/crypto/interfaces.js'
import {TunnelSession} from '../../../src/session/tunnel-session.js'
import {testAead} from '../../helpers/aead.js'
import {hex} from '../../helpers/hex.js'

export interface Pair {
  client: TunnelSession
  server: TunnelSession
  tid: Buffer
  /** Copies of the roots (the sessions wipe the ones they are given). */
  ti: Buffer
  tr: Buffer
}

export function makePair(opts: {clientNow?: number; serverNow?: number; aead?: Aead} = {}): Pair {
  const tid = randomBytes(32)
  const ti = randomBytes(32)
  const tr = randomBytes(32)
  const aead = opts.aead ?? testAead
  const client = new TunnelSession({tid, sendRoot: Buffer.from(ti), recvRoot: Buffer.from(tr), now: opts.clientNow ?? 0, aead})
  const server = new TunnelSession({tid, sendRoot: Buffer.from(tr), recvRoot: Buffer.from(ti), now: opts.serverNow ?? 0, aead})
  return {client, server, tid, ti, tr}
}

/** Everything observable about a session, secrets included (compared, never printed). */
export function digest(s: TunnelSession): string {
  const secrets = [...s.secrets()].map((x) => `${x.direction}/${x.kind}/${x.epoch}/${x.index ?? ''}/${hex(x.bytes)}`)
  return JSON.stringify({status: s.status(), secrets, deadline: s.nextDeadline(), due: s.rehandshakeDue})
}

/** mulberry32: a small deterministic PRNG so loss/reorder patterns are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function payloadOf(n: number, len = 12): Buffer {
  const b = Buffer.alloc(len, n & 0xff)
  b[0] = 0x45 // looks like IPv4, never like a cookie
  b.writeUInt32BE(n >>> 0, len - 4)
  return b
}

export const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0)
