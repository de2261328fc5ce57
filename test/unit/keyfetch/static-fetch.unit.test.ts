import assert from 'node:assert/strict'
import {test} from 'node:test'

import {MCELIECE_PK_BYTES} from '../../../src/constants.js'
import {StaticKeyFetch} from '../../../src/keyfetch/static-fetch.js'
import {buildMerkleTree} from '../../../src/keys/merkle.js'
import {answerStaticRequest} from '../../../src/wire/keyserver.js'

const pk = Buffer.alloc(MCELIECE_PK_BYTES).map((_, i) => (i * 131 + 7) & 0xff)
const x = Buffer.alloc(32, 9)
const tree = buildMerkleTree(pk, x)

/** Run a download against the real answer function over a lossy virtual path. */
function run(loss: number, seed: number, respond = true) {
  let s = seed
  const rand = (): number => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x80000000)
  const f = new StaticKeyFetch(tree.root, 0)
  let now = 0
  const inbox: Array<{at: number; bytes: Buffer}> = []
  let answered = 0
  for (let steps = 0; steps < 200_000; steps++) {
    inbox.sort((a, b) => a.at - b.at)
    while (inbox.length > 0 && inbox[0]!.at <= now) f.onDatagram(inbox.shift()!.bytes, now)
    const r = f.poll(now)
    if (r.kind !== 'send') return {r, answered, now}
    for (const d of r.datagrams) {
      const resp = respond ? answerStaticRequest(tree, d) : undefined
      assert.ok(!respond || (resp !== undefined && resp.length === d.length), 'every request is answerable, same size')
      if (resp !== undefined && rand() >= loss) {
        answered++
        inbox.push({at: now + 0.01, bytes: resp})
      }
    }
    now += Math.min(r.wakeInS, inbox[0] === undefined ? Infinity : Math.max(inbox[0].at - now, 1e-4))
  }
  throw new Error('did not finish')
}

test('downloads and verifies the whole key, level by level, in 937 requests without loss', () => {
  const {r} = run(0, 1)
  assert.equal(r.kind, 'done')
  if (r.kind !== 'done') return
  assert.ok(Buffer.from(r.key.mceliecePk).equals(pk))
  assert.ok(Buffer.from(r.key.x25519Pk).equals(x))
  assert.equal(r.requests, 937, 'the root is known from DNS and never requested')
  assert.ok(r.elapsedS < 5, `${r.elapsedS} s`)
})

test('20% loss: retransmissions complete the download', () => {
  const {r} = run(0.2, 3)
  assert.equal(r.kind, 'done')
  if (r.kind === 'done') assert.ok(r.requests > 937)
})

test('a silent key server ends in a clear failure at the deadline, not an endless loop', () => {
  const {r, now} = run(0, 1, false)
  assert.deepEqual(r, {kind: 'failed', reason: 'deadline'})
  assert.ok(now >= 30 && now < 31)
})

test('forged and garbage responses are ignored', () => {
  const f = new StaticKeyFetch(tree.root, 0)
  const r = f.poll(0)
  assert.equal(r.kind, 'send')
  for (const g of [Buffer.alloc(0), Buffer.from([0xf1, 0]), Buffer.alloc(843, 0xf1)]) assert.equal(f.onDatagram(g, 0.1), false)
  const real = answerStaticRequest(tree, (r as {datagrams: Buffer[]}).datagrams[0]!)!
  const forged = Buffer.from(real)
  forged[forged.length - 1]! ^= 1
  assert.equal(f.onDatagram(forged, 0.1), false)
  assert.equal(f.onDatagram(real, 0.1), true)
})
