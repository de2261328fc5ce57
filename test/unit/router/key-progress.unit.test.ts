/** Key-download progress for the log: each quarter once, duplicates and other datagrams not counted, everything passed on. */
import assert from 'node:assert/strict'
import {test} from 'node:test'

import type {KeyChannel} from '../../../router/client/key-fetch.js'
import {withKeyProgress} from '../../../router/client/key-progress.js'
import {PQ1_MERKLE_SHAPE, merkleNodeSize} from '../../../src/keys/merkle-shape.js'
import {encodeEphemeralRequest, encodeStaticResponse} from '../../../src/wire/keyserver.js'

test('reports 25, 50, 75 and 100 % of the nodes once each, and passes every datagram on', () => {
  let receiver: ((d: Uint8Array) => void) | undefined
  const sent: Uint8Array[] = []
  const inner: KeyChannel = {send: (d) => sent.push(d), listen: (fn) => (receiver = fn)}
  const reports: Array<[number, number, number]> = []
  const ch = withKeyProgress(inner, (p, n, t) => reports.push([p, n, t]))
  const got: Uint8Array[] = []
  ch.listen((d) => got.push(d))
  ch.send(Uint8Array.of(1))
  assert.equal(sent.length, 1)
  const all: Uint8Array[] = []
  for (let depth = 1; depth <= PQ1_MERKLE_SHAPE.leafDepth; depth++) {
    for (let pos = 0; pos < PQ1_MERKLE_SHAPE.structure[depth]!; pos++) {
      all.push(encodeStaticResponse(depth, pos, new Uint8Array(merkleNodeSize(PQ1_MERKLE_SHAPE, depth, pos)!)))
    }
  }
  assert.equal(all.length, 937)
  for (const d of all.slice(0, 300)) receiver!(d)
  for (const d of all.slice(0, 300)) receiver!(d) // duplicates (retransmissions) do not count
  receiver!(encodeEphemeralRequest())
  assert.deepEqual(reports.map((r) => r[0]), [25])
  for (const d of all.slice(300)) receiver!(d)
  assert.deepEqual(reports, [[25, 235, 937], [50, 469, 937], [75, 703, 937], [100, 937, 937]])
  assert.equal(got.length, 937 + 300 + 1)
  ch.listen(undefined)
  assert.equal(receiver, undefined)
})
