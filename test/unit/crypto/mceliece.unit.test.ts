/**
 * mceliece6960119 adapters against the official NIST KAT and against each other.
 * KAT source: liboqs publishes the SHA-256 of the count = 0 entry of the NIST .rsp output
 * (tests/KATs/kem/kats.json, "Classic-McEliece-6960119".single). liboqs-js has no randombytes
 * switch, but its WASM draws randomness through node:crypto's randomFillSync, so we feed it the
 * NIST AES-256 CTR_DRBG and regenerate that entry exactly. The native builds (mceliece-nist, the
 * NIST reference; pqclean) take randomness from OpenSSL / getrandom and cannot be seeded: they are
 * checked by decapsulating the KAT ciphertext and by cross-library encapsulation.
 */
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'node:test'

import {MCELIECE_CT_BYTES, MCELIECE_PK_BYTES, MCELIECE_PK_ROW_BYTES, MCELIECE_PK_ROWS, MCELIECE_SK_BYTES} from '../../../src/constants.js'
import {LocalError, RemoteError} from '../../../src/errors.js'
import type {KemKeyPair} from '../../../src/crypto/interfaces.js'
import {
  createMcElieceKem, isMcEliecePublicKeyWellFormed, mceliece6960119, MCELIECE_DEFAULT_BACKEND, type McElieceBackend,
} from '../../../src/crypto/mceliece.js'
import {hex, unhex} from '../../helpers/hex.js'
import {REPO_ROOT} from '../../helpers/repo.js'
import {NistKatDrbg, drbgChunkSource, katRspCount0, katSeed0, withLiboqsRandomness} from './kat-randomness.js'

/** liboqs tests/KATs/kem/kats.json, "Classic-McEliece-6960119".single. */
const LIBOQS_KAT_SINGLE_SHA256 = '8feea532732502134b7965fd495e6618b09f0b4747c2d94b29a85a90a0b6cc8a'

interface KatFile {seed: string; pk_sha256: string; sk: string; ct: string; ss: string; rsp_sha256: string}
const KAT = JSON.parse(readFileSync(join(REPO_ROOT, 'test/vectors/mceliece6960119-kat0.json'), 'utf8')) as KatFile
const SK = unhex(KAT.sk)
const CT = unhex(KAT.ct)

const BACKENDS: McElieceBackend[] = ['mceliece-nist', 'pqclean', 'liboqs']
const kems = BACKENDS.map((b) => createMcElieceKem(b))
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** sk = delta (32) || c (8, little-endian) || ...; round 4 sets c = 2^32 - 1 unless "f". */
const NON_F_PIVOTS = 'ffffffff00000000'

test('the committed vector is the published KAT entry (sizes, rsp hash, non-"f" sk)', () => {
  assert.equal(KAT.rsp_sha256, LIBOQS_KAT_SINGLE_SHA256)
  assert.equal(hex(SK.subarray(32, 40)), NON_F_PIVOTS)
  assert.equal(SK.length, MCELIECE_SK_BYTES)
  assert.equal(CT.length, MCELIECE_CT_BYTES)
  assert.equal(hex(katSeed0()), KAT.seed)
})

test('every library decapsulates the NIST KAT ciphertext (count 0) to the KAT key', async () => {
  for (const kem of kems) assert.equal(hex(await kem.decapsulate(CT, SK)), KAT.ss, kem.backend)
})

let katKeys: KemKeyPair | undefined

test('liboqs-js regenerates the official NIST KAT entry byte for byte (liboqs kats.json)', async () => {
  const liboqs = kems[2]!
  await liboqs.decapsulate(CT, SK) // load the WASM module outside the seeded window
  const seed = katSeed0()
  const drbg = new NistKatDrbg(seed)
  const {kp, e} = await withLiboqsRandomness(drbgChunkSource(drbg), async () => {
    const kp = await liboqs.keypair()
    return {kp, e: await liboqs.encapsulate(kp.publicKey)}
  })
  const rsp = katRspCount0(seed, kp.publicKey, kp.secretKey, e.ciphertext, e.key)
  assert.equal(sha256(Buffer.from(rsp)), LIBOQS_KAT_SINGLE_SHA256)
  assert.equal(kp.publicKey.length, MCELIECE_PK_BYTES)
  assert.equal(sha256(kp.publicKey), KAT.pk_sha256)
  assert.equal(hex(kp.secretKey), KAT.sk)
  assert.equal(hex(e.ciphertext), KAT.ct)
  assert.equal(hex(e.key), KAT.ss)
  katKeys = kp
})

test('every library encapsulates to the KAT public key and every library decapsulates', async () => {
  assert.ok(katKeys, 'needs the KAT key pair of the previous test')
  assert.equal(isMcEliecePublicKeyWellFormed(katKeys.publicKey), true)
  for (const enc of kems) {
    const e = await enc.encapsulate(katKeys.publicKey)
    assert.equal(e.ciphertext.length, MCELIECE_CT_BYTES)
    for (const dec of kems) assert.equal(hex(await dec.decapsulate(e.ciphertext, SK)), hex(e.key), `${enc.backend} -> ${dec.backend}`)
  }
})

