/**
 * Classic McEliece mceliece6960119 as a `Kem`: the static KEM ("skem") of pq1-protocol.md section
 * 6.1. Round-4 parameters without plaintext confirmation and the non-"f" key generation, i.e. what
 * libmceliece calls mceliece6960119. Three maintained builds of it are wrapped behind one shape;
 * they agree byte for byte with each other and with the official NIST KAT (see the unit test).
 * Owns: choosing a library, moving heavy calls off the event loop, and checking lengths.
 */
import {McEliece} from 'mceliece-nist'

import {
  KEM_KEY_BYTES, MCELIECE_CT_BYTES, MCELIECE_CT_PADDING_MASK, MCELIECE_PK_BYTES, MCELIECE_PK_PADDING_MASK, MCELIECE_PK_ROW_BYTES,
  MCELIECE_PK_ROWS, MCELIECE_SK_BYTES,
} from '../constants.js'
import {LocalError, RemoteError} from '../errors.js'
import type {Kem, KemEncapsulation, KemKeyPair} from './interfaces.js'
import {asBuffer, asPlainUint8Array, checkLength, viaCallback} from './kem-util.js'
import {systemRng} from './rng.js'

/**
 * The libraries. Where each call runs (measured numbers: test/bench/kem-timings.ts):
 * - `mceliece-nist`: the NIST round-4 reference code, native. keypair and decapsulate run on the
 *   libuv thread pool (the library's callback forms); encapsulate has no async form and runs
 *   synchronously on the caller's thread (about 1 ms).
 * - `pqclean`: PQClean's "clean" code, native. keypair, encapsulate and decapsulate all run on the
 *   libuv thread pool.
 * - `liboqs`: @oqs/liboqs-js, liboqs compiled to WASM. Every call is synchronous on the caller's
 *   thread (keypair takes seconds), so it is for cross-checks and known-answer tests only.
 * The thread pool (UV_THREADPOOL_SIZE, default 4) is shared with fs and dns.lookup and its queue
 * is unbounded: callers bound the number of decapsulations in flight (architecture.md, row KEMs).
 */
export type McElieceBackend = 'mceliece-nist' | 'pqclean' | 'liboqs'

/**
 * The faster of the two native builds here (bench, 2026-11, 2 shared cores, medians: keypair 0.51
 * vs 0.59 s, encapsulate 0.8 vs 1.3 ms, decapsulate 68 vs 78 ms against pqclean). Both pass the KAT.
 */
export const MCELIECE_DEFAULT_BACKEND: McElieceBackend = 'mceliece-nist'

const ALGORITHM = 'mceliece6960119'

export interface McElieceKem extends Kem {
  readonly backend: McElieceBackend
}

interface Ops {
  keypair(): Promise<KemKeyPair>
  encapsulate(publicKey: Uint8Array): Promise<KemEncapsulation>
  decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Promise<Uint8Array>
}

function checkSizes(lib: {publicKeySize: number; privateKeySize: number; encryptedKeySize: number; keySize: number}, name: string): void {
  if (lib.publicKeySize !== MCELIECE_PK_BYTES || lib.privateKeySize !== MCELIECE_SK_BYTES
    || lib.encryptedKeySize !== MCELIECE_CT_BYTES || lib.keySize !== KEM_KEY_BYTES) {
    throw new LocalError('PQC_ERR_CRYPTO', `${name}: ${ALGORITHM} sizes differ from pq1 (section 6.1)`)
  }
}

function mcelieceNistOps(): Ops {
  const lib = new McEliece(ALGORITHM)
  checkSizes(lib, 'mceliece-nist')
  return {
    keypair: async () => {
      const kp = await viaCallback<{publicKey: Buffer; privateKey: Buffer}>('mceliece-nist keypair', (cb) => lib.keypair(cb))
      return {publicKey: kp.publicKey, secretKey: kp.privateKey}
    },
    // Synchronous: the library offers no callback form for encapsulation (about 1 ms).
    encapsulate: async (pk) => {
      const e = lib.generateKey(asBuffer(pk))
      return {ciphertext: e.encryptedKey, key: e.key}
    },
    decapsulate: (ct, sk) => viaCallback<Buffer>('mceliece-nist decapsulate', (cb) => lib.decryptKey(asBuffer(sk), asBuffer(ct), cb)),
  }
}

async function pqcleanOps(): Promise<Ops> {
  const {default: pqclean} = await import('pqclean')
  const lib = new pqclean.KEM(ALGORITHM)
  checkSizes(lib, 'pqclean')
  return {
    keypair: async () => {
      const kp = await viaCallback<{publicKey: Buffer; privateKey: Buffer}>('pqclean keypair', (cb) => lib.keypair(cb))
      return {publicKey: kp.publicKey, secretKey: kp.privateKey}
    },
    encapsulate: async (pk) => {
      const e = await viaCallback<{key: Buffer; encryptedKey: Buffer}>('pqclean encapsulate', (cb) => lib.generateKey(asBuffer(pk), cb))
      return {ciphertext: e.encryptedKey, key: e.key}
    },
    decapsulate: (ct, sk) => viaCallback<Buffer>('pqclean decapsulate', (cb) => lib.decryptKey(asBuffer(sk), asBuffer(ct), cb)),
  }
}

