/**
 * One epoch's key chain of one direction (pq1-protocol.md section 7.2): from the epoch root R,
 * (N, C) := KDF(2, R); each batch (C', P_0..P_17) := KDF(19, C) replaces C. The chain owns its
 * buffers and wipes each one as it is replaced or dropped. Batches are derived lazily (same keys as
 * the reference, which runs the first batch at once), and extensions can be derived without
 * touching the chain, so a receiver commits them only after a tag has verified (section 14 item 2).
 */
import {CHAIN_KEY_NUM_PACKETS, KLEN} from '../constants.js'
import {kdf} from '../crypto/kdf.js'
import {wipe} from '../crypto/wipe.js'

/**
 * Batches derived past a chain's end, not yet part of it: indices `from` .. `end - 1`, of which
 * the keys from `keysFrom` on are kept (`keys[i]` is index keysFrom + i); those below were erased
 * as soon as they were derived (a far jump keeps only the reorder window).
 */
export interface ChainExtension {
  readonly from: number
  readonly keysFrom: number
  readonly end: number
  readonly keys: Buffer[]
  /** The chain key after these batches. */
  readonly chainKey: Buffer
}

/** A secret held by a chain, for erasure audits and tests; never log it. */
export interface HeldSecret {
  kind: 'epoch-root' | 'chain-key' | 'packet-key'
  epoch: number
  index?: number
  bytes: Buffer
}

export class EpochChain {
  readonly epoch: number
  /** N, the root of epoch + 1; wiped once the next chain has been derived from it. */
  private nextRoot: Buffer | undefined
  /** C, the current chain key (undefined once wiped). */
  private chainKey: Buffer | undefined
  /** Indices below this have been derived (a multiple of CHAIN_KEY_NUM_PACKETS). */
  private derived = 0
  /** Derived keys not yet used or dropped, by index. */
  private readonly keys = new Map<number, Buffer>()
  /** No key below this index is held (dropKeysBelow visits each index once: amortised O(1)). */
  private floor = 0

  private constructor(epoch: number, nextRoot: Buffer, chainKey: Buffer) {
    this.epoch = epoch
    this.nextRoot = nextRoot
    this.chainKey = chainKey
  }

  /** (N, C) := KDF(2, R). Does not wipe `root`: the caller erases R when it commits (7.2). */
  static fromRoot(root: Uint8Array, epoch: number): EpochChain {
    const [n, c] = kdf(2, root)
    return new EpochChain(epoch, n!, c!)
  }

  /** The chain of epoch + 1, derived from N; N is left in place (see dropNextRoot). */
  deriveNext(): EpochChain | undefined {
    return this.nextRoot === undefined ? undefined : EpochChain.fromRoot(this.nextRoot, this.epoch + 1)
  }

  /** Erase N ("erase R" of 7.2 for the next epoch), once the next chain is committed. */
  dropNextRoot(): void {
    wipe(this.nextRoot)
    this.nextRoot = undefined
  }

  get hasNextRoot(): boolean {
    return this.nextRoot !== undefined
  }

  /** First index not yet derived. */
  get derivedEnd(): number {
    return this.derived
  }

  get heldKeys(): number {
    return this.keys.size
  }

  /**
   * Batches covering `index`, derived from a copy of the state; the chain is unchanged. Undefined
   * when `index` is already derived or the chain is wiped. The caller commits or wipes the result.
   */
  extendTo(index: number, keepFrom = 0): ChainExtension | undefined {
    if (index < this.derived || this.chainKey === undefined) return undefined
    const keys: Buffer[] = []
    let c: Buffer = this.chainKey
    let end = this.derived
    // Keys below keepFrom (never above index) are erased at once: only the window is held.
    const keysFrom = Math.max(this.derived, Math.min(keepFrom, index))
    while (end <= index) {
      if (end + CHAIN_KEY_NUM_PACKETS <= keysFrom) {
        // A whole batch below the kept window: only its chain key (the stream's first 32 bytes,
        // the same as KDF(19, C)[0]); its packet keys are never derived.
        const [next] = kdf(1, c)
        if (c !== this.chainKey) wipe(c)
        c = next!
        end += CHAIN_KEY_NUM_PACKETS
        continue
      }
      const out = kdf(CHAIN_KEY_NUM_PACKETS + 1, c)
      if (c !== this.chainKey) wipe(c)
      c = out[0]!
      for (let i = 1; i <= CHAIN_KEY_NUM_PACKETS; i++, end++) {
        if (end >= keysFrom) keys.push(out[i]!)
        else wipe(out[i])
      }
    }
    return {from: this.derived, keysFrom, end, keys, chainKey: c}
  }

  /** Make an extension part of the chain: the old C is erased (7.2 "erase C"). */
  commit(ext: ChainExtension): void {
    if (ext.from !== this.derived || this.chainKey === undefined) {
      wipeExtension(ext)
      return
    }
    wipe(this.chainKey)
    this.chainKey = ext.chainKey
    ext.keys.forEach((k, i) => this.keys.set(ext.keysFrom + i, k))
    this.derived = ext.end
  }

  /** The key of a derived, unused index (still held by the chain), or undefined. */
  peek(index: number): Buffer | undefined {
    return this.keys.get(index)
  }

  /** Remove a key from the chain and hand it to the caller, who wipes it after use. */
  take(index: number): Buffer | undefined {
    const k = this.keys.get(index)
    if (k !== undefined) this.keys.delete(index)
    return k
  }

  /** Erase every held key with an index below `index`. */
  dropKeysBelow(index: number): void {
    const end = Math.min(index, this.derived)
    for (let i = this.floor; i < end; i++) {
      const k = this.keys.get(i)
      if (k !== undefined) {
        wipe(k)
        this.keys.delete(i)
      }
    }
    this.floor = Math.max(this.floor, end)
  }

  /** Erase the whole chain: N, C and every key. */
  wipe(): void {
    this.dropNextRoot()
    wipe(this.chainKey)
    this.chainKey = undefined
    for (const k of this.keys.values()) wipe(k)
    this.keys.clear()
  }

  *secrets(): Generator<HeldSecret> {
    if (this.nextRoot !== undefined) yield {kind: 'epoch-root', epoch: this.epoch + 1, bytes: this.nextRoot}
    if (this.chainKey !== undefined) yield {kind: 'chain-key', epoch: this.epoch, bytes: this.chainKey}
    for (const [index, bytes] of this.keys) yield {kind: 'packet-key', epoch: this.epoch, index, bytes}
  }
}

export function wipeExtension(ext: ChainExtension | undefined): void {
  if (ext === undefined) return
  wipe(ext.chainKey, ...ext.keys)
}

/** Length check shared by the session constructors. */
export function isKey(b: Uint8Array): boolean {
  return b.length === KLEN
}
