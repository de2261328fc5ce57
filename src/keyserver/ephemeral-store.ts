/**
 * The server's ephemeral keys, one sntrup761 + X25519 pair per 30 s wall-clock slot
 * (pq1-protocol.md section 5.5), as a rolling window instead of the reference's daily batch, so
 * there is no gap at day boundaries (section 14 item 27): keys are made EPHEMERAL_AHEAD_SLOTS
 * ahead, the current slot's public keys are served, and each private key is kept until
 * EPHEMERAL_RETAIN_S after its slot began, then wiped. Clock steps in either direction only change
 * which slots are wanted; nothing is indexed by a counter that a jump could confuse.
 */
import {EPOCH_DURATION_S, EPOCH_TIMEOUT_S} from '../constants.js'
import {wipe} from '../crypto/wipe.js'

/** Slots generated ahead of the current one (2 minutes). */
export const EPHEMERAL_AHEAD_SLOTS = 4
/** A private key lives this long after its slot starts (reference: 120-150 s). */
export const EPHEMERAL_RETAIN_S = EPOCH_TIMEOUT_S + EPOCH_DURATION_S
/** Hard bound on held slots (ahead + current + retained). */
export const EPHEMERAL_MAX_SLOTS = EPHEMERAL_AHEAD_SLOTS + 1 + EPHEMERAL_RETAIN_S / EPOCH_DURATION_S + 1

export interface EphemeralKeySet {
  sntrupPublic: Uint8Array
  sntrupSecret: Uint8Array
  x25519Public: Uint8Array
  x25519Secret: Uint8Array
}

/** Start (wall seconds) of the slot holding `wallNow`. */
export const slotOf = (wallNow: number): number => Math.floor(wallNow / EPOCH_DURATION_S) * EPOCH_DURATION_S

export class EphemeralKeyStore {
  readonly #slots = new Map<number, EphemeralKeySet>()

  get size(): number {
    return this.#slots.size
  }

  /** Slots (starts) that should exist now and do not, current first. */
  missing(wallNow: number): number[] {
    const cur = slotOf(wallNow)
    const out: number[] = []
    for (let k = 0; k <= EPHEMERAL_AHEAD_SLOTS; k++) {
      const s = cur + k * EPOCH_DURATION_S
      if (!this.#slots.has(s)) out.push(s)
    }
    return out
  }

  /** Store keys for `slot`; ignored (and wiped) if the slot is no longer wanted. */
  add(slot: number, keys: EphemeralKeySet, wallNow: number): boolean {
    if (!this.#wanted(slot, wallNow) || this.#slots.has(slot)) {
      wipe(keys.sntrupSecret, keys.x25519Secret)
      return false
    }
    this.#slots.set(slot, keys)
    return true
  }

  /**
   * Public keys to serve: the current slot's, else (generation lagging behind a clock step) the
   * newest held slot before it. Undefined when nothing usable is held.
   */
  current(wallNow: number): EphemeralKeySet | undefined {
    const cur = slotOf(wallNow)
    const exact = this.#slots.get(cur)
    if (exact !== undefined) return exact
    let best: number | undefined
    for (const s of this.#slots.keys()) if (s < cur && (best === undefined || s > best)) best = s
    return best === undefined ? undefined : this.#slots.get(best)
  }

  /** Private keys a handshake may have used, newest first (bounded by EPHEMERAL_MAX_SLOTS). */
  candidates(wallNow: number): EphemeralKeySet[] {
    const cur = slotOf(wallNow)
    return [...this.#slots.entries()].filter(([s]) => s <= cur).sort((a, b) => b[0] - a[0]).map(([, k]) => k)
  }

  /** Wipe and drop keys past their retention, and keys for slots a backward clock step left ahead. */
  prune(wallNow: number): void {
    for (const [s, k] of this.#slots) {
      if (!this.#wanted(s, wallNow)) {
        wipe(k.sntrupSecret, k.x25519Secret)
        this.#slots.delete(s)
      }
    }
  }

  destroy(): void {
    for (const k of this.#slots.values()) wipe(k.sntrupSecret, k.x25519Secret)
    this.#slots.clear()
  }

  #wanted(slot: number, wallNow: number): boolean {
    const cur = slotOf(wallNow)
    return slot + EPHEMERAL_RETAIN_S > wallNow && slot <= cur + EPHEMERAL_AHEAD_SLOTS * EPOCH_DURATION_S
  }
}
