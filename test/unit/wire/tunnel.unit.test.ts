import assert from 'node:assert/strict'
import {test} from 'node:test'

import {TUNNEL_HEADER_BYTES, TUNNEL_OVERHEAD_BYTES} from '../../../src/constants.js'
import {
  decodeTunnelHeader, encodeTunnelHeader, isTunnelDatagram, MAX_TUNNEL_INDEX, tunnelDatagramLength, tunnelParts, tunnelTid,
} from '../../../src/wire/tunnel.js'
import {hex} from '../../helpers/hex.js'

const TID = Buffer.from(Array.from({length: 32}, (_, i) => i + 1))

test('header layout: 02 00 | tid | BE16 epoch | BE32 index (section 7.3)', () => {
  const out = Buffer.alloc(tunnelDatagramLength(3))
  assert.equal(out.length, 40 + 3 + 16)
  encodeTunnelHeader(out, TID, 0x1234, 0x89abcdef)
  assert.equal(hex(out.subarray(0, 40)), '0200' + hex(TID) + '1234' + '89abcdef')
  const h = decodeTunnelHeader(out)!
  assert.equal(hex(h.tid), hex(TID))
  assert.equal(h.epoch, 0x1234)
  assert.equal(h.index, 0x89abcdef)
  const parts = tunnelParts(out)
  assert.equal(parts.ad.length, TUNNEL_HEADER_BYTES)
  assert.equal(parts.sealed.length, 3 + 16)
  assert.equal(parts.plaintextBytes, 3)
  assert.equal(hex(tunnelTid(out)!), hex(TID))
})

test('field limits round-trip and out-of-range values are misuse', () => {
  const out = Buffer.alloc(TUNNEL_OVERHEAD_BYTES)
  for (const [e, i] of [[0, 0], [65535, MAX_TUNNEL_INDEX], [1, 0x80000000]] as const) {
    encodeTunnelHeader(out, TID, e, i)
    const h = decodeTunnelHeader(out)!
    assert.deepEqual([h.epoch, h.index], [e, i])
  }
  assert.throws(() => encodeTunnelHeader(out, TID, 65536, 0), RangeError)
  assert.throws(() => encodeTunnelHeader(out, TID, 0, MAX_TUNNEL_INDEX + 1), RangeError)
  assert.throws(() => encodeTunnelHeader(out, TID, -1, 0), RangeError)
  assert.throws(() => encodeTunnelHeader(out, TID.subarray(1), 0, 0), RangeError)
  assert.throws(() => encodeTunnelHeader(Buffer.alloc(39), TID, 0, 0), RangeError)
})

test('decode returns undefined for short or wrong-type input, never throws', () => {
  const good = Buffer.alloc(TUNNEL_OVERHEAD_BYTES)
  encodeTunnelHeader(good, TID, 1, 2)
  assert.ok(isTunnelDatagram(good), 'keepalive-sized datagram (empty plaintext) is valid')
  for (let len = 0; len < TUNNEL_OVERHEAD_BYTES; len++) {
    assert.equal(decodeTunnelHeader(good.subarray(0, len)), undefined, `length ${len}`)
    assert.equal(tunnelTid(good.subarray(0, len)), undefined)
  }
  for (const [a, b] of [[0x01, 0], [0x02, 1], [0x03, 0], [0xf0, 0], [0x00, 0x02]]) {
    const bad = Buffer.from(good)
    bad[0] = a!
    bad[1] = b!
    assert.equal(decodeTunnelHeader(bad), undefined, `type ${a} ${b}`)
  }
  for (let i = 0; i < 2000; i++) {
    const r = Buffer.from(Array.from({length: i % 120}, () => Math.floor(Math.random() * 256)))
    const h = decodeTunnelHeader(r)
    if (h !== undefined) assert.ok(r[0] === 2 && r[1] === 0 && r.length >= TUNNEL_OVERHEAD_BYTES)
  }
})
