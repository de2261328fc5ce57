// The subset of mceliece-nist (NIST round-4 reference implementation of Classic McEliece, native
// N-API addon) that src/crypto/mceliece.ts uses; the package ships no types of its own.
declare module 'mceliece-nist' {
  type Callback<T> = (err: Error | null, result: T) => void
  export class McEliece {
    constructor(algorithm: string)
    static readonly supportedAlgorithms: readonly string[]
    readonly keySize: number
    readonly encryptedKeySize: number
    readonly publicKeySize: number
    readonly privateKeySize: number
    keypair(): {publicKey: Buffer; privateKey: Buffer}
    keypair(callback: Callback<{publicKey: Buffer; privateKey: Buffer}>): undefined
    generateKey(publicKey: Uint8Array): {key: Buffer; encryptedKey: Buffer}
    decryptKey(privateKey: Uint8Array, encryptedKey: Uint8Array): Buffer
    decryptKey(privateKey: Uint8Array, encryptedKey: Uint8Array, callback: Callback<Buffer>): undefined
  }
}
