import assert from 'node:assert/strict'
import {createCipheriv} from 'node:crypto'
import {test} from 'node:test'

import {chacha20Stream} from '../../../src/crypto/chacha20.js'
import {shake256} from '../../../src/crypto/hash.js'
import {kdf} from '../../../src/crypto/kdf.js'
import {hex, unhex} from '../../helpers/hex.js'

const ZERO = new Uint8Array(32)

test('SHAKE256-32 vectors (section 12.2)', () => {
  assert.equal(hex(shake256()), '46b9dd2b0ba88d13233b3feb743eeb243fcd52ea62b81b82b50c27646ed5762f')
  assert.equal(hex(shake256(Buffer.from('0123456789abcdef'))), 'f205e448f13f75e242c237ac0c1505b0020cde5b8bd5e6f0b05c444299817ff7')
  assert.equal(hex(shake256(Buffer.from('01234567'), Buffer.from('89abcdef'))), hex(shake256(Buffer.from('0123456789abcdef'))))
})

test('KDF vectors with the zero key (section 12.2)', () => {
  assert.equal(hex(kdf(1, ZERO)[0]!), '76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7')
  assert.equal(hex(kdf(2, ZERO)[1]!), 'da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586')
  assert.equal(hex(kdf(20, ZERO)[19]!), '034e9e83e58a013af0e7352fb7908514e3b3d1040d0bb963b3954b636b5fd4bf')
  const x = Buffer.concat([unhex('000102030405060708090a0b0c0d0e0f'), Buffer.alloc(16)])
  assert.equal(hex(kdf(1, ZERO, x)[0]!), '8a63c7f8ae1f48112b2d53e07285623fdebf25cf63fac4a807e889d284ef954e')
})

test('KDF rejects wrong lengths', () => {
  assert.throws(() => kdf(0, ZERO), RangeError)
  assert.throws(() => kdf(1, new Uint8Array(31)), RangeError)
  assert.throws(() => kdf(1, ZERO, new Uint8Array(31)), RangeError)
})

/**
 * Independent implementation: OpenSSL's chacha20 takes a 16-byte IV = LE32 counter || 12-byte
 * nonce, which for IV = LE64(counter) || nonce8 is the original state, and carries the low
 * counter word into the next one.
 */
function opensslStream(len: number, key: Uint8Array, nonce8: Uint8Array, counter: bigint): Buffer {
  const iv = Buffer.alloc(16)
  iv.writeBigUInt64LE(counter, 0)
  Buffer.from(nonce8).copy(iv, 8)
  return createCipheriv('chacha20', key, iv).update(Buffer.alloc(len))
}

test('64-bit counter: libsodium-based stream equals OpenSSL across the 2^32 carry', () => {
  const key = unhex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f')
  const nonce = unhex('0001020304050607')
  for (const counter of [0n, 1n, 0xffff_fffdn, 0xffff_ffffn, 0x1_0000_0000n, 0x1234_5678_ffff_fffen]) {
    const ours = Buffer.alloc(64 * 5)
    chacha20Stream(ours, key, nonce, counter)
    assert.equal(hex(ours), hex(opensslStream(64 * 5, key, nonce, counter)), counter.toString(16))
  }
})

test('64-bit counter wraps modulo 2^64', () => {
  const key = unhex('11'.repeat(32))
  const nonce = unhex('2222222222222222')
  const atEnd = Buffer.alloc(128)
  chacha20Stream(atEnd, key, nonce, 0xffff_ffff_ffff_ffffn)
  const atZero = Buffer.alloc(64)
  chacha20Stream(atZero, key, nonce, 0n)
  assert.equal(hex(atEnd.subarray(64)), hex(atZero))
})
