/**
 * The pq1 AEAD (ChaCha20-Poly1305-IETF, zero nonce) for tests, straight from sodium-native, so
 * session tests do not depend on the production adapter in src/crypto/aead.ts.
 */
import sodium from 'sodium-native'

import type {Aead} from '../../src/crypto/interfaces.js'

const TAG = 16
const NONCE = new Uint8Array(12)

function sealInto(out: Uint8Array, key: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): void {
  const n = out.length - TAG
  sodium.crypto_aead_chacha20poly1305_ietf_encrypt_detached(out.subarray(0, n), out.subarray(n), plaintext, ad, null, NONCE, key)
}

function openInto(out: Uint8Array, key: Uint8Array, ad: Uint8Array, sealed: Uint8Array): boolean {
  if (sealed.length < TAG || out.length !== sealed.length - TAG) return false
  const n = sealed.length - TAG
  try {
    sodium.crypto_aead_chacha20poly1305_ietf_decrypt_detached(out, null, sealed.subarray(0, n), sealed.subarray(n), ad, NONCE, key)
    return true
  } catch {
    return false
  }
}

export const testAead: Aead = {
  seal(key, ad, plaintext) {
    const out = new Uint8Array(plaintext.length + TAG)
    sealInto(out, key, ad, plaintext)
    return out
  },
  open(key, ad, sealed) {
    if (sealed.length < TAG) return undefined
    const out = new Uint8Array(sealed.length - TAG)
    return openInto(out, key, ad, sealed) ? out : undefined
  },
  sealInto,
  openInto,
}

/** The same AEAD without the *Into methods, to exercise the allocating fallback path. */
export const testAeadAllocating: Aead = {seal: testAead.seal, open: testAead.open}
