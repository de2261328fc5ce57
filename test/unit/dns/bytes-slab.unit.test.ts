/**
 * The shared slab for short-lived DNS buffers (src/dns/bytes-slab.ts): every piece is zero-filled,
 * pieces never overlap (writing one never shows in another, across slab boundaries too), and
 * large requests get a buffer of their own.
 */
import assert from 'node:assert/strict'
import {test} from 'node:test'

import {DNS_BYTES_SLAB_BYTES, DNS_BYTES_SLAB_MAX_PIECE} from '../../../src/constants.js'
import {slabBytes} from '../../../src/dns/bytes-slab.js'

test('pieces are zeroed, sized as asked and never overlap, across several slabs', () => {
  const pieces: Uint8Array[] = []
  let total = 0
  for (let i = 0; total < 3 * DNS_BYTES_SLAB_BYTES; i++) {
    const n = 1 + ((i * 37) % 700)
    const p = slabBytes(n)
    assert.equal(p.length, n)
    assert.ok(p.every((b) => b === 0), 'fresh piece is zero-filled')
    p.fill((i % 255) + 1)
    pieces.push(p)
    total += n
  }
  pieces.forEach((p, i) => assert.ok(p.every((b) => b === (i % 255) + 1), `piece ${i} was overwritten`))
})

test('a piece above the limit is a buffer of its own', () => {
  const big = slabBytes(DNS_BYTES_SLAB_MAX_PIECE + 1)
  assert.equal(big.length, DNS_BYTES_SLAB_MAX_PIECE + 1)
  assert.equal(big.byteOffset, 0)
  assert.equal(big.buffer.byteLength, DNS_BYTES_SLAB_MAX_PIECE + 1)
})
