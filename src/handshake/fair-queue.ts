/**
 * The server's queue of initiations waiting for a McEliece decapsulation (security-tests.md H-2):
 * two lanes, one for returning sources (an address that completed a handshake recently) and one
 * for new ones; each lane is fair between source addresses (the source served least recently goes
 * first, so a client that handshakes now and then is not stuck behind one that keeps sending; at
 * most HANDSHAKE_QUEUE_PER_SOURCE jobs each) and bounded (HANDSHAKE_QUEUE_MAX; when full, the
 * oldest job of the busiest source goes, so what is served is fresh). A job older than
 * HANDSHAKE_QUEUE_MAX_AGE_S is discarded unprocessed: its client has already sent a new initiation.
 * Pure: time comes in as an argument.
 */
import {
  HANDSHAKE_QUEUE_MAX, HANDSHAKE_QUEUE_MAX_AGE_S, HANDSHAKE_QUEUE_PER_SOURCE, HANDSHAKE_RETURNING_SHARE,
} from '../constants.js'

interface Entry<T> {
  job: T
  at: number
}

/** Sources whose last service time a lane remembers (older ones count as never served). */
export const FAIR_LANE_TRACKED_SOURCES = 4096

/** One lane: least recently served source first; ties in the order the sources queued. */
export class FairLane<T> {
  /** source -> its jobs, oldest first; Map order is the order sources started waiting. */
  readonly #bySource = new Map<string, Array<Entry<T>>>()
  /** source -> when a job of it was last served; Map order is least recently served first. */
  readonly #lastServed = new Map<string, number>()
  #size = 0

  constructor(readonly maxJobs = HANDSHAKE_QUEUE_MAX, readonly maxPerSource = HANDSHAKE_QUEUE_PER_SOURCE) {}

  get size(): number {
    return this.#size
  }

  /** Queue a job; returns how many jobs were dropped to make room (0 or 1). */
  push(source: string, job: T, now: number): number {
    let dropped = 0
    const mine = this.#bySource.get(source)
    if (mine !== undefined && mine.length >= this.maxPerSource) {
      mine.shift()
      this.#size--
      dropped++
    } else if (this.#size >= this.maxJobs) {
      this.#dropFromBusiest()
      dropped++
    }
    const list = this.#bySource.get(source)
    if (list === undefined) this.#bySource.set(source, [{job, at: now}])
    else list.push({job, at: now})
    this.#size++
    return dropped
  }

  /** The next job (least recently served source first), skipping (and counting) stale ones. */
  shift(now: number, onStale: () => void): T | undefined {
    while (this.#size > 0) {
      let pick: string | undefined
      let pickServed = Number.POSITIVE_INFINITY
      for (const source of this.#bySource.keys()) {
        const served = this.#lastServed.get(source) ?? Number.NEGATIVE_INFINITY
        if (served < pickServed) [pick, pickServed] = [source, served]
        if (served === Number.NEGATIVE_INFINITY) break // never served: nobody goes before it
      }
      const list = this.#bySource.get(pick!)!
      const e = list.shift()!
      this.#size--
      if (list.length === 0) this.#bySource.delete(pick!)
      if (now - e.at > HANDSHAKE_QUEUE_MAX_AGE_S) {
        onStale()
        continue
      }
      this.#served(pick!, now)
      return e.job
    }
    return undefined
  }

  #served(source: string, now: number): void {
    this.#lastServed.delete(source)
    if (this.#lastServed.size >= FAIR_LANE_TRACKED_SOURCES) this.#lastServed.delete(this.#lastServed.keys().next().value!)
    this.#lastServed.set(source, now)
  }

  #dropFromBusiest(): void {
    let busiest: [string, Array<Entry<T>>] | undefined
    for (const entry of this.#bySource) if (busiest === undefined || entry[1].length > busiest[1].length) busiest = entry
    if (busiest === undefined) return
    busiest[1].shift()
    this.#size--
    if (busiest[1].length === 0) this.#bySource.delete(busiest[0])
  }
}

/** Both lanes: returning sources get HANDSHAKE_RETURNING_SHARE jobs served per job of a new source. */
export class HandshakeQueue<T> {
  readonly returning: FairLane<T>
  readonly fresh: FairLane<T>
  #credit = 0

  constructor(maxJobs = HANDSHAKE_QUEUE_MAX, maxPerSource = HANDSHAKE_QUEUE_PER_SOURCE) {
    this.returning = new FairLane<T>(maxJobs, maxPerSource)
    this.fresh = new FairLane<T>(maxJobs, maxPerSource)
  }

  get size(): number {
    return this.returning.size + this.fresh.size
  }

  push(source: string, job: T, returning: boolean, now: number): number {
    return (returning ? this.returning : this.fresh).push(source, job, now)
  }

  shift(now: number, onStale: () => void): T | undefined {
    const preferNew = this.#credit >= HANDSHAKE_RETURNING_SHARE
    const first = preferNew ? this.fresh : this.returning
    const second = preferNew ? this.returning : this.fresh
    let job = first.shift(now, onStale)
    let from = first
    if (job === undefined) {
      job = second.shift(now, onStale)
      from = second
    }
    if (job === undefined) return undefined
    this.#credit = from === this.returning ? this.#credit + 1 : 0
    return job
  }
}
