/**
 * Internet checksum helpers (RFC 1071, RFC 1624) on published and hand-computed examples.
 */
import assert from 'node:assert/strict'
import {test} from 'node:test'

import fc from 'fast-check'

import {adjustChecksum32x2, foldSum, internetChecksum, sumWords} from '../../../src/net/checksum.js'
import {unhex} from '../../helpers/hex.js'

test('RFC 1071 section 3 example: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2', () => {
  const b = unhex('0001f203f4f5f6f7')
  assert.equal(foldSum(sumWords(b, 0, b.length)), 0xddf2)
  assert.equal(internetChecksum(b, 0, b.length), 0x220d)
})

test('odd length pads the last byte with zero; ranges and the accumulator are honoured', () => {
  assert.equal(sumWords(unhex('0102 03'), 0, 3), 0x0102 + 0x0300)
  assert.equal(sumWords(unhex('ff 0102 03 ff'), 1, 4, 5), 5 + 0x0102 + 0x0300)
  assert.equal(sumWords(new Uint8Array(0), 0, 0), 0)
  assert.equal(internetChecksum(new Uint8Array(4), 0, 4), 0xffff)
  assert.equal(foldSum(0x1fffe), 0xffff)
  assert.equal(foldSum(0x3_0000_0000), 3)
})

test('property: sumWords equals a word-by-word sum for any range', () => {
  fc.assert(fc.property(fc.uint8Array({maxLength: 300}), fc.nat(), fc.nat(), (b, x, y) => {
    const start = b.length === 0 ? 0 : x % (b.length + 1)
    const end = start + (y % (b.length - start + 1))
    let s = 0
    for (let i = start; i < end; i += 2) s += (b[i]! << 8) | (i + 1 < end ? b[i + 1]! : 0)
    assert.equal(sumWords(b, start, end), s)
  }), {numRuns: 2000})
})

test('RFC 1624 section 4 example: changing 0x5555 to 0x3285 in a header with checksum 0xdd2f', () => {
  // HC = 0xdd2f, m = 0x5555, m' = 0x3285 -> HC' = 0x0000 (eqn. 3), not 0xffff (eqn. 2).
  // Expressed as a 32-bit change with an unchanged second field.
  assert.equal(adjustChecksum32x2(0xdd2f, 0x5555, 0x3285, 0x12345678, 0x12345678), 0x0000)
})
