// The subset of sodium-native (libsodium) that pqc uses; sodium-native ships no types of its own.
declare module 'sodium-native' {
  type Bytes = Uint8Array
  const sodium: {
    crypto_stream_chacha20_ietf_xor_ic(c: Bytes, m: Bytes, n: Bytes, ic: number, k: Bytes): void
    crypto_aead_chacha20poly1305_ietf_encrypt_detached(c: Bytes, mac: Bytes, m: Bytes, ad: Bytes | null, nsec: null, npub: Bytes, k: Bytes): number
    crypto_aead_chacha20poly1305_ietf_decrypt_detached(m: Bytes, nsec: null, c: Bytes, mac: Bytes, ad: Bytes | null, npub: Bytes, k: Bytes): void
    crypto_aead_chacha20poly1305_ietf_encrypt(c: Bytes, m: Bytes, ad: Bytes | null, nsec: null, npub: Bytes, k: Bytes): number
    crypto_aead_chacha20poly1305_ietf_decrypt(m: Bytes, nsec: null, c: Bytes, ad: Bytes | null, npub: Bytes, k: Bytes): number
    crypto_scalarmult(q: Bytes, n: Bytes, p: Bytes): void
    crypto_scalarmult_base(q: Bytes, n: Bytes): void
    randombytes_buf(buf: Bytes): void
    sodium_memzero(buf: Bytes): void
    sodium_malloc(size: number): Buffer
    crypto_aead_chacha20poly1305_ietf_ABYTES: number
  }
  export default sodium
}
