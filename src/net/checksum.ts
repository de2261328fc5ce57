/**
 * The Internet checksum (RFC 1071) and its incremental update (RFC 1624), for rewriting inner
 * packets (pq1-protocol.md section 3.3). Hot path: no allocation, plain numbers, big-endian words.
 * Sums stay exact in a double for any IPv4 packet (at most 2^15 words of 0xffff < 2^31).
 */

/**
 * Sum of the big-endian 16-bit words of bytes[start, end), a trailing odd byte padded with zero
 * (RFC 1071), added to `acc`. Not folded.
 */
export function sumWords(bytes: Uint8Array, start: number, end: number, acc = 0): number {
  // High and low bytes summed apart, eight bytes per turn: the sum is the same (hi * 256 + lo),
  // with fewer shifts and loop checks; about 1.6x faster than word by word in V8.
  let hi = 0
  let lo = 0
  const even = end - ((end - start) & 1)
  let i = start
  for (; i + 7 < even; i += 8) {
    hi += bytes[i]! + bytes[i + 2]! + bytes[i + 4]! + bytes[i + 6]!
    lo += bytes[i + 1]! + bytes[i + 3]! + bytes[i + 5]! + bytes[i + 7]!
  }
  for (; i < even; i += 2) {
    hi += bytes[i]!
    lo += bytes[i + 1]!
  }
  if (even < end) hi += bytes[even]!
  return acc + hi * 256 + lo
}

/** Fold a sum into 16 bits with end-around carry (one's-complement addition). */
export function foldSum(sum: number): number {
  let s = sum
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000)
  return s
}

/** One's complement of the folded sum: the value to store in a checksum field. */
export const finishChecksum = (sum: number): number => ~foldSum(sum) & 0xffff

/** Checksum of bytes[start, end) with `acc` (e.g. a pseudo-header sum) included. */
export function internetChecksum(bytes: Uint8Array, start: number, end: number, acc = 0): number {
  return finishChecksum(sumWords(bytes, start, end, acc))
}

/** The two 16-bit halves of a 32-bit value, summed (an IPv4 address in a pseudo-header). */
export const sum32 = (v: number): number => (v >>> 16) + (v & 0xffff)

/**
 * RFC 1624 equation 3, HC' = ~(~HC + ~m + m'), for two 32-bit fields changed at once (source and
 * destination address). Exact, including the 0x0000/0xffff cases, when HC was consistent.
 */
export function adjustChecksum32x2(checksum: number, old1: number, new1: number, old2: number, new2: number): number {
  const sum = (~checksum & 0xffff)
    + (~(old1 >>> 16) & 0xffff) + (~old1 & 0xffff) + sum32(new1 >>> 0)
    + (~(old2 >>> 16) & 0xffff) + (~old2 & 0xffff) + sum32(new2 >>> 0)
  return ~foldSum(sum) & 0xffff
}
