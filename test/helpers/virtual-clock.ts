/**
 * Virtual time for router unit tests: one object that is both the routers' Clock (mono/wall
 * seconds) and their Timers (setTimeout, setInterval, setImmediate), so every timer fires at
 * exactly its due time and reads that time from the clock. Nothing moves unless the test calls
 * runDue() or advanceTo(); there is no real timer anywhere. Bounded: MAX_VIRTUAL_TIMERS.
 */
import type {Clock, TimerHandle, Timers} from '../../router/clock.js'

/** A test that schedules more timers than this at once has a runaway loop. */
export const MAX_VIRTUAL_TIMERS = 100_000

interface Entry {
  seq: number
  /** Tie-break among equal due times: scheduling order (Node runs those FIFO). */
  order: number
  dueMs: number
  periodMs: number | undefined
  fn: () => void
}

class VirtualHandle implements TimerHandle {
  constructor(readonly seq: number) {}
  unref(): this {
    return this
  }
}

export class VirtualClock implements Clock, Timers {
  /** Wall seconds at mono() === 0. */
  readonly wallBase: number
  /** Timer callbacks run so far. */
  fired = 0
  #nowMs = 0
  #seq = 0
  /** Live timers by seq; the heap may hold stale entries of cleared ones (skipped when popped). */
  readonly #live = new Map<number, Entry>()
  readonly #heap: Entry[] = []

  constructor(wallBase = 1_800_000_000) {
    this.wallBase = wallBase
  }

  mono(): number {
    return this.#nowMs / 1000
  }

  wall(): number {
    return this.wallBase + this.#nowMs / 1000
  }

  /** Timers scheduled and not yet fired or cleared (intervals count once). */
  get pending(): number {
    return this.#live.size
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.#add(fn, Math.max(1, ms), undefined) // Node: a delay below 1 ms is 1 ms
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    const period = Math.max(1, ms)
    return this.#add(fn, period, period)
  }

  setImmediate(fn: () => void): void {
    this.#add(fn, 0, undefined)
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle instanceof VirtualHandle) this.#live.delete(handle.seq)
  }

  clearInterval(handle: TimerHandle | undefined): void {
    this.clearTimeout(handle)
  }

  /** Due time (virtual seconds) of the earliest timer, or undefined when none is scheduled. */
  nextDue(): number | undefined {
    const e = this.#peek()
    return e === undefined ? undefined : e.dueMs / 1000
  }

  /** Runs every timer due now, in (due, scheduling) order, including ones they schedule for now. */
  runDue(): number {
    let ran = 0
    for (let e = this.#peek(); e !== undefined && e.dueMs <= this.#nowMs; e = this.#peek()) {
      this.#pop()
      if (e.periodMs === undefined) this.#live.delete(e.seq)
      else {
        // An interval keeps its seq (its handle) and is queued again for its next period.
        e.dueMs += e.periodMs
        e.order = this.#seq++
        this.#push(e)
      }
      ran++
      this.fired++
      e.fn()
    }
    return ran
  }

  /** Moves time to the earliest timer if it is due by `limitSeconds`; false (time unchanged) if none is. */
  jumpToNextDue(limitSeconds: number): boolean {
    const e = this.#peek()
    if (e === undefined || e.dueMs > limitSeconds * 1000) return false
    this.#nowMs = Math.max(this.#nowMs, e.dueMs)
    return true
  }

  /** Moves time forward to `seconds` (never back); the caller runs what became due. */
  setNow(seconds: number): void {
    this.#nowMs = Math.max(this.#nowMs, seconds * 1000)
  }

  #add(fn: () => void, delayMs: number, periodMs: number | undefined): TimerHandle {
    if (this.#live.size >= MAX_VIRTUAL_TIMERS) throw new Error(`virtual clock: more than ${MAX_VIRTUAL_TIMERS} timers`)
    const seq = this.#seq++
    const e: Entry = {seq, order: seq, dueMs: this.#nowMs + delayMs, periodMs, fn}
    this.#live.set(seq, e)
    this.#push(e)
    return new VirtualHandle(seq)
  }

  /** The earliest live entry, dropping cleared ones from the top of the heap. */
  #peek(): Entry | undefined {
    while (this.#heap.length > 0) {
      const top = this.#heap[0]!
      if (this.#live.get(top.seq) === top) return top
      this.#pop()
    }
    return undefined
  }

  #push(e: Entry): void {
    const h = this.#heap
    h.push(e)
    for (let i = h.length - 1; i > 0;) {
      const parent = (i - 1) >> 1
      if (!before(h[i]!, h[parent]!)) break
      ;[h[i], h[parent]] = [h[parent]!, h[i]!]
      i = parent
    }
  }

  #pop(): void {
    const h = this.#heap
    const last = h.pop()!
    if (h.length === 0) return
    h[0] = last
    for (let i = 0; ;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < h.length && before(h[l]!, h[m]!)) m = l
      if (r < h.length && before(h[r]!, h[m]!)) m = r
      if (m === i) return
      ;[h[i], h[m]] = [h[m]!, h[i]!]
      i = m
    }
  }
}

const before = (a: Entry, b: Entry): boolean => a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.order < b.order)
