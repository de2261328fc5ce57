/**
 * Per-source token buckets for work an unauthenticated packet can cause (handshakes: one McEliece
 * decapsulation each, ~70 ms of CPU). Bounded: at most RATE_LIMIT_MAX_SOURCES sources are tracked;
 * when the table is full the least recently seen bucket is evicted (a flooder then meets a fresh
 * bucket, but so does everybody else, and the global work queue bound still holds).
 */

export const RATE_LIMIT_MAX_SOURCES = 4096

export interface RateLimitOptions {
  /** Tokens added per second. */
  ratePerS: number
  /** Bucket size: how many may arrive at once. */
  burst: number
  maxSources?: number
}

interface Bucket {
  tokens: number
  at: number
}

export class RateLimiter {
  readonly #buckets = new Map<string, Bucket>()
  readonly #opts: Required<RateLimitOptions>

  constructor(opts: RateLimitOptions) {
    this.#opts = {maxSources: RATE_LIMIT_MAX_SOURCES, ...opts}
  }

  get size(): number {
    return this.#buckets.size
  }

  /** Take one token for `source` at time `now` (seconds); false means drop. */
  allow(source: string, now: number): boolean {
    let b = this.#buckets.get(source)
    if (b === undefined) {
      if (this.#buckets.size >= this.#opts.maxSources) {
        const oldest = this.#buckets.keys().next().value
        if (oldest !== undefined) this.#buckets.delete(oldest)
      }
      b = {tokens: this.#opts.burst, at: now}
    } else {
      this.#buckets.delete(source) // re-insert below: Map order is recency order
      b.tokens = Math.min(this.#opts.burst, b.tokens + Math.max(0, now - b.at) * this.#opts.ratePerS)
      b.at = now
    }
    this.#buckets.set(source, b)
    if (b.tokens < 1) return false
    b.tokens -= 1
    return true
  }
}
