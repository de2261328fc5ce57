/**
 * Cheap admission checks the server runs on an initiation before it may cost a decapsulation
 * (security-tests.md H-2, H-4): the exact shape of section 6.3 plus the McEliece ciphertext's
 * padding bits (a genuine ciphertext always has them zero, so random content fails 31 times in
 * 32 without any wire change), and the table of returning sources, addresses that completed a
 * handshake recently (bounded: HANDSHAKE_RETURNING_SOURCES_MAX, least recently marked forgotten).
 */
import {
  HANDSHAKE_RETURNING_SOURCES_MAX, HANDSHAKE_RETURNING_TTL_S, MCELIECE_CT_BYTES, MCELIECE_CT_PADDING_MASK,
} from '../constants.js'
import {decodeInitiation} from '../wire/initiation.js'

/** False when `message` cannot be a valid initiation whatever the keys: drop it before any work. */
export function plausibleInitiation(message: Uint8Array): boolean {
  const m = decodeInitiation(message)
  return m !== undefined && (m.c0[MCELIECE_CT_BYTES - 1]! & MCELIECE_CT_PADDING_MASK) === 0
}

export class ReturningSources {
  /** source -> expiry (monotonic s); Map order is least recently marked first. */
  readonly #expiry = new Map<string, number>()

  constructor(readonly maxSources = HANDSHAKE_RETURNING_SOURCES_MAX, readonly ttlS = HANDSHAKE_RETURNING_TTL_S) {}

  get size(): number {
    return this.#expiry.size
  }

  /** `source` completed a handshake at `now`. */
  mark(source: string, now: number): void {
    this.#expiry.delete(source)
    if (this.#expiry.size >= this.maxSources) {
      const oldest = this.#expiry.keys().next().value
      if (oldest !== undefined) this.#expiry.delete(oldest)
    }
    this.#expiry.set(source, now + this.ttlS)
  }

  has(source: string, now: number): boolean {
    const e = this.#expiry.get(source)
    if (e === undefined) return false
    if (e > now) return true
    this.#expiry.delete(source)
    return false
  }
}
