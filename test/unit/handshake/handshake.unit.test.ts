/**
 * Both sides of the pq1 handshake with real keys (mceliece6960119, sntrup761, X25519): the
 * initiation is exactly 1299 bytes and both derive the same (tid, T_i, T_r); wrong keys, tampered
 * bytes and wrong lengths derive nothing. An independent transcript (plain calls, section 6.2)
 * checks the byte layout and the order of the KDF inputs.
 */
import assert from 'node:assert/strict'
import {before, test} from 'node:test'

import {chacha20Poly1305} from '../../../src/crypto/aead.js'
import {shake256} from '../../../src/crypto/hash.js'
import {kdf} from '../../../src/crypto/kdf.js'
import type {KemKeyPair} from '../../../src/crypto/interfaces.js'
import {mceliece6960119} from '../../../src/crypto/mceliece.js'
import {systemRng} from '../../../src/crypto/rng.js'
import {sntrup761} from '../../../src/crypto/sntrup.js'
import {x25519, x25519Keypair, type X25519KeyPair} from '../../../src/crypto/x25519.js'
import {INITIATION_BYTES} from '../../../src/constants.js'
import type {DhKeyPair} from '../../../src/handshake/crypto.js'
import {defaultHandshakeCrypto} from '../../../src/handshake/default-crypto.js'
import {createInitiation} from '../../../src/handshake/initiator.js'
import {consumeInitiationEphemeral, consumeInitiationStatic, type ServerEphemeralKeys} from '../../../src/handshake/responder.js'
import {hex} from '../../helpers/hex.js'

const crypto = defaultHandshakeCrypto(systemRng)
let mc: KemKeyPair
let sx: X25519KeyPair
const eph: Array<{sn: KemKeyPair; x: X25519KeyPair}> = []

before(async () => {
  mc = await mceliece6960119.keypair()
  sx = x25519Keypair(systemRng)
  for (let i = 0; i < 3; i++) eph.push({sn: await sntrup761.keypair(), x: x25519Keypair(systemRng)})
})

const secretsOf = (e: {sn: KemKeyPair; x: X25519KeyPair}): ServerEphemeralKeys =>
  ({sntrupSecret: Buffer.from(e.sn.secretKey), x25519Secret: Buffer.from(e.x.secretKey)})

async function initiate(ephIndex: number) {
  return createInitiation(crypto, {
    prekey: await mceliece6960119.encapsulate(mc.publicKey),
    staticX25519: sx.publicKey,
    ephemeralSntrup: eph[ephIndex]!.sn.publicKey,
    ephemeralX25519: eph[ephIndex]!.x.publicKey,
  })
}

async function respond(message: Uint8Array) {
  const partial = await consumeInitiationStatic(crypto, {mcelieceSecret: mc.secretKey, x25519Secret: sx.secretKey}, message)
  if (partial === undefined) return undefined
  return consumeInitiationEphemeral(crypto, partial, eph.map(secretsOf).reverse())
}

test('initiator and responder derive the same tid, T_i and T_r from a 1299-byte initiation', async () => {
  const init = await initiate(1)
  assert.equal(init.message.length, INITIATION_BYTES)
  assert.deepEqual([...init.message.subarray(0, 2)], [1, 0])
  const got = await respond(init.message)
  assert.ok(got !== undefined)
  assert.equal(got.ephemeralIndex, 1, 'found the right one of three ephemeral keys (list is newest first)')
  assert.equal(hex(got.secrets.tid), hex(init.secrets.tid))
  assert.equal(hex(got.secrets.tI), hex(init.secrets.tI))
  assert.equal(hex(got.secrets.tR), hex(init.secrets.tR))
  assert.notEqual(hex(init.secrets.tI), hex(init.secrets.tR))
})

test('tampering with any field, or a wrong length, derives nothing', async () => {
  const init = await initiate(0)
  for (const offset of [5, 200, 230, 240, 250, 1290, 1298]) {
    const bad = Buffer.from(init.message)
    bad[offset]! ^= 1
    assert.equal(await respond(bad), undefined, `flipped byte ${offset}`)
  }
  assert.equal(await respond(init.message.subarray(0, 1298)), undefined)
  assert.equal(await respond(Buffer.concat([init.message, Buffer.alloc(1)])), undefined)
  const wrongType = Buffer.from(init.message)
  wrongType[0] = 2
  assert.equal(await respond(wrongType), undefined)
})

test('an initiation to ephemeral keys the server no longer holds derives nothing', async () => {
  const init = await initiate(2)
  const partial = await consumeInitiationStatic(crypto, {mcelieceSecret: mc.secretKey, x25519Secret: sx.secretKey}, init.message)
  assert.ok(partial !== undefined, 'the static stage only needs the long-term keys')
  assert.equal(await consumeInitiationEphemeral(crypto, partial, [secretsOf(eph[0]!), secretsOf(eph[1]!)]), undefined)
})

test('the transcript matches an independent step-by-step computation of section 6.2', async () => {
  // Re-run the client's computation with plain primitive calls, fixing its random choices.
  const fixed: DhKeyPair = x25519Keypair(systemRng)
  const prekey = await mceliece6960119.encapsulate(mc.publicKey)
  const k0 = Buffer.from(prekey.key)
  const c0 = Buffer.from(prekey.ciphertext)
  let c2: Uint8Array | undefined
  let k3: Uint8Array | undefined
  const recording = {
    ...crypto,
    dhKeypair: () => ({publicKey: Buffer.from(fixed.publicKey), secretKey: Buffer.from(fixed.secretKey)}),
    ekem: {...sntrup761, encapsulate: async (pk: Uint8Array) => {
      const e = await sntrup761.encapsulate(pk)
      c2 = Buffer.from(e.ciphertext)
      k3 = Buffer.from(e.key)
      return e
    }},
  }
  const init = await createInitiation(recording, {
    prekey, staticX25519: sx.publicKey, ephemeralSntrup: eph[0]!.sn.publicKey, ephemeralX25519: eph[0]!.x.publicKey,
  })
  const box1 = chacha20Poly1305.seal(k0, c0, fixed.publicKey)
  let hs = shake256(c0, box1)
  let cs = kdf(1, k0, x25519(fixed.secretKey, sx.publicKey)!)[0]!
  cs = kdf(1, cs, x25519(fixed.secretKey, eph[0]!.x.publicKey)!)[0]!
  const box3 = chacha20Poly1305.seal(cs, hs, c2!)
  cs = kdf(1, cs, k3!)[0]!
  hs = shake256(hs, box3)
  const [tid, tI, tR] = kdf(3, cs, hs)
  assert.equal(hex(init.message), hex(Buffer.concat([Buffer.from([1, 0]), c0, box1, box3])))
  assert.equal(hex(init.secrets.tid), hex(tid!))
  assert.equal(hex(init.secrets.tI), hex(tI!))
  assert.equal(hex(init.secrets.tR), hex(tR!))
})
