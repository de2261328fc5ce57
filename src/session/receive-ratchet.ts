/**
 * The receiving half of a tunnel (pq1-protocol.md section 7.5), compatible with the reference
 * sender but stricter than the reference receiver: header fields only select a *candidate* key,
 * derived on copies; epoch chains, indices and erasures are committed only after the AEAD tag has
 * verified (section 14 item 2). Lookahead is bounded (MAX_EPOCHS chains, a peer at most
 * MAX_EPOCHS - 1 epochs ahead, RECV_LOOKAHEAD_MAX_PACKETS indices past the highest authenticated
 * one), reordering works inside RECV_REORDER_WINDOW_PACKETS (section 14 item 16 instead of the
 * 90-unused-keys stall), and every chain is erased EPOCH_TIMEOUT_S after its creation (7.6).
 * A candidate must be committed or discarded before any other call.
 */
import {
  EPOCH_TIMEOUT_S, MAX_EPOCHS, RECV_FAR_LOOKAHEAD_MAX_PACKETS, RECV_FAR_SKIP_PACKETS_PER_S, RECV_LOOKAHEAD_MAX_PACKETS,
  RECV_REORDER_WINDOW_PACKETS,
} from '../constants.js'
import {wipe} from '../crypto/wipe.js'
import {EpochChain, type ChainExtension, type HeldSecret, wipeExtension} from './epoch-chain.js'

export type ReceiveDrop =
  /** No receive chain is left: the tunnel is dead (7.6). */
  | 'tunnel-dead'
  /** Older than every live chain, or its chain was erased. */
  | 'epoch-expired'
  /** More than MAX_EPOCHS - 1 epochs past the newest live chain. */
  | 'epoch-too-far'
  /** More than RECV_LOOKAHEAD_MAX_PACKETS past the highest authenticated index of its epoch. */
  | 'index-too-far'
  /** The key is gone: already used (a replay) or older than the reorder window. */
  | 'replay-or-old'

interface ReceiveEpoch {
  chain: EpochChain
  /** Local monotonic seconds when the chain was committed; erased at createdAt + EPOCH_TIMEOUT_S. */
  createdAt: number
  /** Highest authenticated index, -1 before the first. */
  highest: number
}

/** The key for one datagram, with whatever state it would add; nothing is committed yet. */
export interface ReceiveCandidate {
  readonly epoch: number
  readonly index: number
  /** The packet key to try; owned by the ratchet (do not wipe or keep it). */
  readonly key: Buffer
  /** @internal Chain the index belongs to: a live one, or the last of `fresh`. */
  readonly target: ReceiveEpoch
  /** @internal Tentative chains for the epochs after the newest live one, ascending. */
  readonly fresh: ReceiveEpoch[]
  /** @internal Tentative batches of the target chain. */
  readonly ext: ChainExtension | undefined
}

/** Non-secret view of one receive epoch, for status output and tests. */
export interface ReceiveEpochStatus {
  epoch: number
  createdAt: number
  highest: number
  heldKeys: number
  derivedEnd: number
}

export class ReceiveRatchet {
  /** Live chains, ascending by epoch; never more than MAX_EPOCHS. */
  private epochs: ReceiveEpoch[] = []
  /**
   * Packets far jumps (past RECV_LOOKAHEAD_MAX_PACKETS) may still skip, spent when one is tried,
   * verified or not; refilled at RECV_FAR_SKIP_PACKETS_PER_S up to RECV_FAR_LOOKAHEAD_MAX_PACKETS.
   */
  private farBudget = RECV_FAR_LOOKAHEAD_MAX_PACKETS
  private farBudgetAt: number | undefined
  /** Far jumps tried, for status and tests. */
  farJumps = 0

  /** The chain of epoch 0 exists from the start (7.6). The root is consumed: wiped here. */
  constructor(root: Uint8Array, now: number) {
    this.epochs.push({chain: EpochChain.fromRoot(root, 0), createdAt: now, highest: -1})
    wipe(root)
  }

  get newestEpoch(): number | undefined {
    return this.epochs.at(-1)?.chain.epoch
  }

  /** Whether a live chain exists at `now` (without erasing anything). */
  isAlive(now: number): boolean {
    return this.epochs.some((e) => now < e.createdAt + EPOCH_TIMEOUT_S)
  }

  /** When the next chain must be erased, or undefined when none is left. */
  nextDeadline(): number | undefined {
    let min: number | undefined
    for (const e of this.epochs) min = Math.min(min ?? Infinity, e.createdAt + EPOCH_TIMEOUT_S)
    return min
  }

  /** Erase every chain whose EPOCH_TIMEOUT_S is over (7.5 step 8). */
  expire(now: number): void {
    if (this.epochs.every((e) => now < e.createdAt + EPOCH_TIMEOUT_S)) return
    this.epochs = this.epochs.filter((e) => {
      if (now < e.createdAt + EPOCH_TIMEOUT_S) return true
      e.chain.wipe()
      return false
    })
  }

