/**
 * The original ChaCha20 keystream (64-bit nonce, 64-bit block counter) used by the pq1 KDF,
 * taken from libsodium. sodium-native only passes a 32-bit initial counter, so we use libsodium's
 * IETF variant, whose state words 12..15 are `ic32 || nonce12`: with nonce12 = LE32(counter_hi)
 * || nonce8 and ic32 = counter_lo the state is exactly the original one. The call is split where
 * the low word wraps, carrying into the high word (mod 2^64), as the original construction does.
 */
import sodium from 'sodium-native'

const BLOCK = 64
const TWO32 = 0x1_0000_0000

/**
 * Fill `out` with the keystream of original ChaCha20 for `key` and `nonce8`, starting at 64-bit
 * block counter `counter` (a bigint in [0, 2^64)).
 */
export function chacha20Stream(out: Uint8Array, key: Uint8Array, nonce8: Uint8Array, counter: bigint): void {
  if (key.length !== 32) throw new RangeError('chacha20: key must be 32 bytes')
  if (nonce8.length !== 8) throw new RangeError('chacha20: nonce must be 8 bytes')
  let lo = Number(counter & 0xffff_ffffn)
  let hi = Number((counter >> 32n) & 0xffff_ffffn)
  const nonce12 = Buffer.alloc(12)
  out.fill(0)
  let off = 0
  while (off < out.length) {
    const blocksLeftInWord = TWO32 - lo
    const want = out.length - off
    const take = Math.min(want, blocksLeftInWord * BLOCK)
    nonce12.writeUInt32LE(hi, 0)
    nonce12.set(nonce8, 4)
    const chunk = out.subarray(off, off + take)
    sodium.crypto_stream_chacha20_ietf_xor_ic(chunk, chunk, nonce12, lo, key)
    off += take
    lo = 0
    hi = (hi + 1) % TWO32
  }
}
