import assert from 'node:assert/strict'
import {test} from 'node:test'

import {MAX_EPOCH, SEND_REHANDSHAKE_MARGIN_EPOCHS} from '../../../src/constants.js'
import {SendRatchet, sendPositionRefusal, type SendPosition} from '../../../src/session/send-ratchet.js'

const root = (): Buffer => Buffer.alloc(32, 0x5a)
const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0)

function pos(r: ReturnType<SendRatchet['next']>): SendPosition {
  assert.ok(typeof r !== 'string', `refused: ${String(r)}`)
  return r
}

test('epochs are 30 s of the sender clock and keep their grid after idle (section 7.4)', () => {
  const s = new SendRatchet(root(), 100)
  assert.deepEqual([pos(s.next(100)).epoch, s.expiresAt], [0, 130])
  assert.equal(pos(s.next(129.9)).epoch, 0)
  assert.equal(pos(s.next(130)).epoch, 1)
  assert.equal(s.expiresAt, 160)
  // Idle until 250: epochs 2, 3, 4 pass unused; 250 starts epoch 5 on the same grid.
  const p = pos(s.next(250))
  assert.deepEqual([p.epoch, p.index, s.expiresAt], [5, 0, 280])
  assert.equal(pos(s.next(279)).epoch, 5)
})

test('indices are used strictly in order from 0 in each epoch', () => {
  const s = new SendRatchet(root(), 0)
  const seen: string[] = []
  for (let i = 0; i < 50; i++) {
    const p = pos(s.next(i * 0.1))
    assert.deepEqual([p.epoch, p.index], [0, i])
    seen.push(p.key.toString('hex'))
  }
  assert.equal(new Set(seen).size, 50, 'every key is distinct')
  const p = pos(s.next(31))
  assert.deepEqual([p.epoch, p.index], [1, 0])
})

test('the old chain is erased at the epoch switch', () => {
  const s = new SendRatchet(root(), 0)
  pos(s.next(0))
  const held = [...s.secrets()].map((x) => x.bytes)
  assert.ok(held.length >= 3 && held.every((b) => !isZero(b)))
  s.advanceTime(30)
  assert.ok(held.every(isZero), 'every buffer of epoch 0 is zero')
  assert.ok([...s.secrets()].every((x) => x.epoch >= 1))
})

test('following the peer: the send epoch moves up, never down, and the new epoch lasts 30 s from now', () => {
  const s = new SendRatchet(root(), 0)
  s.followTo(3, 10)
  assert.deepEqual([s.epoch, s.expiresAt, s.index], [3, 40, 0])
  s.followTo(2, 11)
  assert.equal(s.epoch, 3)
  assert.equal(pos(s.next(39)).epoch, 3)
  assert.equal(pos(s.next(40)).epoch, 4)
})

test('epoch 65535 is the last: past it next() refuses (epoch-exhausted) instead of throwing', () => {
  const s = new SendRatchet(root(), 0)
  const last = MAX_EPOCH * 30
  assert.equal(s.rehandshakeDue, false)
  s.advanceTime((MAX_EPOCH - SEND_REHANDSHAKE_MARGIN_EPOCHS) * 30)
  assert.equal(s.rehandshakeDue, true, 'asks for a rehandshake before the end')
  const p = pos(s.next(last))
  assert.deepEqual([p.epoch, p.index], [MAX_EPOCH, 0])
  const held = [...s.secrets()].map((x) => x.bytes)
  assert.equal(s.next(last + 30), 'epoch-exhausted')
  assert.equal(s.refused, 'epoch-exhausted')
  assert.ok(held.every(isZero), 'keys wiped on refusal')
  assert.equal(s.next(last + 31), 'epoch-exhausted', 'stays refused')
  assert.equal(s.epoch, MAX_EPOCH)
})

test('a jump past 65535 in one step is refused without deriving it', () => {
  const s = new SendRatchet(root(), 0)
  const t0 = performance.now()
  assert.equal(s.next((MAX_EPOCH + 10) * 30), 'epoch-exhausted')
  assert.ok(performance.now() - t0 < 50)
  const f = new SendRatchet(root(), 0)
  f.followTo(MAX_EPOCH, 1)
  assert.equal(f.epoch, MAX_EPOCH)
  assert.equal(pos(f.next(2)).epoch, MAX_EPOCH)
})

test('position limits: 16-bit epoch, 32-bit index', () => {
  assert.equal(sendPositionRefusal(0, 0), undefined)
  assert.equal(sendPositionRefusal(MAX_EPOCH, 0xffff_ffff), undefined)
  assert.equal(sendPositionRefusal(MAX_EPOCH + 1, 0), 'epoch-exhausted')
  assert.equal(sendPositionRefusal(0, 0x1_0000_0000), 'index-exhausted')
})
