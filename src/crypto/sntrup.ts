/**
 * Streamlined NTRU Prime sntrup761 as a `Kem`: the ephemeral KEM ("ekem") of pq1-protocol.md
 * section 6.1, the same scheme as libntruprime and OpenSSH. The only sntrup761 on npm is
 * @oqs/liboqs-js (liboqs in WASM); it matches OpenSSH's code on test/vectors/sntrup761.json.
 * Owns: loading the WASM module once, length checks, and the Uint8Array shape liboqs-js wants.
 */
import {KEM_KEY_BYTES, SNTRUP_CT_BYTES, SNTRUP_PK_BYTES, SNTRUP_SK_BYTES} from '../constants.js'
import {LocalError} from '../errors.js'
import type {Kem, KemEncapsulation, KemKeyPair} from './interfaces.js'
import {asPlainUint8Array, checkLength} from './kem-util.js'

type Sntrup761 = Awaited<ReturnType<typeof import('@oqs/liboqs-js').createSntrup761>>

let instance: Promise<Sntrup761> | undefined

/** One WASM instance for the process, created on first use. */
function load(): Promise<Sntrup761> {
  instance ??= import('@oqs/liboqs-js').then(async ({createSntrup761}) => {
    const lib = await createSntrup761()
    const size = lib.info.keySize
    if (size.publicKey !== SNTRUP_PK_BYTES || size.secretKey !== SNTRUP_SK_BYTES
      || size.ciphertext !== SNTRUP_CT_BYTES || size.sharedSecret !== KEM_KEY_BYTES) {
      throw new LocalError('PQC_ERR_CRYPTO', 'liboqs-js: sntrup761 sizes differ from pq1 (section 6.1)')
    }
    return lib
  })
  return instance
}

/**
 * sntrup761. Every call is synchronous WASM on the caller's thread, wrapped in a promise for the
 * `Kem` shape: keypair about 15 ms, encapsulate 0.6 ms, decapsulate 1.5 ms here (kem-timings.ts).
 * Decapsulation never fails for a well-sized ciphertext (implicit rejection). Wrong sizes are
 * caller bugs and throw a LocalError. Randomness comes from the OS (node:crypto) inside the glue.
 * liboqs-js copies keys into WASM memory and frees them without zeroing; outside our reach.
 */
export const sntrup761: Kem = {
  name: 'sntrup761',
  publicKeyBytes: SNTRUP_PK_BYTES,
  secretKeyBytes: SNTRUP_SK_BYTES,
  ciphertextBytes: SNTRUP_CT_BYTES,

  async keypair(): Promise<KemKeyPair> {
    return (await load()).generateKeyPair()
  },

  async encapsulate(publicKey: Uint8Array): Promise<KemEncapsulation> {
    checkLength(publicKey, SNTRUP_PK_BYTES, 'sntrup761 public key')
    const e = (await load()).encapsulate(asPlainUint8Array(publicKey))
    return {ciphertext: e.ciphertext, key: e.sharedSecret}
  },

  async decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Promise<Uint8Array> {
    checkLength(ciphertext, SNTRUP_CT_BYTES, 'sntrup761 ciphertext')
    checkLength(secretKey, SNTRUP_SK_BYTES, 'sntrup761 secret key')
    return (await load()).decapsulate(asPlainUint8Array(ciphertext), asPlainUint8Array(secretKey))
  },
}
