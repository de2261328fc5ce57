/**
 * DNSCurve base32 (pq1-protocol.md section 2.1): alphabet 0-9 b-z without a, e, i, o; the byte
 * string is one little-endian integer emitted 5 bits at a time from its least significant end.
 * Decoding never throws: it returns undefined for a bad character or a value that overflows.
 */

const ALPHABET = '0123456789bcdfghjklmnpqrstuvwxyz'
const VALUE: Int8Array = (() => {
  const t = new Int8Array(128).fill(-1)
  for (let i = 0; i < ALPHABET.length; i++) {
    t[ALPHABET.charCodeAt(i)] = i
    t[ALPHABET.toUpperCase().charCodeAt(i)] = i
  }
  return t
})()

/** Length of the encoding of n bytes: ceil(8n/5). */
export function base32Length(nBytes: number): number {
  return Math.ceil((8 * nBytes) / 5)
}

export function base32Encode(bytes: Uint8Array): string {
  let out = ''
  let acc = 0
  let bits = 0
  for (const b of bytes) {
    acc |= b << bits
    bits += 8
    while (bits >= 5) {
      out += ALPHABET[acc & 31]
      acc >>>= 5
      bits -= 5
    }
  }
  if (bits > 0) out += ALPHABET[acc & 31]
  return out
}

/**
 * Decode to floor(5*len/8) bytes. Case-insensitive. Returns undefined for a character outside the
 * alphabet or when the value does not fit (the top character carries bits beyond the last byte).
 */
export function base32Decode(text: string): Uint8Array | undefined {
  const nBytes = Math.floor((5 * text.length) / 8)
  const out = new Uint8Array(nBytes)
  let acc = 0
  let bits = 0
  let j = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    const v = c < 128 ? VALUE[c]! : -1
    if (v < 0) return undefined
    acc |= v << bits
    bits += 5
    if (bits >= 8) {
      if (j >= nBytes) return undefined
      out[j++] = acc & 0xff
      acc >>>= 8
      bits -= 8
    }
  }
  // Leftover bits beyond the last whole byte must be zero, else the integer overflows.
  if (acc !== 0) return undefined
  return out
}
