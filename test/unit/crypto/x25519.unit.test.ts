/**
 * X25519 adapter: RFC 7748 section 6.1 (Diffie-Hellman) and section 5.2 (scalar multiplication,
 * including a u-coordinate with the top bit set and the first ladder iteration), key pairs from
 * an injected Rng, and the all-zero (low-order point) result reported as failure.
 */
import assert from 'node:assert/strict'
import {test} from 'node:test'

import {LocalError} from '../../../src/errors.js'
import {x25519, x25519Into, x25519Keypair, x25519PublicKey} from '../../../src/crypto/x25519.js'
import {hex, unhex} from '../../helpers/hex.js'

// RFC 7748 section 6.1.
const ALICE_SK = unhex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a')
const ALICE_PK = '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a'
const BOB_SK = unhex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb')
const BOB_PK = 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f'
const SHARED = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742'

test('RFC 7748 section 6.1: public keys and the shared secret, both ways', () => {
  assert.equal(hex(x25519PublicKey(ALICE_SK)), ALICE_PK)
  assert.equal(hex(x25519PublicKey(BOB_SK)), BOB_PK)
  assert.equal(hex(x25519(ALICE_SK, unhex(BOB_PK))!), SHARED)
  assert.equal(hex(x25519(BOB_SK, unhex(ALICE_PK))!), SHARED)
})

test('RFC 7748 section 5.2: scalar multiplication vectors (clamping and u masking inside)', () => {
  const cases: Array<[string, string, string]> = [
    ['a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4', 'e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c',
      'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552'],
    // The u-coordinate's top bit is set: it must be ignored.
    ['4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d', 'e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493',
      '95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957'],
    // First iteration of the ladder test: k = u = 9.
    ['09'.padEnd(64, '0'), '09'.padEnd(64, '0'), '422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079'],
  ]
  for (const [k, u, out] of cases) assert.equal(hex(x25519(unhex(k), unhex(u))!), out)
})

test('key pairs take their secret from the injected Rng, unclamped', () => {
  const rng = (out: Uint8Array): void => { out.set(ALICE_SK) }
  const kp = x25519Keypair(rng)
  assert.equal(hex(kp.secretKey), hex(ALICE_SK))
  assert.equal(hex(kp.publicKey), ALICE_PK)
})

test('an all-zero shared secret (low-order public key) is reported, never thrown', () => {
  const lowOrder = [
    '00'.repeat(32), // 0
    '01'.padEnd(64, '0'), // 1
    'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', // order 8
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p - 1
  ]
  for (const pk of lowOrder) {
    assert.equal(x25519(ALICE_SK, unhex(pk)), undefined, pk)
    const out = Buffer.alloc(32, 0xaa)
    assert.equal(x25519Into(out, ALICE_SK, unhex(pk)), false)
    assert.equal(hex(out), '00'.repeat(32))
  }
  const out = Buffer.alloc(32)
  assert.equal(x25519Into(out, ALICE_SK, unhex(BOB_PK)), true)
  assert.equal(hex(out), SHARED)
})

test('wrong lengths are caller bugs: LocalError', () => {
  assert.throws(() => x25519(ALICE_SK.subarray(1), unhex(BOB_PK)), LocalError)
  assert.throws(() => x25519(ALICE_SK, unhex(BOB_PK).subarray(1)), LocalError)
  assert.throws(() => x25519PublicKey(new Uint8Array(33)), LocalError)
  assert.throws(() => x25519Into(new Uint8Array(31), ALICE_SK, unhex(BOB_PK)), LocalError)
})
