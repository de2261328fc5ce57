/**
 * The sending half of a tunnel (pq1-protocol.md section 7.4): epochs of EPOCH_DURATION_S on the
 * sender's monotonic clock, indices used strictly in order from 0 in each epoch, each packet key
 * handed out once (the caller wipes it after sealing), the old chain erased at each epoch switch.
 * It never throws on exhaustion: the 16-bit epoch and 32-bit index limits (section 14 item 20)
 * become a refusal the session turns into "rehandshake".
 */
import {EPOCH_DURATION_S, MAX_EPOCH, SEND_REHANDSHAKE_MARGIN_EPOCHS} from '../constants.js'
import {wipe} from '../crypto/wipe.js'
import {MAX_TUNNEL_INDEX} from '../wire/tunnel.js'
import {EpochChain, type HeldSecret} from './epoch-chain.js'

export type SendRefusal = 'epoch-exhausted' | 'index-exhausted'

export interface SendPosition {
  epoch: number
  index: number
  /** The packet key: the caller seals one message with it and wipes it. */
  key: Buffer
}

/** Whether (epoch, index) still fits the header fields (7.3); pure, for the limits' tests. */
export function sendPositionRefusal(epoch: number, index: number): SendRefusal | undefined {
  if (epoch > MAX_EPOCH) return 'epoch-exhausted'
  if (index > MAX_TUNNEL_INDEX) return 'index-exhausted'
  return undefined
}

export class SendRatchet {
  private chain: EpochChain | undefined
  private currentEpoch = 0
  /** End of the current epoch (sender's monotonic seconds): the epoch is [start, expireAt). */
  private expireAt: number
  private nextIndex = 0
  private refusal: SendRefusal | undefined

  /** Epoch 0 starts now (7.4). The root is consumed: wiped here (7.2 "erase R"). */
  constructor(root: Uint8Array, now: number) {
    this.chain = EpochChain.fromRoot(root, 0)
    wipe(root)
    this.expireAt = now + EPOCH_DURATION_S
  }

  get epoch(): number {
    return this.currentEpoch
  }

  /** Next index to be used in the current epoch. */
  get index(): number {
    return this.nextIndex
  }

  get expiresAt(): number {
    return this.expireAt
  }

  get refused(): SendRefusal | undefined {
    return this.refusal
  }

  /** A rehandshake should be started now: refused, or within the margin of the 16-bit epoch. */
  get rehandshakeDue(): boolean {
    return this.refusal !== undefined || this.currentEpoch >= MAX_EPOCH - SEND_REHANDSHAKE_MARGIN_EPOCHS
  }

  /**
   * Section 7.4: while now >= expire, move to the next epoch with start := min(now, expire), which
   * after an idle period advances several epochs and keeps the 30 s grid. (The reference compares
   * whole seconds with `>`; `>=` on real seconds gives half-open epochs with the same 30 s grid.)
   */
  advanceTime(now: number): void {
    if (this.chain === undefined || now < this.expireAt) return
    this.step(Math.floor((now - this.expireAt) / EPOCH_DURATION_S) + 1, now)
  }

  /**
   * Follow the peer's epoch (7.5 step 7). Called only after a datagram of that epoch has been
   * authenticated (section 14 item 2), never on header fields alone.
   */
  followTo(epoch: number, now: number): void {
    if (this.chain !== undefined && epoch > this.currentEpoch) this.step(epoch - this.currentEpoch, now)
  }

  /** The key for the next datagram, or why none can be sent. */
  next(now: number): SendPosition | SendRefusal {
    this.advanceTime(now)
    if (this.chain === undefined) return this.refusal ?? 'epoch-exhausted'
    const index = this.nextIndex
    const refusal = sendPositionRefusal(this.currentEpoch, index)
    if (refusal !== undefined) return this.refuse(refusal)
    const ext = this.chain.extendTo(index)
    if (ext !== undefined) this.chain.commit(ext)
    const key = this.chain.take(index)!
    this.nextIndex = index + 1
    return {epoch: this.currentEpoch, index, key}
  }

  /** Erase everything; later calls to next() are refused. */
  wipe(): void {
    this.chain?.wipe()
    this.chain = undefined
  }

  *secrets(): Generator<HeldSecret> {
    if (this.chain !== undefined) yield* this.chain.secrets()
  }

  private step(count: number, now: number): void {
    const chain = this.chain
    if (chain === undefined) return
    if (this.currentEpoch + count > MAX_EPOCH) {
      this.refuse('epoch-exhausted')
      return
    }
    let current = chain
    for (let i = 0; i < count; i++) {
      const next = current.deriveNext()!
      current.wipe() // the old chain, its N included, is erased at the switch (7.4)
      current = next
      this.expireAt = Math.min(now, this.expireAt) + EPOCH_DURATION_S
    }
    this.chain = current
    this.currentEpoch += count
    this.nextIndex = 0
  }

  private refuse(reason: SendRefusal): SendRefusal {
    this.refusal = reason
    this.wipe()
    return reason
  }
}