test('native key pairs work with every library; keypair and decapsulate leave the event loop', async () => {
  for (const gen of kems.filter((k) => k.backend !== 'liboqs')) {
    let immediateRan = false
    setImmediate(() => { immediateRan = true })
    const kp = await gen.keypair()
    assert.ok(immediateRan, `${gen.backend} keypair ran on the thread pool`)
    assert.equal(kp.publicKey.length, MCELIECE_PK_BYTES)
    assert.equal(kp.secretKey.length, MCELIECE_SK_BYTES)
    // Non-"f" key generation: the pivot word c of sk (bytes 32..39) is 2^32 - 1, as in the KAT.
    assert.equal(hex(kp.secretKey.subarray(32, 40)), NON_F_PIVOTS)
    for (const enc of kems) {
      const e = await enc.encapsulate(kp.publicKey)
      for (const dec of kems) {
        immediateRan = false
        setImmediate(() => { immediateRan = true })
        assert.equal(hex(await dec.decapsulate(e.ciphertext, kp.secretKey)), hex(e.key), `${gen.backend}: ${enc.backend} -> ${dec.backend}`)
        if (dec.backend !== 'liboqs') assert.ok(immediateRan, `${dec.backend} decapsulate ran on the thread pool`)
      }
    }
  }
})

test('implicit rejection: a modified ciphertext gives another key, the same in every library, every time', async () => {
  const flips: Array<[number, number]> = [[0, 0x01], [97, 0x80], [MCELIECE_CT_BYTES - 1, 0x04]] // last: a data bit, not padding
  const seen = new Set<string>([KAT.ss])
  for (const [at, mask] of flips) {
    const ct = Buffer.from(CT)
    ct[at]! ^= mask
    const keys = await Promise.all(kems.map((k) => k.decapsulate(ct, SK)))
    const again = await kems[0]!.decapsulate(ct, SK)
    for (const key of keys) assert.equal(hex(key), hex(keys[0]!), `byte ${at}`)
    assert.equal(hex(again), hex(keys[0]!))
    assert.equal(keys[0]!.length, 32)
    assert.ok(!seen.has(hex(keys[0]!)), `byte ${at}: a fresh key`)
    seen.add(hex(keys[0]!))
  }
})

test('padding bits set: no exception, a random key unrelated to the padding-free ciphertext', async () => {
  const ct = Buffer.from(CT)
  ct[MCELIECE_CT_BYTES - 1]! |= 0x80
  for (const kem of kems) {
    const k1 = await kem.decapsulate(ct, SK)
    const k2 = await kem.decapsulate(ct, SK)
    assert.equal(k1.length, 32)
    assert.notEqual(hex(k1), KAT.ss)
    assert.notEqual(hex(k1), hex(k2), 'fresh randomness, not a key the sender could know')
    assert.notEqual(hex(k1), '00'.repeat(32))
  }
})

test('wrong sizes are caller bugs: LocalError, before any library call', async () => {
  const kem = mceliece6960119
  assert.equal(kem.backend, MCELIECE_DEFAULT_BACKEND)
  assert.equal(kem.name, 'mceliece6960119')
  assert.deepEqual([kem.publicKeyBytes, kem.secretKeyBytes, kem.ciphertextBytes], [MCELIECE_PK_BYTES, MCELIECE_SK_BYTES, MCELIECE_CT_BYTES])
  await assert.rejects(kem.decapsulate(CT.subarray(1), SK), LocalError)
  await assert.rejects(kem.decapsulate(CT, SK.subarray(1)), LocalError)
  await assert.rejects(kem.encapsulate(new Uint8Array(MCELIECE_PK_BYTES - 1)), LocalError)
})

test('plain Uint8Array and Buffer views at an offset are accepted by every library', async () => {
  const backing = new Uint8Array(3 + MCELIECE_SK_BYTES + MCELIECE_CT_BYTES)
  backing.set(SK, 3)
  backing.set(CT, 3 + MCELIECE_SK_BYTES)
  const sk = backing.subarray(3, 3 + MCELIECE_SK_BYTES)
  const ct = backing.subarray(3 + MCELIECE_SK_BYTES)
  for (const kem of kems) assert.equal(hex(await kem.decapsulate(ct, sk)), KAT.ss, kem.backend)
})

test('a public key with padding bits set is malformed: encapsulation rejects with RemoteError', async () => {
  assert.ok(katKeys, 'needs the KAT key pair')
  for (const [row, bit] of [[0, 0x80], [MCELIECE_PK_ROWS - 1, 0x20], [700, 0x40]] as const) {
    const pk: Buffer = Buffer.from(katKeys.publicKey)
    pk[(row + 1) * MCELIECE_PK_ROW_BYTES - 1]! |= bit
    assert.equal(isMcEliecePublicKeyWellFormed(pk), false, `row ${row}`)
    for (const kem of kems) await assert.rejects(kem.encapsulate(pk), RemoteError, `${kem.backend} row ${row}`)
  }
  const dataBit = Buffer.from(katKeys.publicKey)
  dataBit[MCELIECE_PK_ROW_BYTES - 1]! ^= 0x10 // the last data bit of row 0: still well formed
  assert.equal(isMcEliecePublicKeyWellFormed(dataBit), true)
  assert.equal(isMcEliecePublicKeyWellFormed(dataBit.subarray(1)), false)
  // The check matches the libraries: with our check bypassed, they refuse the malformed key.
  const {McEliece} = await import('mceliece-nist')
  const bad = Buffer.from(katKeys.publicKey)
  bad[MCELIECE_PK_ROW_BYTES - 1]! |= 0x80
  assert.throws(() => new McEliece('mceliece6960119').generateKey(bad))
})
