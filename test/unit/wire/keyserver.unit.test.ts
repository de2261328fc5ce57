/**
 * Key-server messages (pq1-protocol.md sections 5.1, 5.3, 5.5, 5.6): byte layouts written out by
 * hand here, round trips, every malformed shape rejected, and the never-longer-than-the-request rule.
 */
import assert from 'node:assert/strict'
import {test} from 'node:test'

import {EPHEMERAL_MSG_BYTES, MCELIECE_PK_BYTES} from '../../../src/constants.js'
import {buildMerkleTree} from '../../../src/keys/merkle.js'
import {MerkleAssembler} from '../../../src/keys/merkle-assembler.js'
import {merkleShape} from '../../../src/keys/merkle-shape.js'
import {
  answerEphemeralRequest, answerStaticRequest, decodeEphemeralRequest,
  decodeEphemeralResponse, decodeStaticRequest, decodeStaticResponse, encodeEphemeralRequest,
  encodeEphemeralResponse, encodeStaticRequest, encodeStaticResponse, staticMessageLength, StaticAnswers,
} from '../../../src/wire/keyserver.js'
import {decodeTlv, encodeTlv, tlvLength} from '../../../src/wire/tlv.js'
import {hex, unhex} from '../../helpers/hex.js'

function filler(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n)
  let x = seed
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0
    out[i] = x >>> 24
  }
  return out
}

const TREE = buildMerkleTree(filler(MCELIECE_PK_BYTES, 1), filler(32, 2))
const SNTRUP_PK = filler(1158, 3)
const X_PK = filler(32, 4)
const KEYS = {sntrupPublic: SNTRUP_PK, x25519Public: X_PK}

const zeros = (n: number): string => '00'.repeat(n)

test('static request layout (section 5.3), byte by byte', () => {
  assert.equal(hex(encodeStaticRequest(0, 0)), `f000 0001 00 0002 0000 0020 ${zeros(32)}`.replace(/ /g, ''))
  assert.equal(hex(encodeStaticRequest(1, 0)), `f000 0001 01 0002 0000 0340 ${zeros(832)}`.replace(/ /g, ''))
  assert.equal(hex(encodeStaticRequest(2, 25)), `f000 0001 02 0002 1900 0140 ${zeros(320)}`.replace(/ /g, ''))
  assert.equal(hex(encodeStaticRequest(3, 909)), `f000 0001 03 0002 8d03 00b7 ${zeros(183)}`.replace(/ /g, ''))
  assert.equal(hex(encodeStaticRequest(3, 300).subarray(0, 11)), 'f00000010300022c010480')
  assert.throws(() => encodeStaticRequest(1, 8), {code: 'PQC_ERR_ARGUMENT'})
  assert.throws(() => encodeStaticRequest(4, 0), {code: 'PQC_ERR_ARGUMENT'})
})

test('request and response have identical length 11 + L for all 938 nodes', () => {
  let total = 0
  for (let d = 0; d < 4; d++) {
    for (let p = 0; p < TREE.structure[d]!; p++) {
      const req = encodeStaticRequest(d, p)
      assert.deepEqual(decodeStaticRequest(req), {depth: d, pos: p, nodeBytes: TREE.nodeSize(d, p)})
      const res = answerStaticRequest(TREE, req)!
      assert.equal(res.length, req.length)
      assert.equal(res.length, staticMessageLength(TREE.nodeSize(d, p)!))
      assert.deepEqual(res.subarray(0, 2), Buffer.from([0xf1, 0x00]))
      assert.deepEqual(res.subarray(2, 11), req.subarray(2, 11))
      const back = decodeStaticResponse(res)!
      assert.equal(back.depth, d)
      assert.equal(back.pos, p)
      assert.deepEqual(back.node, TREE.node(d, p))
      total += res.length
    }
  }
  assert.equal(total, 1_087_653)
})

test('StaticAnswers (encoded once per node) answers byte for byte like answerStaticRequest, twice', () => {
  const answers = new StaticAnswers(TREE)
  for (let round = 0; round < 2; round++) {
    for (let d = 0; d < 4; d++) {
      for (let p = 0; p < TREE.structure[d]!; p++) {
        const req = encodeStaticRequest(d, p)
        assert.deepEqual(answers.answer(req), answerStaticRequest(TREE, req))
      }
    }
  }
  const short = encodeStaticRequest(3, 5).subarray(0, 100)
  assert.equal(answers.answer(short), undefined, 'a truncated request gets nothing')
  const longer = Buffer.concat([encodeStaticRequest(3, 5), Buffer.alloc(1)])
  assert.equal(answers.answer(longer), undefined, 'a padded request gets nothing (answers are exactly as long)')
  assert.equal(answers.answer(Buffer.from([0xf0, 0x00])), undefined)
})