async function liboqsOps(): Promise<Ops> {
  const {createClassicMcEliece6960119} = await import('@oqs/liboqs-js')
  const lib = await createClassicMcEliece6960119()
  // All synchronous WASM calls on the caller's thread. liboqs-js rejects Buffer (it checks the
  // constructor name), hence the plain Uint8Array views.
  return {
    keypair: async () => lib.generateKeyPair(),
    encapsulate: async (pk) => {
      const e = lib.encapsulate(asPlainUint8Array(pk))
      return {ciphertext: e.ciphertext, key: e.sharedSecret}
    },
    decapsulate: async (ct, sk) => lib.decapsulate(asPlainUint8Array(ct), asPlainUint8Array(sk)),
  }
}

const LOADERS: Record<McElieceBackend, () => Ops | Promise<Ops>> = {
  'mceliece-nist': mcelieceNistOps,
  pqclean: pqcleanOps,
  liboqs: liboqsOps,
}

/**
 * Whether a public key (from a server, after Merkle verification) is one the specification
 * accepts: right length and zero padding bits at the end of every row. Encapsulation to any other
 * key fails in every library, so key fetching should check this before storing a key.
 */
export function isMcEliecePublicKeyWellFormed(publicKey: Uint8Array): boolean {
  if (publicKey.length !== MCELIECE_PK_BYTES) return false
  let rowEnds = 0
  for (let row = 1; row <= MCELIECE_PK_ROWS; row++) rowEnds |= publicKey[row * MCELIECE_PK_ROW_BYTES - 1]!
  return (rowEnds & MCELIECE_PK_PADDING_MASK) === 0
}

/**
 * The answer to a ciphertext whose padding bits are set. The specification rejects it outright:
 * every library reports failure, and the reference code zeroes the key, a key the sender would
 * know. We keep the `Kem` promise (never fail) without that trap: a fresh random key, so
 * the AEAD-open that follows fails as for any forged c0 (pq1 section 6.4, step 3). It costs no
 * decapsulation, and cannot be the key of the same ciphertext with the padding cleared (which
 * would let a replayed c0 slip past a replay cache keyed by the ciphertext).
 */
function paddingRejectionKey(): Uint8Array {
  const key = Buffer.alloc(KEM_KEY_BYTES)
  systemRng(key)
  return key
}

/**
 * A `Kem` for mceliece6960119 on the chosen library, loaded on first use. Decapsulation never
 * fails for a well-sized ciphertext: a forged one yields the deterministic implicit-rejection key
 * (or, with padding bits set, the random key above). Encapsulation to a malformed public key
 * (see isMcEliecePublicKeyWellFormed) rejects with a RemoteError('PQC_ERR_KEY_INVALID'): the key
 * came from a server. Wrong sizes are caller bugs (the wire codecs fix every length): LocalError.
 * The libraries draw their randomness from the OS themselves. Native builds free their private
 * copies of the secret key without zeroing them; that is outside our reach.
 */
export function createMcElieceKem(backend: McElieceBackend = MCELIECE_DEFAULT_BACKEND): McElieceKem {
  let ops: Promise<Ops> | undefined
  const load = (): Promise<Ops> => {
    ops ??= Promise.resolve().then(LOADERS[backend])
    return ops
  }
  return {
    name: ALGORITHM,
    backend,
    publicKeyBytes: MCELIECE_PK_BYTES,
    secretKeyBytes: MCELIECE_SK_BYTES,
    ciphertextBytes: MCELIECE_CT_BYTES,
    async keypair() {
      return (await load()).keypair()
    },
    async encapsulate(publicKey) {
      checkLength(publicKey, MCELIECE_PK_BYTES, 'McEliece public key')
      if (!isMcEliecePublicKeyWellFormed(publicKey)) {
        throw new RemoteError('PQC_ERR_KEY_INVALID', 'McEliece public key has nonzero padding bits')
      }
      return (await load()).encapsulate(publicKey)
    },
    async decapsulate(ciphertext, secretKey) {
      checkLength(ciphertext, MCELIECE_CT_BYTES, 'McEliece ciphertext')
      checkLength(secretKey, MCELIECE_SK_BYTES, 'McEliece secret key')
      if ((ciphertext[MCELIECE_CT_BYTES - 1]! & MCELIECE_CT_PADDING_MASK) !== 0) return paddingRejectionKey()
      return (await load()).decapsulate(ciphertext, secretKey)
    },
  }
}

/** The McEliece the protocol uses. */
export const mceliece6960119: McElieceKem = createMcElieceKem()
