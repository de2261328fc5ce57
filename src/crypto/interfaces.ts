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
