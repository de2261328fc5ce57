/**
 * The small interfaces through which the protocol core uses cryptography. Adapters in this folder
 * implement them with maintained libraries (never our own primitives); tests may inject doubles.
 * All byte arrays handed out are owned by the caller, who wipes secrets after use.
 */

export interface KemKeyPair {
  publicKey: Uint8Array
  secretKey: Uint8Array
}

export interface KemEncapsulation {
  /** Ciphertext to send. */
  ciphertext: Uint8Array
  /** 32-byte shared key (secret). */
  key: Uint8Array
}

/** A key-encapsulation mechanism with implicit rejection (decapsulation never fails). */
export interface Kem {
  readonly name: string
  readonly publicKeyBytes: number
  readonly secretKeyBytes: number
  readonly ciphertextBytes: number
  keypair(): Promise<KemKeyPair>
  encapsulate(publicKey: Uint8Array): Promise<KemEncapsulation>
  decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Promise<Uint8Array>
}

/** Source of randomness; the core never reaches for a global one. */
export type Rng = (out: Uint8Array) => void

/**
 * ChaCha20-Poly1305-IETF as pq1 uses it (pq1-protocol.md section 7.3): the nonce is always the
 * all-zero 12 bytes, which is safe only because every key seals exactly one message.
 */
export interface Aead {
  /** Returns ciphertext || 16-byte tag (a new buffer). */
  seal(key: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): Uint8Array
  /** Returns the plaintext, or undefined when the tag does not verify; never throws on bad input. */
  open(key: Uint8Array, ad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined
  /**
   * Optional allocation-free forms for the per-packet path: `out` has exactly
   * plaintext.length + 16 bytes (sealInto; plaintext may be out's own first bytes, in place) or
   * sealed.length - 16 bytes (openInto, which returns false when the tag does not verify).
   */
  sealInto?(out: Uint8Array, key: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): void
  openInto?(out: Uint8Array, key: Uint8Array, ad: Uint8Array, sealed: Uint8Array): boolean
}
