/**
 * Time for the router: monotonic seconds for protocol timers (never the wall clock, which may
 * step), wall seconds only for the ephemeral-key slots the key server publishes (section 5.5).
 */
import {performance} from 'node:perf_hooks'

export interface Clock {
  /** Monotonic seconds. */
  mono(): number
  /** Wall-clock seconds since the epoch. */
  wall(): number
}

export const systemClock: Clock = {
  mono: () => performance.now() / 1000,
  wall: () => Date.now() / 1000,
}

/** What a scheduled timer gives back; the router only ever unrefs it or hands it back to clear. */
export interface TimerHandle {
  unref(): unknown
}

/**
 * The timer functions the router schedules with. Production uses Node's (systemTimers); unit
 * tests inject virtual ones that run on the same virtual time as their Clock.
 */
export interface Timers {
  setTimeout(fn: () => void, ms: number): TimerHandle
  clearTimeout(handle: TimerHandle | undefined): void
  setInterval(fn: () => void, ms: number): TimerHandle
  clearInterval(handle: TimerHandle | undefined): void
  setImmediate(fn: () => void): void
}

export const systemTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout | undefined),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout | undefined),
  setImmediate: (fn) => void setImmediate(fn),
}
