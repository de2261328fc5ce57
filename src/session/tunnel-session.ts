/**
 * One pq1 data tunnel (pq1-protocol.md section 7): a send ratchet, a receive ratchet and the
 * datagram codec, driven by the caller's monotonic clock (`now`, seconds). seal/open return
 * discriminated unions and never throw on remote input; state changes only after a tag verifies
 * (section 14 item 2). The session does not know whether it is initiator or responder: the client
 * passes (sendRoot, recvRoot) = (T_i, T_r), the server (T_r, T_i) (13.1 item 2).
 */
import {COOKIE_PREFIX, KLEN, TIDLEN, TUNNEL_HEADER_BYTES} from '../constants.js'
import type {Aead} from '../crypto/interfaces.js'
import {wipe} from '../crypto/wipe.js'
import {LocalError} from '../errors.js'
import {decodeTunnelHeader, encodeTunnelHeader, tunnelDatagramLength, tunnelParts} from '../wire/tunnel.js'
import type {HeldSecret} from './epoch-chain.js'
import {type ReceiveDrop, type ReceiveEpochStatus, ReceiveRatchet} from './receive-ratchet.js'
import {type SendRefusal, SendRatchet} from './send-ratchet.js'

export type RehandshakeReason = SendRefusal | 'tunnel-dead' | 'destroyed'

export type SealResult =
  | {kind: 'datagram'; datagram: Buffer; epoch: number; index: number}
  /** Nothing was sent: start a new handshake (new tid) and destroy this session. */
  | {kind: 'rehandshake'; reason: RehandshakeReason}

export type OpenDrop = ReceiveDrop | 'malformed' | 'tid-mismatch' | 'auth-failed' | 'destroyed'

export type OpenResult =
  /** An authenticated inner packet for the TUN device. */
  | {kind: 'data'; payload: Buffer}
  /** Authenticated empty plaintext (13.1 item 8): counts as receive, nothing for the TUN. */
  | {kind: 'keepalive'}
  /** Authenticated `pqccookE` plaintext (6.8): we never use cookies; nothing for the TUN. */
  | {kind: 'cookie'}
  | {kind: 'drop'; reason: OpenDrop}

export interface TunnelSessionInit {
  tid: Uint8Array
  /** Epoch-0 root of our sending direction; consumed (wiped). */
  sendRoot: Uint8Array
  /** Epoch-0 root of the peer's sending direction; consumed (wiped). */
  recvRoot: Uint8Array
  /** Monotonic seconds. */
  now: number
  aead: Aead
}

export interface TunnelSessionStatus {
  createdAt: number
  sendEpoch: number
  sendIndex: number
  sendEpochEndsAt: number
  recvEpochs: ReceiveEpochStatus[]
  lastAuthenticatedReceive: number | undefined
  destroyed: boolean
}

const COOKIE_PREFIX_BYTES = Buffer.from(COOKIE_PREFIX, 'latin1')

export class TunnelSession {
  readonly tid: Buffer
  /** Monotonic seconds at creation (the client: right after sending the initiation). */
  readonly createdAt: number
  private readonly aead: Aead
  private readonly send: SendRatchet
  private readonly recv: ReceiveRatchet
  private lastReceive: number | undefined
  private destroyed = false

  constructor(init: TunnelSessionInit) {
    if (init.tid.length !== TIDLEN || init.sendRoot.length !== KLEN || init.recvRoot.length !== KLEN) {
      throw new LocalError('PQC_ERR_ARGUMENT', 'tunnel session: tid and roots must be 32 bytes')
    }
    this.tid = Buffer.from(init.tid)
    this.createdAt = init.now
    this.aead = init.aead
    this.send = new SendRatchet(init.sendRoot, init.now)
    this.recv = new ReceiveRatchet(init.recvRoot, init.now)
  }

  /**
   * Time of the last datagram whose tag verified (data, keepalive or cookie); undefined until the
   * peer has proven it holds the keys. The router uses it to confirm a handshake (section 14 item
   * 13: no authenticated packet a few RTTs after sending means redo the handshake) and for LRU.
   */
  get lastAuthenticatedReceive(): number | undefined {
    return this.lastReceive
  }

  /**
   * Alive iff a receive chain exists (7.6). A new session has the epoch-0 receive chain from
   * creation, so an initiator can send at once and stays alive EPOCH_TIMEOUT_S without an answer;
   * afterwards each authenticated datagram in a new peer epoch extends the life.
   */
  isAlive(now: number): boolean {
    return !this.destroyed && this.recv.isAlive(now)
  }

  get sendEpoch(): number {
    return this.send.epoch
  }

  /** Start a new handshake soon (the 16-bit epoch is running out, or sending is refused). */
  get rehandshakeDue(): boolean {
    return this.destroyed || this.send.rehandshakeDue
  }

