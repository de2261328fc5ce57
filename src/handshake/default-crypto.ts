/**
 * The production HandshakeCrypto: mceliece6960119 and sntrup761 from maintained libraries,
 * X25519 and ChaCha20-Poly1305 from libsodium (see src/crypto/ for the adapters and their KATs).
 */
import {chacha20Poly1305} from '../crypto/aead.js'
import type {Rng} from '../crypto/interfaces.js'
import {mceliece6960119} from '../crypto/mceliece.js'
import {sntrup761} from '../crypto/sntrup.js'
import {x25519, x25519Keypair} from '../crypto/x25519.js'
import type {HandshakeCrypto} from './crypto.js'

export function defaultHandshakeCrypto(rng: Rng): HandshakeCrypto {
  return {
    skem: mceliece6960119,
    ekem: sntrup761,
    dhKeypair: () => x25519Keypair(rng),
    dh: x25519,
    seal: (key, ad, plaintext) => chacha20Poly1305.seal(key, ad, plaintext),
    open: (key, ad, box) => chacha20Poly1305.open(key, ad, box),
  }
}
