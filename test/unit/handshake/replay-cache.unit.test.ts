import assert from 'node:assert/strict'
import {test} from 'node:test'

import {EPHEMERAL_KEY_LIFETIME_S, ReplayCache} from '../../../src/handshake/replay-cache.js'
import {RateLimiter} from '../../../src/handshake/rate-limit.js'

const c0 = (i: number): Uint8Array => new Uint8Array(194).fill(i & 0xff).map((v, j) => (j < 4 ? (i >> (8 * j)) & 0xff : v))

test('a replayed c0 is refused at +1 s, +60 s and +149 s, and forgotten only after the key lifetime', () => {
  const cache = new ReplayCache()
  assert.equal(cache.checkAndInsert(c0(1), 1000), 'fresh')
  for (const dt of [0, 1, 60, 149]) assert.equal(cache.checkAndInsert(c0(1), 1000 + dt), 'replay', `+${dt} s`)
  assert.equal(cache.has(c0(1), 1000 + EPHEMERAL_KEY_LIFETIME_S), false)
  assert.equal(cache.size, 0)
})

test('two handshakes in the same second do not overwrite each other (reference bug)', () => {
  const cache = new ReplayCache()
  assert.equal(cache.checkAndInsert(c0(1), 5), 'fresh')
  assert.equal(cache.checkAndInsert(c0(2), 5), 'fresh')
  assert.equal(cache.checkAndInsert(c0(1), 5), 'replay')
  assert.equal(cache.checkAndInsert(c0(2), 5), 'replay')
})

test('a full cache refuses new handshakes instead of forgetting old ones', () => {
  const cache = new ReplayCache({maxEntries: 3})
  for (let i = 0; i < 3; i++) assert.equal(cache.checkAndInsert(c0(i), 10), 'fresh')
  assert.equal(cache.checkAndInsert(c0(9), 11), 'full')
  assert.equal(cache.checkAndInsert(c0(0), 11), 'replay')
  assert.equal(cache.checkAndInsert(c0(9), 10 + EPHEMERAL_KEY_LIFETIME_S), 'fresh')
})

test('rate limiter: burst then steady rate per source, others unaffected, table bounded', () => {
  const rl = new RateLimiter({ratePerS: 2, burst: 4, maxSources: 3})
  let allowed = 0
  for (let i = 0; i < 10; i++) if (rl.allow('a', 0)) allowed++
  assert.equal(allowed, 4)
  assert.equal(rl.allow('b', 0), true)
  assert.equal(rl.allow('a', 0.4), false)
  assert.equal(rl.allow('a', 0.5), true)
  rl.allow('c', 1)
  rl.allow('d', 1)
  assert.equal(rl.size, 3)
})
