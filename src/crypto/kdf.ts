/**
 * KDF(n, k, x) of pq1 (pq1-protocol.md section 7.1): n 32-byte keys from the original ChaCha20
 * stream. With an input x of 32 bytes, k' := ChaCha20(k, x[8:16], LE64(x[0:8]))[0:32], then the
 * output stream is ChaCha20(k', x[24:32], LE64(x[16:24])). The intermediate k' is wiped.
 */
import {KLEN} from '../constants.js'
import {chacha20Stream} from './chacha20.js'
import {wipe} from './wipe.js'

const ZERO_NONCE = new Uint8Array(8)

/** Returns n fresh 32-byte buffers; the caller owns (and wipes) them. */
export function kdf(n: number, k: Uint8Array, x?: Uint8Array): Buffer[] {
  if (!Number.isInteger(n) || n < 1) throw new RangeError('kdf: n must be a positive integer')
  if (k.length !== KLEN) throw new RangeError('kdf: key must be 32 bytes')
  const stream = Buffer.alloc(KLEN * n)
  if (x === undefined || x.length === 0) {
    chacha20Stream(stream, k, ZERO_NONCE, 0n)
  } else {
    if (x.length !== 32) throw new RangeError('kdf: input must be empty or 32 bytes')
    const xb = Buffer.from(x.buffer, x.byteOffset, x.length)
    const k2 = Buffer.alloc(KLEN)
    chacha20Stream(k2, k, xb.subarray(8, 16), xb.readBigUInt64LE(0))
    chacha20Stream(stream, k2, xb.subarray(24, 32), xb.readBigUInt64LE(16))
    wipe(k2)
  }
  const keys: Buffer[] = []
  for (let i = 0; i < n; i++) keys.push(Buffer.from(stream.subarray(KLEN * i, KLEN * (i + 1))))
  wipe(stream)
  return keys
}
