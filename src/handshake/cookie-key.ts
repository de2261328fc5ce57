/**
 * The reference server's cookie-key ratchet (pq1-protocol.md section 6.8): state := KDF(1,
 * session_key, random32) at start, then every 30 s bucket state := KDF(1, state, random32), the
 * new state being that bucket's cookie key. We never send cookies (they do not work in the
 * reference, section 14 item 19); the ratchet is kept so the session_key file has its meaning and
 * the vector of section 12.2 is checked.
 */
import {kdf} from '../crypto/kdf.js'
import {wipe} from '../crypto/wipe.js'

/** Initial state from the 32-byte session_key and 32 random bytes. */
export function cookieKeyInit(sessionKey: Uint8Array, random32: Uint8Array): Buffer {
  return kdf(1, sessionKey, random32)[0]!
}

/** Next bucket's key; the previous state is wiped. */
export function cookieKeyUpdate(state: Uint8Array, random32: Uint8Array): Buffer {
  const [next] = kdf(1, state, random32)
  wipe(state)
  return next!
}
