import assert from 'node:assert/strict'
import {test} from 'node:test'

import {isSelf, parseHostPort, resolveConfig} from '../../../resolver/config.js'
import {FrameDecoder, encodeFrame} from '../../../src/ipc/frame.js'
import {decodeMessage} from '../../../src/ipc/messages.js'

const KH = 'ab'.repeat(32)

test('ipc frames: split and joined chunks, oversized and bad JSON are errors', () => {
  const a = encodeFrame({type: 'peer-gone', keyHash: KH})
  const b = encodeFrame({type: 'status-request', id: 3})
  const joined = new Uint8Array([...a, ...b])
  const d = new FrameDecoder()
  const r1 = d.push(joined.subarray(0, 7))
  assert.deepEqual(r1, {ok: true, values: []})
  const r2 = d.push(joined.subarray(7))
  assert.ok(r2.ok)
  assert.deepEqual(r2.values.map(decodeMessage), [{type: 'peer-gone', keyHash: KH}, {type: 'status-request', id: 3}])
  assert.deepEqual(new FrameDecoder(10).push(Uint8Array.of(0, 0, 0, 11)), {ok: false, error: 'oversized'})
  assert.deepEqual(new FrameDecoder().push(Uint8Array.of(0, 0, 0, 1, 0x7b)), {ok: false, error: 'bad-json'})
})

test('ipc messages are validated strictly', () => {
  const ok = {type: 'peer-announced', id: 1, name: 'pq1x.example', keyHash: KH, realAddrs: ['192.0.2.1'], pqcPort: 624, keyPort: 584}
  assert.deepEqual(decodeMessage(ok), ok)
  assert.equal(decodeMessage({...ok, keyHash: 'AB'.repeat(32)}), undefined)
  assert.equal(decodeMessage({...ok, realAddrs: ['192.0.2.256']}), undefined)
  assert.equal(decodeMessage({...ok, pqcPort: 0}), undefined)
  assert.equal(decodeMessage({...ok, realAddrs: new Array(26).fill('192.0.2.1')}), undefined)
  assert.equal(decodeMessage({type: 'peer-address', id: 1, internalAddr: 'x'}), undefined)
  assert.deepEqual(decodeMessage({type: 'peer-address', id: 1, internalAddr: '10.43.0.2'}), {type: 'peer-address', id: 1, internalAddr: '10.43.0.2'})
  assert.equal(decodeMessage({type: 'nope'}), undefined)
  assert.equal(decodeMessage(null), undefined)
  assert.equal(decodeMessage([1]), undefined)
})

test('config: address parsing and loop refusal', () => {
  assert.deepEqual(parseHostPort('9.9.9.9'), {host: '9.9.9.9', port: 53})
  assert.deepEqual(parseHostPort('[::1]:5353'), {host: '::1', port: 5353})
  assert.deepEqual(parseHostPort('::1'), {host: '::1', port: 53})
  assert.throws(() => parseHostPort('example.org'), /not an address/)
  assert.throws(() => parseHostPort('1.2.3.4:70000'), /not an address/)
  assert.ok(isSelf({host: '127.0.0.53', port: 53}, {host: '127.0.0.53', port: 53}))
  assert.ok(isSelf({host: '127.0.0.1', port: 53}, {host: '0.0.0.0', port: 53}))
  assert.ok(!isSelf({host: '127.0.0.1', port: 5353}, {host: '127.0.0.53', port: 53}))
  assert.throws(() => resolveConfig({upstreams: ['127.0.0.53']}), /forwarding loop/)
  assert.throws(() => resolveConfig({}), /no upstream/)
  assert.equal(resolveConfig({upstreams: ['9.9.9.9']}).listen.port, 53)
})
