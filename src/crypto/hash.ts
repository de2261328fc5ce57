/**
 * H of the pq1 protocol: SHAKE256 with a 32-byte output (pq1-protocol.md section 6.1), from
 * node:crypto (OpenSSL). libsodium has no SHAKE.
 */
import {createHash} from 'node:crypto'

import {HLEN} from '../constants.js'

/** H(parts[0] || parts[1] || ...), 32 bytes. */
export function shake256(...parts: Uint8Array[]): Buffer {
  const h = createHash('shake256', {outputLength: HLEN})
  for (const p of parts) h.update(p)
  return h.digest()
}
