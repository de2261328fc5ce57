/**
 * What the handshake needs from cryptography, injected so the core stays pure and testable:
 * the two KEMs, X25519 and the zero-nonce AEAD. Adapters live in src/crypto/.
 */
import type {Kem} from '../crypto/interfaces.js'

export interface DhKeyPair {
  publicKey: Uint8Array
  secretKey: Uint8Array
}

export interface HandshakeCrypto {
  /** Static KEM: mceliece6960119. */
  skem: Kem
  /** Ephemeral KEM: sntrup761. */
  ekem: Kem
  /** Fresh X25519 key pair. */
  dhKeypair(): DhKeyPair
  /** Raw X25519; undefined for an all-zero result (a malicious public key). */
  dh(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array | undefined
  /** ChaCha20-Poly1305-IETF, all-zero nonce: ciphertext || tag. */
  seal(key: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): Uint8Array
  /** Undefined when the tag does not verify. */
  open(key: Uint8Array, ad: Uint8Array, box: Uint8Array): Uint8Array | undefined
}

/** The three outputs both sides derive: KDF(3, CS, HS). */
export interface SessionSecrets {
  tid: Uint8Array
  /** Root of the client-to-server direction. */
  tI: Uint8Array
  /** Root of the server-to-client direction. */
  tR: Uint8Array
}
