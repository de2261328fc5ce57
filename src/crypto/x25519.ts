/**
 * X25519 of pq1 (pq1-protocol.md section 6.1, "DH"; section 6.2 uses it twice per handshake):
 * 32-byte raw secret keys (random bytes; clamping happens inside the scalar multiplication),
 * 32-byte public keys and the raw 32-byte shared output, no hashing. libsodium crypto_scalarmult.
 * One deliberate difference from the reference (which does no check): an all-zero shared output,
 * i.e. a low-order public key from the peer, is reported to the caller as failure (undefined).
 */
import sodium from 'sodium-native'

import {X25519_BYTES} from '../constants.js'
import {LocalError} from '../errors.js'
import type {Rng} from './interfaces.js'

export interface X25519KeyPair {
  publicKey: Buffer
  /** Secret: the caller wipes it (wipe.ts) when done. */
  secretKey: Buffer
}

function check(bytes: Uint8Array, what: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== X25519_BYTES) {
    throw new LocalError('PQC_ERR_ARGUMENT', `X25519 ${what} must be ${X25519_BYTES} bytes`)
  }
}

/** The public key X25519(secretKey, 9) of a 32-byte secret key. */
export function x25519PublicKey(secretKey: Uint8Array): Buffer {
  check(secretKey, 'secret key')
  const publicKey = Buffer.alloc(X25519_BYTES)
  sodium.crypto_scalarmult_base(publicKey, secretKey)
  return publicKey
}

/** A fresh key pair; the secret key is 32 bytes from `rng`, used as is (pq1 section 6.1). */
export function x25519Keypair(rng: Rng): X25519KeyPair {
  const secretKey = Buffer.alloc(X25519_BYTES)
  rng(secretKey)
  return {publicKey: x25519PublicKey(secretKey), secretKey}
}

/**
 * Write X25519(secretKey, publicKey) into `out` (32 bytes). Returns false, with `out` zeroed, when
 * the result is all zero (the peer's key has low order); never throws for any 32-byte public key.
 */
export function x25519Into(out: Uint8Array, secretKey: Uint8Array, publicKey: Uint8Array): boolean {
  check(out, 'output')
  check(secretKey, 'secret key')
  check(publicKey, 'public key')
  try {
    // libsodium returns -1 (sodium-native throws) exactly when the output is all zero.
    sodium.crypto_scalarmult(out, secretKey, publicKey)
    return true
  } catch {
    out.fill(0)
    return false
  }
}

/** The raw shared secret X25519(secretKey, publicKey), or undefined if it is all zero. */
export function x25519(secretKey: Uint8Array, publicKey: Uint8Array): Buffer | undefined {
  const out = Buffer.alloc(X25519_BYTES)
  return x25519Into(out, secretKey, publicKey) ? out : undefined
}
