/** systemRng: fills exactly the bytes it is given, with fresh OS randomness each call. */
import assert from 'node:assert/strict'
import {test} from 'node:test'

import {systemRng} from '../../../src/crypto/rng.js'
import {hex} from '../../helpers/hex.js'

test('systemRng fills the whole buffer with fresh bytes each call', () => {
  const a = new Uint8Array(64)
  const b = Buffer.alloc(64)
  systemRng(a)
  systemRng(b)
  assert.notEqual(hex(a), '00'.repeat(64))
  assert.notEqual(hex(a), hex(b))
  // 64 random bytes: the chance that some 16-byte quarter stays all zero is about 2^-126.
  for (let q = 0; q < 4; q++) assert.notEqual(hex(a.subarray(16 * q, 16 * q + 16)), '00'.repeat(16))
})

test('systemRng writes only inside a subarray view', () => {
  const backing = Buffer.alloc(48)
  systemRng(backing.subarray(16, 32))
  assert.equal(hex(backing.subarray(0, 16)), '00'.repeat(16))
  assert.equal(hex(backing.subarray(32)), '00'.repeat(16))
  assert.notEqual(hex(backing.subarray(16, 32)), '00'.repeat(16))
})

test('an empty buffer is fine', () => {
  systemRng(new Uint8Array(0))
})