  /**
   * Select (and if needed derive, on copies) the key for (epoch, index). Changes no key state;
   * `now` (monotonic seconds) paces far jumps, which it records as tried.
   */
  prepare(epoch: number, index: number, now = Number.NEGATIVE_INFINITY): ReceiveCandidate | ReceiveDrop {
    const newest = this.epochs.at(-1)
    if (newest === undefined) return 'tunnel-dead'
    if (epoch > newest.chain.epoch) return this.prepareFuture(newest, epoch, index, now)
    const target = this.epochs.find((e) => e.chain.epoch === epoch)
    if (target === undefined) return 'epoch-expired'
    if (index > target.highest + RECV_LOOKAHEAD_MAX_PACKETS && !this.farJumpAllowed(index - target.highest, now)) return 'index-too-far'
    if (index < target.chain.derivedEnd) {
      const key = target.chain.peek(index)
      return key === undefined ? 'replay-or-old' : {epoch, index, key, target, fresh: [], ext: undefined}
    }
    const ext = target.chain.extendTo(index, index - RECV_REORDER_WINDOW_PACKETS)
    if (ext === undefined) return 'tunnel-dead'
    return {epoch, index, key: ext.keys[index - ext.keysFrom]!, target, fresh: [], ext}
  }

  /** The tag did not verify: erase what was derived for the candidate; keep every live key (7.5 step 5). */
  discard(c: ReceiveCandidate): void {
    wipeExtension(c.ext)
    for (const f of c.fresh) f.chain.wipe()
  }

  /** The tag verified: add the candidate's chains and keys, use up its key, slide the window. */
  commit(c: ReceiveCandidate, now: number): void {
    if (c.fresh.length > 0) {
      // Each new chain was derived from its predecessor's N: erase those roots (7.2 "erase R").
      this.epochs.at(-1)?.chain.dropNextRoot()
      for (const f of c.fresh) {
        f.createdAt = now
        if (f !== c.fresh.at(-1)) f.chain.dropNextRoot()
        this.epochs.push(f)
      }
      // A bounded number of chains: the oldest go first (they are also the first to expire).
      while (this.epochs.length > MAX_EPOCHS) this.epochs.shift()!.chain.wipe()
    }
    const t = c.target
    if (c.ext !== undefined) t.chain.commit(c.ext)
    wipe(t.chain.take(c.index))
    if (c.index > t.highest) {
      t.highest = c.index
      t.chain.dropKeysBelow(t.highest - RECV_REORDER_WINDOW_PACKETS)
    }
  }

  /** Erase every chain; the ratchet is dead afterwards. */
  wipe(): void {
    for (const e of this.epochs) e.chain.wipe()
    this.epochs = []
  }

  status(): ReceiveEpochStatus[] {
    return this.epochs.map((e) => ({
      epoch: e.chain.epoch, createdAt: e.createdAt, highest: e.highest, heldKeys: e.chain.heldKeys, derivedEnd: e.chain.derivedEnd,
    }))
  }

  *secrets(): Generator<HeldSecret> {
    for (const e of this.epochs) yield* e.chain.secrets()
  }

  /** A jump of `distance` past the highest index: near ones always, far ones within the budget. */
  private farJumpAllowed(distance: number, now: number): boolean {
    if (this.farBudgetAt !== undefined && now > this.farBudgetAt) {
      this.farBudget = Math.min(RECV_FAR_LOOKAHEAD_MAX_PACKETS, this.farBudget + (now - this.farBudgetAt) * RECV_FAR_SKIP_PACKETS_PER_S)
    }
    this.farBudgetAt = Math.max(this.farBudgetAt ?? now, now)
    if (distance > RECV_FAR_LOOKAHEAD_MAX_PACKETS || distance > this.farBudget) return false
    this.farBudget -= distance
    this.farJumps++
    return true
  }

  /** 7.5 step 2, tentatively: chains for newest+1 .. epoch, then the batches covering index. */
  private prepareFuture(newest: ReceiveEpoch, epoch: number, index: number, now: number): ReceiveCandidate | ReceiveDrop {
    if (epoch - newest.chain.epoch > MAX_EPOCHS - 1) return 'epoch-too-far'
    if (index > RECV_LOOKAHEAD_MAX_PACKETS - 1 && !this.farJumpAllowed(index + 1, now)) return 'index-too-far'
    const fresh: ReceiveEpoch[] = []
    let prev = newest.chain
    while (prev.epoch < epoch) {
      const next = prev.deriveNext()
      if (next === undefined) break
      fresh.push({chain: next, createdAt: Number.NaN, highest: -1})
      prev = next
    }
    const target = fresh.at(-1)
    const ext = target?.chain.extendTo(index, index - RECV_REORDER_WINDOW_PACKETS)
    if (target === undefined || target.chain.epoch !== epoch || ext === undefined) {
      for (const f of fresh) f.chain.wipe()
      return 'tunnel-dead'
    }
    return {epoch, index, key: ext.keys[index - ext.keysFrom]!, target, fresh, ext}
  }
}
