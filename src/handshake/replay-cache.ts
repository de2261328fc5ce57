/**
 * Server replay cache for initiations (fixes pq1-protocol.md section 14 item 4). An initiation can
 * complete only while one of the ephemeral keys it may use is still held, so every accepted c0 is
 * remembered (by its SHAKE256 digest) for at least that long: EPHEMERAL_KEY_LIFETIME_S past the
 * newest slot that could still accept it. Lookup and insert are O(1); the size is bounded by
 * REPLAY_CACHE_MAX_ENTRIES and, when full, new handshakes are refused rather than old entries
 * forgotten (forgetting would re-open a replay window).
 */
import {shake256} from '../crypto/hash.js'

/** Seconds an ephemeral private key is usable after its slot starts (slot 30 s + retention 120 s). */
export const EPHEMERAL_KEY_LIFETIME_S = 150
/** Bound on remembered initiations: at ~30 handshakes/s sustained for 150 s that is 4500. */
export const REPLAY_CACHE_MAX_ENTRIES = 65_536

export type ReplayVerdict = 'fresh' | 'replay' | 'full'

export class ReplayCache {
  /** digest (hex) -> expiry, in insertion order (expiries are non-decreasing with `now`). */
  readonly #entries = new Map<string, number>()
  readonly #maxEntries: number
  readonly #lifetimeS: number

  constructor(options: {maxEntries?: number; lifetimeS?: number} = {}) {
    this.#maxEntries = options.maxEntries ?? REPLAY_CACHE_MAX_ENTRIES
    this.#lifetimeS = options.lifetimeS ?? EPHEMERAL_KEY_LIFETIME_S
  }

  get size(): number {
    return this.#entries.size
  }

  /** Has this c0 been accepted before (and not yet expired)? */
  has(c0: Uint8Array, now: number): boolean {
    this.expire(now)
    return this.#entries.has(shake256(c0).toString('hex'))
  }

  /**
   * Atomically check and remember. 'replay' means refuse the handshake; 'full' means refuse it too
   * (the cache cannot promise to catch its replay). Only call after the handshake authenticated.
   */
  checkAndInsert(c0: Uint8Array, now: number): ReplayVerdict {
    this.expire(now)
    const key = shake256(c0).toString('hex')
    if (this.#entries.has(key)) return 'replay'
    if (this.#entries.size >= this.#maxEntries) return 'full'
    this.#entries.set(key, now + this.#lifetimeS)
    return 'fresh'
  }

  /** Drop entries whose replay window has closed. `now` is monotonic seconds. */
  expire(now: number): void {
    for (const [key, expiry] of this.#entries) {
      if (expiry > now) break
      this.#entries.delete(key)
    }
  }
}