  /**
   * Seal one inner packet (empty = keepalive). With `out` (at least 56 + n bytes) the datagram is
   * written there and nothing is allocated; `plaintext` may be out[40 .. 40 + n) (in place) but must
   * not overlap the header.
   */
  seal(plaintext: Uint8Array, now: number, out?: Buffer): SealResult {
    this.expire(now)
    if (this.destroyed) return {kind: 'rehandshake', reason: 'destroyed'}
    if (!this.recv.isAlive(now)) return {kind: 'rehandshake', reason: 'tunnel-dead'}
    const len = tunnelDatagramLength(plaintext.length)
    if (out !== undefined && out.length < len) throw new LocalError('PQC_ERR_ARGUMENT', 'tunnel seal: output buffer too small')
    const pos = this.send.next(now)
    if (typeof pos === 'string') return {kind: 'rehandshake', reason: pos}
    const datagram = out === undefined ? Buffer.alloc(len) : out.subarray(0, len)
    encodeTunnelHeader(datagram, this.tid, pos.epoch, pos.index)
    const ad = datagram.subarray(0, TUNNEL_HEADER_BYTES)
    const sealed = datagram.subarray(TUNNEL_HEADER_BYTES)
    if (this.aead.sealInto !== undefined) this.aead.sealInto(sealed, pos.key, ad, plaintext)
    else sealed.set(this.aead.seal(pos.key, ad, plaintext))
    wipe(pos.key) // one key, one message (7.4)
    return {kind: 'datagram', datagram, epoch: pos.epoch, index: pos.index}
  }

  /**
   * Authenticate and decrypt one datagram (7.5). With `out` (at least n bytes, not overlapping the
   * datagram; smaller means a fresh buffer) the payload is a view into it, valid until the next
   * call; on a drop its bytes are undefined. Whatever the datagram holds, a drop leaves the session
   * as it was.
   */
  open(datagram: Uint8Array, now: number, out?: Buffer): OpenResult {
    this.expire(now)
    if (this.destroyed) return drop('destroyed')
    const h = decodeTunnelHeader(datagram)
    if (h === undefined) return drop('malformed')
    if (!this.tid.equals(h.tid)) return drop('tid-mismatch')
    const c = this.recv.prepare(h.epoch, h.index, now)
    if (typeof c === 'string') return drop(c)
    const {ad, sealed, plaintextBytes} = tunnelParts(datagram)
    let payload: Buffer | undefined
    if (this.aead.openInto !== undefined) {
      const target = out !== undefined && out.length >= plaintextBytes ? out.subarray(0, plaintextBytes) : Buffer.alloc(plaintextBytes)
      if (this.aead.openInto(target, c.key, ad, sealed)) payload = target
    } else {
      const pt = this.aead.open(c.key, ad, sealed)
      if (pt !== undefined) payload = Buffer.from(pt.buffer, pt.byteOffset, pt.length)
    }
    if (payload === undefined) {
      this.recv.discard(c)
      return drop('auth-failed')
    }
    // Authenticated: only now does anything change (section 14 item 2).
    this.recv.commit(c, now)
    this.lastReceive = now
    const newest = this.recv.newestEpoch
    if (newest !== undefined) this.send.followTo(newest, now) // 7.5 step 7
    if (payload.length === 0) return {kind: 'keepalive'}
    if (payload.length >= COOKIE_PREFIX_BYTES.length && COOKIE_PREFIX_BYTES.equals(payload.subarray(0, COOKIE_PREFIX_BYTES.length))) {
      return {kind: 'cookie'}
    }
    return {kind: 'data', payload}
  }

  /**
   * Erase what time has retired: receive chains EPOCH_TIMEOUT_S after creation (7.5 step 8) and
   * the send chain of an epoch that has ended (its unused keys would otherwise wait for the next
   * send, 7.6). When no receive chain is left the whole session is wiped.
   */
  expire(now: number): void {
    if (this.destroyed) return
    this.recv.expire(now)
    this.send.advanceTime(now)
    if (this.recv.newestEpoch === undefined) this.send.wipe()
  }

  /** When expire() next has work to do, or undefined when nothing is left to erase. */
  nextDeadline(): number | undefined {
    const recv = this.recv.nextDeadline()
    if (this.destroyed || recv === undefined) return undefined
    return this.send.refused === undefined ? Math.min(recv, this.send.expiresAt) : recv
  }

  /** Erase every key; all later calls drop or refuse. */
  destroy(): void {
    this.destroyed = true
    this.send.wipe()
    this.recv.wipe()
  }

  /** Non-secret state for status output and tests. */
  status(): TunnelSessionStatus {
    return {
      createdAt: this.createdAt,
      sendEpoch: this.send.epoch,
      sendIndex: this.send.index,
      sendEpochEndsAt: this.send.expiresAt,
      recvEpochs: this.recv.status(),
      lastAuthenticatedReceive: this.lastReceive,
      destroyed: this.destroyed,
    }
  }

  /** Every secret the session holds, for erasure audits and tests; never log these. */
  *secrets(): Generator<HeldSecret & {direction: 'send' | 'receive'}> {
    for (const s of this.send.secrets()) yield {...s, direction: 'send'}
    for (const s of this.recv.secrets()) yield {...s, direction: 'receive'}
  }
}

function drop(reason: OpenDrop): OpenResult {
  return {kind: 'drop', reason}
}
