/**
 * ChaCha20-Poly1305-IETF (RFC 8439) with detached 16-byte tags, from libsodium through
 * sodium-native (pq1-protocol.md section 6.1). The handshake and the tunnel use the all-zero
 * 12-byte nonce because every key seals exactly one message (sections 6.1, 6.2, 7.3); cookies
 * pass a counter nonce. The *Into forms write into caller-provided buffers (the per-packet path).
 * `chacha20Poly1305` is the same as the `Aead` of interfaces.ts (ciphertext || tag in one buffer).
 * Opening returns undefined/false on any authentication failure and never throws for wire input.
 */
import sodium from 'sodium-native'

import {KLEN, NLEN, TAGLEN} from '../constants.js'
import {LocalError} from '../errors.js'
import type {Aead} from './interfaces.js'

/** Module-private so nobody can mutate it; omit the nonce argument to use it. */
const ZERO_NONCE = new Uint8Array(NLEN)

export interface Sealed {
  ciphertext: Buffer
  tag: Buffer
}

function checkKeyNonce(key: Uint8Array, nonce: Uint8Array): void {
  if (key.length !== KLEN) throw new LocalError('PQC_ERR_ARGUMENT', `AEAD key must be ${KLEN} bytes`)
  if (nonce.length !== NLEN) throw new LocalError('PQC_ERR_ARGUMENT', `AEAD nonce must be ${NLEN} bytes`)
}

/**
 * Encrypt `plaintext` into `out` (same length; `out` may be `plaintext` itself, but must not
 * overlap it partially) and write the tag into `tag` (16 bytes). `ad` is the associated data.
 */
export function sealInto(out: Uint8Array, tag: Uint8Array, key: Uint8Array, plaintext: Uint8Array,
  ad: Uint8Array | null, nonce: Uint8Array = ZERO_NONCE): void {
  checkKeyNonce(key, nonce)
  if (out.length !== plaintext.length) throw new LocalError('PQC_ERR_ARGUMENT', 'AEAD output must be as long as the plaintext')
  if (tag.length !== TAGLEN) throw new LocalError('PQC_ERR_ARGUMENT', `AEAD tag buffer must be ${TAGLEN} bytes`)
  sodium.crypto_aead_chacha20poly1305_ietf_encrypt_detached(out, tag, plaintext, ad, null, nonce, key)
}

/** Encrypt into fresh buffers. */
export function seal(key: Uint8Array, plaintext: Uint8Array, ad: Uint8Array | null, nonce: Uint8Array = ZERO_NONCE): Sealed {
  const ciphertext = Buffer.alloc(plaintext.length)
  const tag = Buffer.alloc(TAGLEN)
  sealInto(ciphertext, tag, key, plaintext, ad, nonce)
  return {ciphertext, tag}
}

/**
 * Verify `tag` and decrypt `ciphertext` into `out` (same length; may be `ciphertext` itself).
 * Returns false if the tag is wrong or not 16 bytes long; libsodium then zeroes `out`, so an
 * in-place open of a forged datagram destroys it (it is dropped anyway, section 7.5).
 */
export function openInto(out: Uint8Array, key: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array,
  ad: Uint8Array | null, nonce: Uint8Array = ZERO_NONCE): boolean {
  checkKeyNonce(key, nonce)
  if (out.length !== ciphertext.length) throw new LocalError('PQC_ERR_ARGUMENT', 'AEAD output must be as long as the ciphertext')
  if (tag.length !== TAGLEN) {
    out.fill(0)
    return false
  }
  try {
    sodium.crypto_aead_chacha20poly1305_ietf_decrypt_detached(out, null, ciphertext, tag, ad, nonce, key)
    return true
  } catch {
    // sodium-native throws exactly when libsodium returns -1: the tag did not verify.
    return false
  }
}

/** Verify and decrypt into a fresh buffer; undefined if the message is not authentic. */
export function open(key: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array, ad: Uint8Array | null,
  nonce: Uint8Array = ZERO_NONCE): Buffer | undefined {
  const plaintext = Buffer.alloc(ciphertext.length)
  return openInto(plaintext, key, ciphertext, tag, ad, nonce) ? plaintext : undefined
}

/**
 * The `Aead` of interfaces.ts: zero nonce, `sealed` = ciphertext || tag. sealInto's `out` is
 * plaintext.length + 16 bytes and may hold the plaintext in its first bytes (in place); a sealed
 * message shorter than a tag, or an `out` of the wrong size for it, opens to undefined/false.
 */
function sealCombinedInto(out: Uint8Array, key: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): void {
  const n = plaintext.length
  if (out.length !== n + TAGLEN) throw new LocalError('PQC_ERR_ARGUMENT', 'AEAD output must be plaintext length + 16 bytes')
  sealInto(out.subarray(0, n), out.subarray(n), key, plaintext, ad)
}

function openCombinedInto(out: Uint8Array, key: Uint8Array, ad: Uint8Array, sealed: Uint8Array): boolean {
  const n = sealed.length - TAGLEN
  if (n < 0 || out.length !== n) return false
  return openInto(out, key, sealed.subarray(0, n), sealed.subarray(n), ad)
}

export const chacha20Poly1305: Aead = {
  seal(key, ad, plaintext) {
    const out = Buffer.alloc(plaintext.length + TAGLEN)
    sealCombinedInto(out, key, ad, plaintext)
    return out
  },
  open(key, ad, sealed) {
    if (sealed.length < TAGLEN) return undefined
    const out = Buffer.alloc(sealed.length - TAGLEN)
    return openCombinedInto(out, key, ad, sealed) ? out : undefined
  },
  sealInto: sealCombinedInto,
  openInto: openCombinedInto,
}
