/**
 * sntrup761 adapter against test/vectors/sntrup761.json (generated with OpenSSH's sntrup761.c,
 * randomness from a SHAKE256 stream) and against the official NIST KAT entry count = 0 whose
 * SHA-256 liboqs publishes (tests/KATs/kem/kats.json, "sntrup761".single). Both regenerate key
 * pairs and ciphertexts exactly by feeding liboqs-js's randomFillSync (see kat-randomness.ts).
 */
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'node:test'

import {SNTRUP_CT_BYTES, SNTRUP_PK_BYTES, SNTRUP_SK_BYTES} from '../../../src/constants.js'
import {LocalError} from '../../../src/errors.js'
import {sntrup761} from '../../../src/crypto/sntrup.js'
import {hex, unhex} from '../../helpers/hex.js'
import {REPO_ROOT} from '../../helpers/repo.js'
import {NistKatDrbg, ShakeStream, drbgChunkSource, katRspCount0, katSeed0, withLiboqsRandomness} from './kat-randomness.js'

/** liboqs tests/KATs/kem/kats.json, "sntrup761".single. */
const LIBOQS_KAT_SINGLE_SHA256 = 'afc42c3a5b10f4ef69654250097ebda9b9564570f4086744b24a6daf2bd1f89a'

interface Vector {i: number; pk: string; sk: string; ct: string; ss: string}
interface Rejection {sk_of: number; flipped_byte: number; flip_mask: string; ct: string; ss: string}
const FILE = JSON.parse(readFileSync(join(REPO_ROOT, 'test/vectors/sntrup761.json'), 'utf8')) as {
  sizes: Record<string, number | string>
  vectors: Vector[]
  rejection: Rejection[]
}

/** sk = f (191) || ginv (191) || pk (1158) || rho (191) || SHA512(4||pk)[0:32] (the file's sk_layout). */
const SK_PK_OFFSET = 191 + 191
/** Stream bytes per vector: keypair 3044 + 3044 + 191, encapsulation 3044 (the file's "randomness"). */
const STREAM_BYTES_PER_VECTOR = 9323

test('the vectors file has 10 vectors of the pq1 sizes', () => {
  assert.equal(FILE.vectors.length, 10)
  assert.deepEqual(FILE.vectors.map((v) => v.i), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
  for (const v of FILE.vectors) {
    assert.deepEqual([v.pk.length, v.sk.length, v.ct.length, v.ss.length].map((n) => n / 2), [SNTRUP_PK_BYTES, SNTRUP_SK_BYTES, SNTRUP_CT_BYTES, 32])
  }
})

test('decapsulate(ct, sk) == ss for all 10 vectors, and sk embeds pk', async () => {
  for (const v of FILE.vectors) {
    const sk = unhex(v.sk)
    assert.equal(hex(sk.subarray(SK_PK_OFFSET, SK_PK_OFFSET + SNTRUP_PK_BYTES)), v.pk, `vector ${v.i}: pk inside sk`)
    assert.equal(hex(await sntrup761.decapsulate(unhex(v.ct), sk)), v.ss, `vector ${v.i}`)
  }
})

test('rejection vectors: a flipped ciphertext decapsulates to the implicit-rejection key', async () => {
  assert.ok(FILE.rejection.length >= 1)
  for (const r of FILE.rejection) {
    const base = FILE.vectors[r.sk_of]!
    const ct = unhex(base.ct)
    ct[r.flipped_byte]! ^= Number(r.flip_mask)
    assert.equal(hex(ct), r.ct, 'the file describes its ciphertext')
    const key = await sntrup761.decapsulate(ct, unhex(base.sk))
    assert.equal(hex(key), r.ss)
    assert.notEqual(hex(key), base.ss)
  }
})

test('keypair and encapsulation regenerate all 10 vectors from their SHAKE256 streams', async () => {
  await sntrup761.keypair() // load the WASM module outside the seeded window
  for (const v of FILE.vectors) {
    const stream = new ShakeStream(Buffer.from(`pqc-sntrup761-kat-${v.i}`, 'ascii'), STREAM_BYTES_PER_VECTOR)
    const {kp, e} = await withLiboqsRandomness((out) => stream.read(out), async () => {
      const kp = await sntrup761.keypair()
      return {kp, e: await sntrup761.encapsulate(kp.publicKey)}
    })
    assert.equal(stream.consumed, STREAM_BYTES_PER_VECTOR, `vector ${v.i}: randomness consumed`)
    assert.equal(hex(kp.publicKey), v.pk, `vector ${v.i}: pk`)
    assert.equal(hex(kp.secretKey), v.sk, `vector ${v.i}: sk`)
    assert.equal(hex(e.ciphertext), v.ct, `vector ${v.i}: ct`)
    assert.equal(hex(e.key), v.ss, `vector ${v.i}: ss`)
  }
})

test('the official NIST KAT entry count = 0 hashes to the value liboqs publishes', async () => {
  await sntrup761.keypair()
  const seed = katSeed0()
  const drbg = new NistKatDrbg(seed)
  const {kp, e} = await withLiboqsRandomness(drbgChunkSource(drbg), async () => {
    const kp = await sntrup761.keypair()
    return {kp, e: await sntrup761.encapsulate(kp.publicKey)}
  })
  const rsp = katRspCount0(seed, kp.publicKey, kp.secretKey, e.ciphertext, e.key)
  assert.equal(createHash('sha256').update(rsp).digest('hex'), LIBOQS_KAT_SINGLE_SHA256)
  assert.equal(hex(await sntrup761.decapsulate(e.ciphertext, kp.secretKey)), hex(e.key))
})

test('fresh key pairs round-trip; Buffers and offset views are accepted', async () => {
  const kp = await sntrup761.keypair()
  assert.equal(kp.publicKey.length, SNTRUP_PK_BYTES)
  assert.equal(kp.secretKey.length, SNTRUP_SK_BYTES)
  assert.equal(hex(kp.secretKey.subarray(SK_PK_OFFSET, SK_PK_OFFSET + SNTRUP_PK_BYTES)), hex(kp.publicKey))
  const e = await sntrup761.encapsulate(Buffer.from(kp.publicKey))
  const backing = Buffer.alloc(5 + SNTRUP_CT_BYTES)
  backing.set(e.ciphertext, 5)
  assert.equal(hex(await sntrup761.decapsulate(backing.subarray(5), Buffer.from(kp.secretKey))), hex(e.key))
  const other = await sntrup761.encapsulate(kp.publicKey)
  assert.notEqual(hex(other.key), hex(e.key))
})

test('wrong sizes are caller bugs: LocalError', async () => {
  const v = FILE.vectors[0]!
  assert.equal(sntrup761.name, 'sntrup761')
  assert.deepEqual([sntrup761.publicKeyBytes, sntrup761.secretKeyBytes, sntrup761.ciphertextBytes], [SNTRUP_PK_BYTES, SNTRUP_SK_BYTES, SNTRUP_CT_BYTES])
  await assert.rejects(sntrup761.decapsulate(unhex(v.ct).subarray(1), unhex(v.sk)), LocalError)
  await assert.rejects(sntrup761.decapsulate(unhex(v.ct), unhex(v.sk).subarray(1)), LocalError)
  await assert.rejects(sntrup761.encapsulate(unhex(v.pk).subarray(1)), LocalError)
})
