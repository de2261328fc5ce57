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
