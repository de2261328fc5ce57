/**
 * The client side of the pq1 0-RTT handshake (pq1-protocol.md section 6.2), step for step.
 * The comments name each step of the spec; the order of the KDF inputs is part of the wire format.
 */
import {shake256} from '../crypto/hash.js'
import type {KemEncapsulation} from '../crypto/interfaces.js'
import {kdf} from '../crypto/kdf.js'
import {wipe} from '../crypto/wipe.js'
import {LocalError, RemoteError} from '../errors.js'
import {encodeInitiation} from '../wire/initiation.js'
import type {HandshakeCrypto, SessionSecrets} from './crypto.js'

/** What the client knows about the server before it initiates. */
export interface ServerKeys {
  /** A static McEliece encapsulation to the server's long-term key (a prekey); consumed (wiped). */
  prekey: KemEncapsulation
  /** Server's long-term X25519 public key (last 32 bytes of the Merkle leaves). */
  staticX25519: Uint8Array
  /** The ephemeral keys of the current 30 s slot, from the key server. */
  ephemeralSntrup: Uint8Array
  ephemeralX25519: Uint8Array
}

export interface CreatedInitiation {
  /** The 1299-byte message to send to the crypto port. */
  message: Buffer
  secrets: SessionSecrets
}

/** Ratchet the cipher state: CS := KDF(1, CS, x)[0], wiping the old CS and x. */
export function mix(cs: Uint8Array, x: Uint8Array): Uint8Array {
  const [next] = kdf(1, cs, x)
  wipe(cs, x)
  return next!
}

/** Final step of both sides: (tid, T_i, T_r) := KDF(3, CS, HS), wiping CS. */
export function split(cs: Uint8Array, hs: Uint8Array): SessionSecrets {
  const [tid, tI, tR] = kdf(3, cs, hs)
  wipe(cs)
  return {tid: tid!, tI: tI!, tR: tR!}
}

export async function createInitiation(crypto: HandshakeCrypto, server: ServerKeys): Promise<CreatedInitiation> {
  const {prekey} = server
  if (prekey.ciphertext.length !== crypto.skem.ciphertextBytes) throw new LocalError('PQC_ERR_ARGUMENT', 'prekey ciphertext has the wrong length')
  const eph = crypto.dhKeypair()
  try {
    // CS := k0; HS := c0
    let cs: Uint8Array = Buffer.from(prekey.key)
    wipe(prekey.key)
    const c0 = prekey.ciphertext
    // (c1, tag1) := AEAD(CS, 0, ad = HS, epk_i); HS := H(HS || c1 || tag1)
    const box1 = crypto.seal(cs, c0, eph.publicKey)
    let hs = shake256(c0, box1)
    // CS := KDF(1, CS, X25519(esk_i, S)): static DH
    const dhS = crypto.dh(eph.secretKey, server.staticX25519)
    // CS := KDF(1, CS, X25519(esk_i, Ex)): ephemeral DH
    const dhE = crypto.dh(eph.secretKey, server.ephemeralX25519)
    if (dhS === undefined || dhE === undefined) {
      wipe(cs, dhS, dhE)
      throw new RemoteError('PQC_ERR_KEY_INVALID', 'server X25519 key gives an all-zero shared secret')
    }
    cs = mix(cs, dhS)
    cs = mix(cs, dhE)
    // (c2, k3) := sntrup761.Enc(Esn); (c3, tag3) := AEAD(CS, 0, ad = HS, c2)
    const {ciphertext: c2, key: k3} = await crypto.ekem.encapsulate(server.ephemeralSntrup)
    const box3 = crypto.seal(cs, hs, c2)
    // CS := KDF(1, CS, k3); HS := H(HS || c3 || tag3)
    cs = mix(cs, k3)
    hs = shake256(hs, box3)
    const secrets = split(cs, hs)
    return {message: encodeInitiation({c0, box1, box3}), secrets}
  } finally {
    wipe(eph.secretKey)
  }
}
