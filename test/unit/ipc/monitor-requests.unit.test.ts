/**
 * The monitor's request vocabulary (security-tests.md P-2): valid requests parse to exact copies;
 * malformed, oversized, injected or role-forbidden ones get a typed refusal and never throw.
 */
import assert from 'node:assert/strict'
import {test} from 'node:test'

import fc from 'fast-check'

import {MONITOR_MAX_REQUEST_BYTES, NFT_MAX_STEERED_SERVERS} from '../../../src/constants.js'
import {parseMonitorRequest} from '../../../src/ipc/monitor-requests.js'

const SERVER = {realAddr: '192.0.2.9', internalAddr: '10.43.0.7', pqcPort: 624, keyPort: 584}
/** Random requests per property run (P-2 asks 10^6 in the long run: PQC_FUZZ_DATAGRAMS). */
const RUNS = Number(process.env.PQC_FUZZ_DATAGRAMS ?? 20_000)

test('valid requests parse to copies with exactly their fields', () => {
  assert.deepEqual(parseMonitorRequest({t: 'ready', id: 1}, 'resolver'), {ok: true, request: {t: 'ready', id: 1}})
  const r = parseMonitorRequest({t: 'steer', id: 7, servers: [SERVER]}, 'client-router')
  assert.deepEqual(r, {ok: true, request: {t: 'steer', id: 7, servers: [SERVER]}})
  assert.ok(r.ok && r.request.t === 'steer' && r.request.servers[0] !== SERVER, 'entries are copied')
})

test('the resolver and the server router may not steer', () => {
  for (const role of ['resolver', 'server-router'] as const) {
    const r = parseMonitorRequest({t: 'steer', id: 3, servers: []}, role)
    assert.deepEqual(r, {ok: false, reply: {t: 'error', id: 3, code: 'not-allowed', message: `'steer' is not allowed for the ${role} worker`}})
  }
})

test('injection strings, extra fields, bad addresses and oversize are refused with bad-request', () => {
  const bad: unknown[] = [
    {t: 'flush ruleset', id: 1},
    {t: 'steer', id: 1, servers: [{...SERVER, realAddr: '192.0.2.9; flush ruleset'}]},
    {t: 'steer', id: 1, servers: [{...SERVER, internalAddr: '10.43.0.7\n}'}]},
    {t: 'steer', id: 1, servers: [{...SERVER, extra: 'x'}]},
    {t: 'steer', id: 1, servers: [{...SERVER, pqcPort: 0}]},
    {t: 'steer', id: 1, servers: [{...SERVER, keyPort: 65536}]},
    {t: 'steer', id: 1, servers: 'all'},
    {t: 'steer', id: 1, servers: Array(NFT_MAX_STEERED_SERVERS + 1).fill(SERVER)},
    {t: 'ready', id: 1, also: 'steer'},
    {t: 'ready', id: -1}, {t: 'ready'}, {id: 1}, null, 'ready', 42, [], {t: 'ready', id: 2 ** 32},
    {t: 'steer', id: 1, servers: [{...SERVER, realAddr: '1.2.3.04'}]},
  ]
  for (const v of bad) {
    const r = parseMonitorRequest(v, 'client-router')
    assert.equal(r.ok, false, JSON.stringify(v)?.slice(0, 200))
    assert.ok(!r.ok && r.reply.t === 'error' && r.reply.code === 'bad-request', JSON.stringify(r))
  }
  const big = parseMonitorRequest({t: 'ping', id: 1}, 'resolver', MONITOR_MAX_REQUEST_BYTES + 1)
  assert.ok(!big.ok && big.reply.t === 'error' && big.reply.code === 'bad-request')
})

test(`${RUNS} random and mutated requests: never a throw, always ok or a typed refusal`, () => {
  const mutated = fc.record({
    t: fc.oneof(fc.constantFrom('ready', 'steer', 'ping', 'flush', '', 'steer\n'), fc.string()),
    id: fc.oneof(fc.nat(), fc.integer(), fc.double(), fc.string()),
    servers: fc.oneof(fc.array(fc.oneof(fc.constant(SERVER), fc.object(), fc.record({
      realAddr: fc.oneof(fc.ipV4(), fc.string()), internalAddr: fc.oneof(fc.ipV4(), fc.string()),
      pqcPort: fc.integer({min: -1, max: 70000}), keyPort: fc.integer({min: -1, max: 70000}),
    })), {maxLength: 8}), fc.anything()),
  }, {requiredKeys: []})
  let accepted = 0
  fc.assert(fc.property(fc.oneof(fc.anything(), mutated), fc.constantFrom('client-router', 'resolver', 'server-router' as const), (v, role) => {
    const r = parseMonitorRequest(v, role)
    if (r.ok) {
      accepted++
      assert.ok(['ready', 'steer', 'ping'].includes(r.request.t))
      if (r.request.t === 'steer') assert.equal(role, 'client-router')
    } else {
      assert.equal(r.reply.t, 'error')
      assert.ok(['bad-request', 'not-allowed'].includes(r.reply.t === 'error' ? r.reply.code : ''))
    }
  }), {numRuns: RUNS, seed: 424242})
  assert.ok(accepted > 0, 'the generator never produced a valid request: the property tested nothing')
})
