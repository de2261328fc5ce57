// The subset of pqclean (PQClean as a native N-API addon) that src/crypto/mceliece.ts uses: the
// "classic" KEM class, whose callback forms run on the libuv thread pool. No types are shipped.
declare module 'pqclean' {
  type Callback<T> = (err: Error | null, result: T) => void
  export class KEM {
    constructor(algorithm: string)
    static readonly supportedAlgorithms: readonly string[]
    readonly keySize: number
    readonly encryptedKeySize: number
    readonly publicKeySize: number
    readonly privateKeySize: number
    keypair(): {publicKey: Buffer; privateKey: Buffer}
    keypair(callback: Callback<{publicKey: Buffer; privateKey: Buffer}>): undefined
    generateKey(publicKey: Uint8Array): {key: Buffer; encryptedKey: Buffer}
    generateKey(publicKey: Uint8Array, callback: Callback<{key: Buffer; encryptedKey: Buffer}>): undefined
    decryptKey(privateKey: Uint8Array, encryptedKey: Uint8Array): Buffer
    decryptKey(privateKey: Uint8Array, encryptedKey: Uint8Array, callback: Callback<Buffer>): undefined
  }
  const pqclean: {KEM: typeof KEM}
  export default pqclean
}