test('full download through the codecs reassembles the key', () => {
  const a = new MerkleAssembler(TREE.root)
  while (!a.complete) {
    const depth = a.currentDepth!
    for (const pos of a.missing().reverse()) {
      const res = decodeStaticResponse(answerStaticRequest(TREE, encodeStaticRequest(depth, pos))!)!
      assert.equal(a.accept(res.depth, res.pos, res.node), 'accepted')
    }
  }
  const key = a.result()!
  assert.deepEqual(key.mceliecePk, filler(MCELIECE_PK_BYTES, 1))
  assert.deepEqual(key.x25519Pk, filler(32, 2))
})

test('section 12.2: request for the invalid position (1, 8) is ignored', () => {
  const bad = unhex(`f000 0001 01 0002 0800 0340 ${zeros(832)}`)
  assert.equal(bad.length, 843)
  assert.equal(decodeStaticRequest(bad), undefined)
  assert.equal(answerStaticRequest(TREE, bad), undefined)
})

test('malformed static requests are ignored', () => {
  const good = encodeStaticRequest(2, 3)
  assert.ok(answerStaticRequest(TREE, good))
  const cases: Record<string, Uint8Array> = {
    empty: new Uint8Array(0),
    'type only': unhex('f000'),
    'wrong type': Buffer.concat([unhex('f100'), good.subarray(2)]),
    'second type byte not zero': Buffer.concat([unhex('f001'), good.subarray(2)]),
    'dangling byte': Buffer.concat([good, unhex('00')]),
    'truncated field': good.subarray(0, good.length - 1),
    'extra field': Buffer.concat([good, unhex('000100')]),
    'two fields': encodeTlv(0xf0, [Uint8Array.of(2), Uint8Array.of(3, 0)]),
    'zero-length field': unhex(`f000 0000 0001 02 0002 0300 0480 ${zeros(1152)}`),
    'depth in 2 bytes': encodeTlv(0xf0, [Uint8Array.of(2, 0), Uint8Array.of(3, 0), 1152]),
    'pos in 1 byte': encodeTlv(0xf0, [Uint8Array.of(2), Uint8Array.of(3), 1152]),
    'L too short': encodeTlv(0xf0, [Uint8Array.of(2), Uint8Array.of(3, 0), 1151]),
    'L too long': encodeTlv(0xf0, [Uint8Array.of(2), Uint8Array.of(3, 0), 1153]),
    'L of another node': encodeTlv(0xf0, [Uint8Array.of(2), Uint8Array.of(25, 0), 1152]),
    'depth 4': encodeTlv(0xf0, [Uint8Array.of(4), Uint8Array.of(0, 0), 1152]),
    'pos 910': encodeTlv(0xf0, [Uint8Array.of(3), Uint8Array.of(0x8e, 0x03), 183]),
    'pos big-endian': encodeTlv(0xf0, [Uint8Array.of(3), Uint8Array.of(0x03, 0x8d), 183]),
  }
  for (const [name, bytes] of Object.entries(cases)) {
    assert.equal(decodeStaticRequest(bytes), undefined, name)
    assert.equal(answerStaticRequest(TREE, bytes), undefined, name)
  }
  // Non-zero padding anywhere (we are stricter than the reference, section 5.3).
  for (const i of [11, 500, good.length - 1]) {
    const padded = Buffer.from(good)
    padded[i] = 1
    assert.equal(answerStaticRequest(TREE, padded), undefined, `padding byte ${i}`)
  }
})

test('static responses: malformed or wrong-size nodes are refused by the client decoder', () => {
  const good = encodeStaticResponse(3, 909, TREE.node(3, 909)!)
  assert.ok(decodeStaticResponse(good))
  assert.equal(decodeStaticResponse(encodeStaticResponse(3, 909, TREE.node(3, 0)!)), undefined)
  assert.equal(decodeStaticResponse(encodeStaticResponse(3, 910, TREE.node(3, 909)!)), undefined)
  assert.equal(decodeStaticResponse(encodeStaticResponse(5, 0, TREE.node(3, 0)!)), undefined)
  assert.equal(decodeStaticResponse(encodeStaticRequest(3, 909)), undefined, 'a request is not a response')
  assert.equal(decodeStaticResponse(good.subarray(0, good.length - 1)), undefined)
  assert.equal(decodeStaticResponse(Buffer.concat([good, unhex('00')])), undefined)
  assert.throws(() => encodeStaticResponse(256, 0, Uint8Array.of(1)), {code: 'PQC_ERR_ARGUMENT'})
  assert.throws(() => encodeStaticResponse(0, 65_536, Uint8Array.of(1)), {code: 'PQC_ERR_ARGUMENT'})
  // A response for another shape (e.g. mceliece8192128) is judged against that shape.
  const big = merkleShape(1_357_824 + 32)
  assert.ok(decodeStaticResponse(encodeStaticResponse(2, 31, new Uint8Array(1152)), big))
  assert.equal(decodeStaticResponse(encodeStaticResponse(2, 31, new Uint8Array(1152))), undefined)
})

