import assert from 'node:assert/strict'
import {test} from 'node:test'

import {base32Decode, base32Encode} from '../../../src/dns/base32.js'
import {unhex, hex} from '../../helpers/hex.js'

// pq1-protocol.md section 12.2 (DNSCurve base32 draft vectors).
const VECTORS: Array<[string, string]> = [
  ['6488', '4321'], ['', ''], ['88', '84'], ['9f0b', 'zw20'], ['17a3d4', 'rs89f'],
  ['2aa9137e', 'b9b71z1'], ['7e69a3efac', 'ycu6urmp'], ['e53b60e81562', '5zg06nr223'],
  ['723cef3a432c8f', 'l3hygxd8dt31'], ['17f7350941e4dc01', 'rsxcm44847r30'],
]

test('base32 encodes every vector of section 12.2', () => {
  for (const [bytes, text] of VECTORS) assert.equal(base32Encode(unhex(bytes)), text, bytes)
})

test('base32 decodes every vector back, upper case too', () => {
  for (const [bytes, text] of VECTORS) {
    assert.equal(hex(base32Decode(text)!), bytes, text)
    assert.equal(hex(base32Decode(text.toUpperCase())!), bytes, text)
  }
})

test('base32 rejects characters outside the alphabet and overflowing values', () => {
  for (const bad of ['a', 'e', 'i', 'o', '4a21', '-', 'é000', ' 432']) assert.equal(base32Decode(bad), undefined, bad)
  // 2 bytes take 4 characters; the last one carries a single bit, so only 0 and 1 fit.
  assert.notEqual(base32Decode('zzz1'), undefined)
  assert.equal(base32Decode('zzz2'), undefined)
  assert.equal(base32Decode('zzzz'), undefined)
})

test('base32 round-trips random byte strings of every length up to 40', () => {
  for (let n = 0; n <= 40; n++) {
    const b = new Uint8Array(n).map((_, i) => (i * 97 + n * 31) & 0xff)
    assert.deepEqual(base32Decode(base32Encode(b)), b)
  }
})
