import assert from 'node:assert/strict'
import {test} from 'node:test'

import {AddressPool} from '../../../src/dns/address-pool.js'
import {parseCryptoPortTxt, parseKeyPortTxt} from '../../../src/dns/txt-ports.js'

test('stable per key hash, distinct across keys, inside 10.43.0.0/16, never the TUN address', () => {
  const p = new AddressPool()
  const a = p.allocate('aa'.repeat(32), 1)
  assert.equal(p.allocate('aa'.repeat(32), 2), a)
  const seen = new Set<string>()
  for (let i = 0; i < 2000; i++) {
    const addr = p.allocate(i.toString(16).padStart(64, '0'), i)
    assert.ok(!seen.has(addr), `duplicate ${addr}`)
    assert.ok(p.contains(addr))
    assert.notEqual(addr, '10.43.0.1')
    assert.notEqual(addr, '10.43.0.0')
    assert.notEqual(addr, '10.43.255.255')
    seen.add(addr)
  }
  // Same key, fresh pool (e.g. after a restart): same address when there is no collision.
  assert.equal(new AddressPool().allocate('aa'.repeat(32), 1), a)
})

test('bounded: the least recently used server is forgotten when the table is full', () => {
  const p = new AddressPool('10.43.0.0/29', ['10.43.0.1'], 100) // 8 addresses: 5 usable
  const keys = ['1', '2', '3', '4', '5', '6'].map((k) => k.repeat(64))
  const addrs = keys.slice(0, 5).map((k, i) => p.allocate(k, i))
  assert.equal(new Set(addrs).size, 5)
  p.allocate(keys[0]!, 10) // key 0 used again: key 1 is now the oldest
  const sixth = p.allocate(keys[5]!, 11)
  assert.equal(p.size, 5)
  assert.equal(p.lookup(keys[1]!), undefined)
  assert.equal(sixth, addrs[1])
  assert.equal(p.lookup(keys[0]!), addrs[0])
})

test('TXT port records (section 2.2)', () => {
  assert.equal(parseCryptoPortTxt(['v=spf1', 'p=624']), 624)
  assert.equal(parseCryptoPortTxt(['p=0']), undefined)
  assert.equal(parseCryptoPortTxt(['p=1=2']), undefined)
  assert.equal(parseKeyPortTxt(['ip=195.201.35.121;p=42425']), 42425)
  assert.equal(parseKeyPortTxt(['p=42425']), undefined)
  assert.equal(parseKeyPortTxt(['ip=1.2.3.4;p=70000']), undefined)
})
