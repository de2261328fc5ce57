import assert from 'node:assert/strict'
import {test} from 'node:test'

import {CHAIN_KEY_NUM_PACKETS} from '../../../src/constants.js'
import {kdf} from '../../../src/crypto/kdf.js'
import {EpochChain} from '../../../src/session/epoch-chain.js'
import {SendRatchet} from '../../../src/session/send-ratchet.js'
import {hex} from '../../helpers/hex.js'

const NEXT_ROOT_E0 = '76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7'
const KEY_E0_I0 = '242ad89021b16eca55b03174d7ac8d79193988583793baf65494bb17ab80eded'
const KEY_E1_I5 = '27443b6fd8d38aff8e1dec89f971c5e2a7fe8e78e870712d527f4cb3a8eda375'

function keyOf(chain: EpochChain, index: number): Buffer {
  const ext = chain.extendTo(index)
  if (ext !== undefined) chain.commit(ext)
  return chain.take(index)!
}

test('key schedule vectors with root 0^32 (section 12.2)', () => {
  const e0 = EpochChain.fromRoot(new Uint8Array(32), 0)
  const root1 = [...e0.secrets()].find((s) => s.kind === 'epoch-root')!
  assert.equal(root1.epoch, 1)
  assert.equal(hex(root1.bytes), NEXT_ROOT_E0)
  assert.equal(hex(keyOf(e0, 0)), KEY_E0_I0)
  const e1 = e0.deriveNext()!
  assert.equal(e1.epoch, 1)
  assert.equal(hex(keyOf(e1, 5)), KEY_E1_I5)
})

test('the send ratchet produces the same vectors (epoch 0 index 0, then epoch 1 index 5)', () => {
  const s = new SendRatchet(new Uint8Array(32), 1000)
  const p0 = s.next(1000)
  assert.ok(typeof p0 !== 'string')
  assert.equal(hex(p0.key), KEY_E0_I0)
  s.advanceTime(1030) // [1000, 1030) is epoch 0
  assert.equal(s.epoch, 1)
  let p
  for (let i = 0; i <= 5; i++) p = s.next(1031)
  assert.ok(p !== undefined && typeof p !== 'string')
  assert.equal(p.epoch, 1)
  assert.equal(p.index, 5)
  assert.equal(hex(p.key), KEY_E1_I5)
})

test('extendTo derives on copies: the chain is unchanged until commit', () => {
  const chain = EpochChain.fromRoot(Buffer.alloc(32, 7), 3)
  const before = [...chain.secrets()].map((s) => hex(s.bytes))
  const ext = chain.extendTo(40)!
  assert.equal(ext.from, 0)
  assert.equal(ext.keys.length, 3 * CHAIN_KEY_NUM_PACKETS)
  assert.deepEqual([...chain.secrets()].map((s) => hex(s.bytes)), before)
  assert.equal(chain.derivedEnd, 0)
  chain.commit(ext)
  assert.equal(chain.derivedEnd, 54)
  assert.equal(chain.heldKeys, 54)
  // Independent check of index 40 in epoch 3's chain: plain kdf calls.
  let c = kdf(2, Buffer.alloc(32, 7))[1]!
  let out: Buffer[] = []
  for (let b = 0; b <= 2; b++) {
    out = kdf(19, c)
    c = out[0]!
  }
  assert.equal(hex(chain.peek(40)!), hex(out[1 + (40 % 18)]!))
  assert.equal(chain.extendTo(20), undefined, 'already derived')
})

test('dropKeysBelow and wipe zero the erased buffers', () => {
  const chain = EpochChain.fromRoot(Buffer.alloc(32, 1), 0)
  chain.commit(chain.extendTo(35)!)
  const k3 = chain.peek(3)!
  const k30 = chain.peek(30)!
  chain.dropKeysBelow(10)
  assert.ok(k3.every((b) => b === 0))
  assert.equal(chain.peek(3), undefined)
  assert.equal(chain.heldKeys, 26)
  assert.ok(k30.some((b) => b !== 0))
  const all = [...chain.secrets()].map((s) => s.bytes)
  chain.wipe()
  assert.ok(all.every((b) => b.every((x) => x === 0)))
  assert.equal([...chain.secrets()].length, 0)
})

test('a far extension that skips whole batches (chain keys only) gives the same key as deriving every batch', () => {
  const full = EpochChain.fromRoot(Buffer.alloc(32, 9), 3)
  const far = EpochChain.fromRoot(Buffer.alloc(32, 9), 3)
  const index = 60_000
  const a = full.extendTo(index)!
  const b = far.extendTo(index, index - 256)!
  assert.equal(b.keysFrom, index - 256)
  assert.ok(b.keys.length <= 256 + 2 * 18, `${b.keys.length} keys kept`)
  assert.deepEqual(b.keys[index - b.keysFrom], a.keys[index - a.keysFrom])
  assert.deepEqual(b.chainKey, a.chainKey)
  assert.equal(b.end, a.end)
  far.commit(b)
  assert.equal(far.derivedEnd, a.end)
  assert.equal(far.peek(index - 257), undefined, 'nothing below the window is held')
  assert.ok(far.peek(index) !== undefined)
})
