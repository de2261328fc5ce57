/**
 * Client download of a server's static public key (pq1-protocol.md sections 5.2-5.4), sans I/O:
 * level by level through the Merkle tree, every node verified against the root from DNS, paced by
 * the Pacer, with per-request retransmission and an overall deadline (the reference has none,
 * section 14 item 17). Responses that do not parse or verify are ignored, never fatal.
 * Drive it with poll(now) (what to send, when to wake) and onDatagram(bytes, now).
 */
import {STATIC_FETCH_DEADLINE_S} from '../constants.js'
import {MerkleAssembler, type StaticPublicKey} from '../keys/merkle-assembler.js'
import {PQ1_MERKLE_SHAPE, merkleNodeSize} from '../keys/merkle-shape.js'
import {decodeStaticResponse, encodeStaticRequest} from '../wire/keyserver.js'
import {Pacer, type PacedPacket} from './pacer.js'

export type StaticFetchPoll =
  | {kind: 'send'; datagrams: Buffer[]; wakeInS: number}
  | {kind: 'done'; key: StaticPublicKey; requests: number; elapsedS: number}
  | {kind: 'failed'; reason: 'deadline'}

interface Pending {
  pos: number
  request: Buffer
  packet: PacedPacket
  /** Transmission sequence number of the latest send. */
  seq: number
}

/** A request counts as lost once this many requests sent after it were answered (fast retransmit). */
export const STATIC_FETCH_REORDER_PACKETS = 3

export class StaticKeyFetch {
  readonly #asm: MerkleAssembler
  readonly #pacer = new Pacer()
  readonly #startedAt: number
  readonly #deadline: number
  #depth: number | undefined
  #pending = new Map<number, Pending>()
  #requests = 0
  #seq = 0
  #maxAckedSeq = -1

  constructor(root: Uint8Array, now: number, deadlineS = STATIC_FETCH_DEADLINE_S) {
    this.#asm = new MerkleAssembler(root)
    this.#startedAt = now
    this.#deadline = now + deadlineS
  }

  get requestsSent(): number {
    return this.#requests
  }

  /** Offer a datagram from the key server; returns whether it advanced the download. */
  onDatagram(bytes: Uint8Array, now: number): boolean {
    const r = decodeStaticResponse(bytes)
    if (r === undefined || r.depth !== this.#depth) return false
    const p = this.#pending.get(r.pos)
    if (p === undefined) return false
    if (this.#asm.accept(r.depth, r.pos, r.node) !== 'accepted') return false
    this.#pacer.acknowledged(p.packet, now)
    this.#maxAckedSeq = Math.max(this.#maxAckedSeq, p.seq)
    this.#pending.delete(r.pos)
    return true
  }

  poll(now: number): StaticFetchPoll {
    if (this.#asm.complete) {
      return {kind: 'done', key: this.#asm.result()!, requests: this.#requests, elapsedS: now - this.#startedAt}
    }
    if (now >= this.#deadline) return {kind: 'failed', reason: 'deadline'}
    if (this.#depth !== this.#asm.currentDepth) this.#startLevel()
    const datagrams: Buffer[] = []
    let wake = this.#deadline - now
    // One pass over the requests of this level (not one per send: with a megabyte in flight that
    // was ~900 x 900 steps per answer): unsent ones, then those lost or due for retransmission.
    const unsent: Pending[] = []
    const due: Pending[] = []
    let nextRto = Number.POSITIVE_INFINITY
    for (const p of this.#pending.values()) {
      if (p.packet.sends === 0) {
        unsent.push(p)
        continue
      }
      const lost = p.seq + STATIC_FETCH_REORDER_PACKETS <= this.#maxAckedSeq
      const when = lost ? 0 : this.#pacer.whenRto(p.packet, now)
      if (when > 0) {
        nextRto = Math.min(nextRto, when)
        continue
      }
      this.#pacer.lost(p.packet, now)
      due.push(p)
    }
    // Send as much as the pacer allows now: unsent requests first, then due retransmissions.
    let blocked = false
    for (const next of [...unsent, ...due]) {
      const wait = this.#pacer.whenDecongested(next.request.length, now)
      if (wait > 0) {
        wake = Math.min(wake, wait, nextRto)
        blocked = true
        break
      }
      this.#pacer.transmitted(next.packet, now)
      next.seq = this.#seq++
      this.#requests++
      datagrams.push(next.request)
      nextRto = Math.min(nextRto, this.#pacer.whenRto(next.packet, now))
    }
    if (!blocked) wake = Math.min(wake, nextRto)
    return {kind: 'send', datagrams, wakeInS: Math.max(wake, 0.001)}
  }

  #startLevel(): void {
    this.#depth = this.#asm.currentDepth
    this.#pending = new Map()
    if (this.#depth === undefined) return
    for (const pos of this.#asm.missing()) {
      const size = merkleNodeSize(PQ1_MERKLE_SHAPE, this.#depth, pos)!
      const request = encodeStaticRequest(this.#depth, pos)
      this.#pending.set(pos, {pos, request, packet: this.#pacer.newPacket(11 + size), seq: -1})
    }
  }
}
