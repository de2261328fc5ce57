/**
 * The process's randomness source for the core: libsodium's randombytes_buf (getrandom(2) on
 * Linux), through sodium-native. The core never calls it directly; shells pass `systemRng` in
 * wherever an `Rng` is asked for, and tests pass deterministic doubles instead.
 */
import sodium from 'sodium-native'

import type {Rng} from './interfaces.js'

/** Fill `out` with bytes from the operating system's CSPRNG. */
export const systemRng: Rng = (out) => {
  sodium.randombytes_buf(out)
}
