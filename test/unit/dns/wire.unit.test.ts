import assert from 'node:assert/strict'
import {test} from 'node:test'

import dnsPacket from 'dns-packet'

import {TYPE_A, TYPE_OPT, encodeName, parseMessage, readName} from '../../../src/dns/wire.js'

test('parseMessage agrees with dns-packet on a compressed reply', () => {
  const p = dnsPacket.encode({
    id: 7, type: 'response', flags: dnsPacket.RECURSION_DESIRED, questions: [{type: 'A', name: 'WwW.Example.org'}],
    answers: [{type: 'CNAME', name: 'www.example.org', ttl: 30, data: 'x.example.org'}, {type: 'A', name: 'x.example.org', ttl: 20, data: '192.0.2.1'}],
    additionals: [{type: 'OPT', name: '.', udpPayloadSize: 1232, flags: dnsPacket.DNSSEC_OK} as dnsPacket.Answer],
  })
  const m = parseMessage(p)!
  assert.equal(m.id, 7)
  assert.equal(m.questions[0]!.name, 'WwW.Example.org')
  assert.equal(m.questions[0]!.lname, 'www.example.org')
  assert.deepEqual(m.records.map((r) => [r.lname, r.type, r.ttl]), [['www.example.org', 5, 30], ['x.example.org', TYPE_A, 20], ['.', TYPE_OPT, 32768]])
  assert.equal(m.opt?.udpSize, 1232)
  assert.equal(m.opt?.dnssecOk, true)
  assert.equal(m.length, p.length)
})

test('compression: backward pointers work, forward and self pointers are rejected', () => {
  // "a" at 12, then a pointer to 12 at 15.
  const ok = Uint8Array.of(...new Array(12).fill(0), 1, 0x61, 0, 0xc0, 12)
  assert.equal(readName(ok, 15)?.name, 'a')
  assert.equal(readName(ok, 15)?.next, 17)
  const self = Uint8Array.of(...new Array(12).fill(0), 0xc0, 12)
  assert.equal(readName(self, 12), undefined)
  const fwd = Uint8Array.of(...new Array(12).fill(0), 0xc0, 14, 1, 0x61, 0)
  assert.equal(readName(fwd, 12), undefined)
})

test('labels over 63 bytes, names over 255 bytes, truncation: undefined', () => {
  assert.equal(readName(Uint8Array.of(64, ...new Array(64).fill(0x61), 0), 0), undefined)
  const long: number[] = []
  for (let i = 0; i < 5; i++) long.push(63, ...new Array(63).fill(0x61))
  long.push(0)
  assert.equal(readName(Uint8Array.from(long), 0), undefined)
  assert.equal(readName(Uint8Array.of(3, 0x61), 0), undefined)
  assert.equal(parseMessage(Uint8Array.of(0, 1, 0, 0, 0, 1)), undefined)
})

test('encodeName round-trips escaped dots and rejects empty labels', () => {
  const wire = Uint8Array.of(3, 0x61, 0x2e, 0x62, 1, 0x63, 0)
  const n = readName(wire, 0)!
  assert.equal(n.name, 'a\\.b.c')
  assert.deepEqual(encodeName(n.name), wire)
  assert.deepEqual(encodeName('.'), Uint8Array.of(0))
  assert.equal(encodeName('a..b'), undefined)
})

test('two OPT records or an OPT outside the additional section are malformed', () => {
  const opt = {type: 'OPT', name: '.', udpPayloadSize: 512} as dnsPacket.Answer
  const two = dnsPacket.encode({id: 1, type: 'query', questions: [{type: 'A', name: 'a'}], additionals: [opt, opt]})
  assert.equal(parseMessage(two), undefined)
  const inAnswer = dnsPacket.encode({id: 1, type: 'query', questions: [{type: 'A', name: 'a'}], answers: [opt]})
  assert.equal(parseMessage(inAnswer), undefined)
})
