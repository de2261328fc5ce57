/**
 * Property tests for the key-server codecs (pq1-protocol.md sections 5.1-5.6): on random bytes and
 * random mutations of valid requests the decoders never throw, the server never answers with more
 * bytes than it received, and it answers exactly the canonical requests and nothing else.
 */
import assert from 'node:assert/strict'
import {test} from 'node:test'

import fc from 'fast-check'

import {MCELIECE_PK_BYTES} from '../../../src/constants.js'
import {buildMerkleTree} from '../../../src/keys/merkle.js'
import {
  answerEphemeralRequest, answerStaticRequest, decodeEphemeralRequest, decodeEphemeralResponse,
  decodeStaticRequest, decodeStaticResponse, encodeEphemeralRequest, encodeStaticRequest,
} from '../../../src/wire/keyserver.js'
import {decodeTlv} from '../../../src/wire/tlv.js'

const TREE = buildMerkleTree(Buffer.alloc(MCELIECE_PK_BYTES, 0x5a), Buffer.alloc(32, 0xa5))
const KEYS = {sntrupPublic: Buffer.alloc(1158, 7), x25519Public: Buffer.alloc(32, 9)}
const EPHEMERAL_REQUEST = encodeEphemeralRequest()

/** Feed one input to every decoder and both servers; check the invariants. */
function checkInput(bytes: Uint8Array): void {
  for (const type of [0xf0, 0xf1, 0xf2, 0xf3]) for (const n of [0, 1, 2, 3]) decodeTlv(bytes, type, n)
  decodeStaticResponse(bytes)
  decodeEphemeralResponse(bytes)
  const req = decodeStaticRequest(bytes)
  const res = answerStaticRequest(TREE, bytes)
  if (res !== undefined) {
    assert.ok(res.length <= bytes.length, 'static answer longer than the request')
    // Only the canonical request of the decoded node is answered.
    assert.ok(req !== undefined)
    assert.ok(Buffer.from(bytes).equals(encodeStaticRequest(req.depth, req.pos)))
  } else {
    assert.equal(req === undefined || TREE.node(req.depth, req.pos) === undefined, true)
  }
  const eph = answerEphemeralRequest(KEYS, bytes)
  assert.equal(decodeEphemeralRequest(bytes) === true, eph !== undefined)
  if (eph !== undefined) {
    assert.ok(eph.length <= bytes.length, 'ephemeral answer longer than the request')
    assert.ok(Buffer.from(bytes).equals(EPHEMERAL_REQUEST))
  }
}

/** A valid request of either kind. */
const validRequest = fc.oneof(
  fc.constant(EPHEMERAL_REQUEST),
  fc.integer({min: 0, max: 3}).chain((depth) =>
    fc.integer({min: 0, max: TREE.structure[depth]! - 1}).map((pos) => encodeStaticRequest(depth, pos))),
)

type Mutation =
  | {kind: 'set'; at: number; value: number}
  | {kind: 'truncate'; at: number}
  | {kind: 'append'; bytes: Uint8Array}
  | {kind: 'insert'; at: number; bytes: Uint8Array}
  | {kind: 'delete'; at: number; count: number}

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({min: 0, max: 255})}),
  fc.record({kind: fc.constant('truncate' as const), at: fc.nat()}),
  fc.record({kind: fc.constant('append' as const), bytes: fc.uint8Array({minLength: 1, maxLength: 8})}),
  fc.record({kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({minLength: 1, maxLength: 4})}),
  fc.record({kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({min: 1, max: 4})}),
)

function applyMutation(input: Buffer, m: Mutation): Buffer {
  // Most positions hit the 11-byte header or the start/end of the padding, where framing lives.
  const at = (n: number): number => (input.length === 0 ? 0 : n % (n % 3 === 0 ? input.length : Math.min(input.length, 16)))
  switch (m.kind) {
    case 'set': {
      const out = Buffer.from(input)
      if (out.length > 0) out[at(m.at)] = m.value
      return out
    }
    case 'truncate': return input.subarray(0, at(m.at))
    case 'append': return Buffer.concat([input, m.bytes])
    case 'insert': return Buffer.concat([input.subarray(0, at(m.at)), m.bytes, input.subarray(at(m.at))])
    case 'delete': return Buffer.concat([input.subarray(0, at(m.at)), input.subarray(at(m.at) + m.count)])
  }
}

test('random byte strings: decoders never throw, answers never longer than the input', () => {
  const framedStart = fc.tuple(fc.constantFrom(0xf0, 0xf1, 0xf2, 0xf3), fc.uint8Array({maxLength: 1300}))
    .map(([t, rest]) => Buffer.concat([Uint8Array.of(t, 0), rest]))
  fc.assert(fc.property(fc.oneof(fc.uint8Array({maxLength: 1400}), framedStart), (bytes) => {
    checkInput(bytes)
  }), {numRuns: 3000})
})

test('mutated valid requests: never throw, answered only when still canonical', () => {
  fc.assert(fc.property(validRequest, fc.array(mutation, {minLength: 1, maxLength: 3}), (req, ms) => {
    let bytes: Buffer = Buffer.from(req)
    for (const m of ms) bytes = applyMutation(bytes, m)
    checkInput(bytes)
  }), {numRuns: 5000})
})

test('valid requests are all answered, with the same length', () => {
  fc.assert(fc.property(validRequest, (req) => {
    const res = req[0] === 0xf2 ? answerEphemeralRequest(KEYS, req) : answerStaticRequest(TREE, req)
    assert.ok(res !== undefined)
    assert.equal(res.length, req.length)
  }), {numRuns: 500})
})
