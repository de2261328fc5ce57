import assert from 'node:assert/strict'
import {test} from 'node:test'

import {
  EPHEMERAL_AHEAD_SLOTS, EPHEMERAL_MAX_SLOTS, EPHEMERAL_RETAIN_S, EphemeralKeyStore, slotOf, type EphemeralKeySet,
} from '../../../src/keyserver/ephemeral-store.js'

const keys = (tag: number): EphemeralKeySet => ({
  sntrupPublic: new Uint8Array(4).fill(tag), sntrupSecret: new Uint8Array(4).fill(tag),
  x25519Public: new Uint8Array(4).fill(tag), x25519Secret: new Uint8Array(4).fill(tag),
})

/** Drive the store as the server loop does: fill what is missing, prune. */
function tick(store: EphemeralKeyStore, now: number, made: EphemeralKeySet[]): void {
  for (const s of store.missing(now)) {
    const k = keys(s % 251)
    made.push(k)
    store.add(s, k, now)
  }
  store.prune(now)
}

test('a current key is served at every second of two days, across the day boundary', () => {
  const store = new EphemeralKeyStore()
  const made: EphemeralKeySet[] = []
  const start = 86_400 * 20_000 - 3600
  for (let t = start; t < start + 2 * 86_400; t += 1) {
    if (t % 10 === 0 || t === start) tick(store, t, made)
    const cur = store.current(t)
    assert.ok(cur !== undefined, `no key at ${t}`)
    assert.equal(cur.sntrupPublic[0], slotOf(t) % 251, `wrong slot at ${t}`)
    assert.ok(store.size <= EPHEMERAL_MAX_SLOTS)
  }
})

test('private keys are wiped once past retention, and no older key is kept', () => {
  const store = new EphemeralKeyStore()
  const made: EphemeralKeySet[] = []
  tick(store, 1000, made)
  const first = store.current(1000)!
  tick(store, slotOf(1000) + EPHEMERAL_RETAIN_S + 1, made)
  assert.ok(first.sntrupSecret.every((b) => b === 0) && first.x25519Secret.every((b) => b === 0))
  for (const k of store.candidates(slotOf(1000) + EPHEMERAL_RETAIN_S + 1)) assert.ok(k !== first)
})

test('handshake candidates are the held slots up to now, newest first', () => {
  const store = new EphemeralKeyStore()
  const made: EphemeralKeySet[] = []
  for (let t = 0; t <= 200; t += 30) tick(store, 3000 + t, made)
  const c = store.candidates(3200)
  assert.ok(c.length >= 4 && c.length <= EPHEMERAL_MAX_SLOTS)
  assert.equal(c[0], store.current(3200))
})

test('clock steps: forward serves the newest older key until new ones exist; backward drops future keys', () => {
  const store = new EphemeralKeyStore()
  const made: EphemeralKeySet[] = []
  tick(store, 10_000, made)
  // Jump forward 60 s without generating: the newest key before now still answers.
  assert.ok(store.current(10_060) !== undefined)
  // Jump back one hour: keys ahead of the new window are wiped, missing slots are asked for.
  store.prune(10_000 - 3600)
  assert.equal(store.size, 0)
  assert.equal(store.missing(10_000 - 3600).length, EPHEMERAL_AHEAD_SLOTS + 1)
})
