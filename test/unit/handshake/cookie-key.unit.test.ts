import assert from 'node:assert/strict'
import {test} from 'node:test'

import {cookieKeyInit, cookieKeyUpdate} from '../../../src/handshake/cookie-key.js'
import {hex} from '../../helpers/hex.js'

test('cookie key vector of section 12.2: master, seed and update randomness all zero', () => {
  const zero = (): Uint8Array => new Uint8Array(32)
  const state = cookieKeyInit(zero(), zero())
  const key = cookieKeyUpdate(state, zero())
  assert.equal(hex(key), '41a57d96be823c7965eef003a33703c2abdea58e781cb4fb8a27b2d507c7dea8')
  assert.ok(state.every((b) => b === 0), 'the previous state is wiped')
})