test('ephemeral request layout (section 5.5) and response round trip', () => {
  const req = encodeEphemeralRequest()
  assert.equal(req.length, 1196)
  assert.equal(EPHEMERAL_MSG_BYTES, 1196)
  assert.equal(tlvLength([1158, 32]), EPHEMERAL_MSG_BYTES)
  assert.equal(hex(req), `f2000486${zeros(1158)}0020${zeros(32)}`)
  assert.equal(decodeEphemeralRequest(req), true)
  const res = answerEphemeralRequest(KEYS, req)!
  assert.equal(res.length, 1196)
  assert.equal(hex(res), `f3000486${hex(SNTRUP_PK)}0020${hex(X_PK)}`)
  const back = decodeEphemeralResponse(res)!
  assert.deepEqual(back.sntrupPublic, SNTRUP_PK)
  assert.deepEqual(back.x25519Public, X_PK)
  assert.equal(answerEphemeralRequest(undefined, req), undefined, 'no current key: no reply')
  assert.throws(() => encodeEphemeralResponse({sntrupPublic: SNTRUP_PK.subarray(1), x25519Public: X_PK}),
    {code: 'PQC_ERR_KEY_INVALID'})
})

test('ephemeral requests: the reference amplification (2-byte f2 00) and other malformed ones get no reply', () => {
  const req = encodeEphemeralRequest()
  const cases: Record<string, Uint8Array> = {
    'f2 00 alone (section 5.6)': unhex('f200'),
    empty: new Uint8Array(0),
    'one field': encodeTlv(0xf2, [1158]),
    'short padding': encodeTlv(0xf2, [1157, 33]),
    'swapped fields': encodeTlv(0xf2, [32, 1158]),
    'three fields': encodeTlv(0xf2, [1158, 32, 1]),
    'truncated': req.subarray(0, 1195),
    'dangling byte': Buffer.concat([req, unhex('00')]),
    'wrong type': Buffer.concat([unhex('f000'), req.subarray(2)]),
    'a response': encodeEphemeralResponse(KEYS),
  }
  for (const [name, bytes] of Object.entries(cases)) {
    assert.equal(decodeEphemeralRequest(bytes), undefined, name)
    assert.equal(answerEphemeralRequest(KEYS, bytes), undefined, name)
  }
  for (const i of [4, 1161, 1164, 1195]) {
    const bad = Buffer.from(req)
    bad[i] = 0x80
    assert.equal(answerEphemeralRequest(KEYS, bad), undefined, `padding byte ${i}`)
  }
})

test('ephemeral responses: client checks type, two fields, lengths 1158 and 32', () => {
  const res = encodeEphemeralResponse(KEYS)
  assert.equal(decodeEphemeralResponse(encodeEphemeralRequest()), undefined)
  assert.equal(decodeEphemeralResponse(encodeTlv(0xf3, [SNTRUP_PK.subarray(1), Buffer.concat([X_PK, unhex('00')])])), undefined)
  assert.equal(decodeEphemeralResponse(encodeTlv(0xf3, [SNTRUP_PK, X_PK, Uint8Array.of(1)])), undefined)
  assert.equal(decodeEphemeralResponse(res.subarray(0, 1195)), undefined)
  assert.equal(decodeEphemeralResponse(unhex('f300')), undefined)
})

test('tlv framing (section 5.1)', () => {
  assert.equal(hex(encodeTlv(0xf0, [Uint8Array.of(1), 3])), 'f000000101000300' + '0000')
  assert.deepEqual(decodeTlv(unhex('f0000001aa0002bbcc'), 0xf0, 2), [unhex('aa'), unhex('bbcc')])
  assert.equal(decodeTlv(unhex('f0000001aa0002bbcc'), 0xf0, 1), undefined)
  assert.equal(decodeTlv(unhex('f0000001aa0002bbcc'), 0xf0, 3), undefined)
  assert.equal(decodeTlv(unhex('f0000001aa00'), 0xf0, 1), undefined)
  assert.equal(decodeTlv(unhex('f0000000'), 0xf0, 1), undefined)
  assert.equal(decodeTlv(unhex('f000'), 0xf0, 0)?.length, 0)
  assert.equal(decodeTlv(unhex('f0'), 0xf0, 0), undefined)
  assert.throws(() => encodeTlv(0xf0, [0]), {code: 'PQC_ERR_ARGUMENT'})
  assert.throws(() => encodeTlv(0xf0, [new Uint8Array(0)]), {code: 'PQC_ERR_ARGUMENT'})
  assert.throws(() => encodeTlv(0xf0, [65_536]), {code: 'PQC_ERR_ARGUMENT'})
  assert.throws(() => encodeTlv(0x100, [1]), {code: 'PQC_ERR_ARGUMENT'})
})
