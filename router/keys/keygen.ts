/**
 * Long-term server key generation (pq1-protocol.md section 9.1): a Classic McEliece 6960119 key
 * pair (seconds of CPU), an X25519 key pair and the 32-byte cookie master `session_key`.
 */
import type {Kem, Rng} from '../../src/crypto/interfaces.js'
import {SESSION_KEY_BYTES} from '../../src/constants.js'
import type {ServerKeyFiles} from './keydir.js'

export interface KeygenCrypto {
  skem: Kem
  dhKeypair(): {publicKey: Uint8Array; secretKey: Uint8Array}
  rng: Rng
}

export async function generateServerKeys(crypto: KeygenCrypto): Promise<ServerKeyFiles> {
  const mc = await crypto.skem.keypair()
  const dh = crypto.dhKeypair()
  const sessionKey = Buffer.alloc(SESSION_KEY_BYTES)
  crypto.rng(sessionKey)
  const b = (u: Uint8Array): Buffer => (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.length))
  return {
    mceliecePk: b(mc.publicKey),
    mcelieceSk: b(mc.secretKey),
    x25519Pk: b(dh.publicKey),
    x25519Sk: b(dh.secretKey),
    sessionKey,
  }
}
