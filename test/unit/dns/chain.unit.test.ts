import assert from 'node:assert/strict'
import {test} from 'node:test'

import dnsPacket from 'dns-packet'

import {formatAnnouncementLabel} from '../../../src/dns/announcement.js'
import {analyzeChain, cacheTtlS, mayContainAnnouncement} from '../../../src/dns/chain.js'
import {rewriteAnswer} from '../../../src/dns/rewrite.js'
import {TYPE_A, TYPE_AAAA, parseMessage} from '../../../src/dns/wire.js'

const KEY = Uint8Array.from({length: 32}, (_, i) => i * 7)
const L = formatAnnouncementLabel(KEY, {pqcPort: 624, keyPort: 584})

function reply(qname: string, answers: dnsPacket.Answer[], extra: Partial<dnsPacket.Packet> = {}): Uint8Array {
  return dnsPacket.encode({id: 1, type: 'response', flags: 0, questions: [{type: 'A', name: qname}], answers, ...extra})
}

function chainOf(bytes: Uint8Array, qname: string, qtype = TYPE_A) {
  return analyzeChain(bytes, parseMessage(bytes)!, qname, qtype)
}

test('announcement found as owner, middle hop and target, in any case', () => {
  const owner = reply(`${L}.example`, [{type: 'A', name: `${L}.example`, ttl: 60, data: '192.0.2.1'}])
  assert.equal(chainOf(owner, `${L}.example`).announcement?.name, `${L}.example`)
  const target = reply('www.example', [{type: 'CNAME', name: 'www.example', ttl: 60, data: `${L.toUpperCase()}.example`},
    {type: 'A', name: `${L.toUpperCase()}.example`, ttl: 60, data: '192.0.2.1'}])
  const t = chainOf(target, 'www.example')
  assert.deepEqual(t.announcement?.value.keyHash, KEY)
  assert.deepEqual(t.addresses, ['192.0.2.1'])
  const mid = reply('www.example', [{type: 'CNAME', name: 'www.example', ttl: 60, data: `${L}.example`},
    {type: 'CNAME', name: `${L}.example`, ttl: 60, data: 'cdn.example'}, {type: 'A', name: 'cdn.example', ttl: 60, data: '192.0.2.2'}])
  const m = chainOf(mid, 'www.example')
  assert.equal(m.end, 'cdn.example')
  assert.equal(m.announcement?.name, `${L}.example`)
  assert.deepEqual(m.addresses, ['192.0.2.2'])
  assert.ok(mayContainAnnouncement(mid, 0, mid.length))
  const none = reply('www.example', [{type: 'A', name: 'www.example', ttl: 60, data: '192.0.2.3'}])
  assert.equal(mayContainAnnouncement(none, 0, none.length), false)
})

test('partial, looping and negative chains', () => {
  const partial = reply('www.example', [{type: 'CNAME', name: 'www.example', ttl: 60, data: 'other.example'}])
  assert.equal(chainOf(partial, 'www.example').partial, true)
  const loop = reply('a.example', [{type: 'CNAME', name: 'a.example', ttl: 60, data: 'b.example'}, {type: 'CNAME', name: 'b.example', ttl: 60, data: 'a.example'}])
  const l = chainOf(loop, 'a.example')
  assert.equal(l.broken, true)
  assert.equal(l.partial, false)
  const soa = {type: 'SOA', name: 'example', ttl: 600, data: {mname: 'ns.example', rname: 'h.example', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 30}} as dnsPacket.Answer
  const nodata = reply('www.example', [{type: 'CNAME', name: 'www.example', ttl: 60, data: 'other.example'}], {authorities: [soa]})
  assert.equal(chainOf(nodata, 'www.example').partial, false)
  const nm = parseMessage(nodata)!
  assert.equal(cacheTtlS(nodata, nm, false, 86400, 3600), 30) // min(CNAME 60, SOA 600, MINIMUM 30)
})

test('cache TTL: positive min TTL, capped; NXDOMAIN without SOA and SERVFAIL are not cached', () => {
  const pos = reply('a.example', [{type: 'A', name: 'a.example', ttl: 500, data: '192.0.2.1'}, {type: 'A', name: 'a.example', ttl: 90, data: '192.0.2.2'}])
  assert.equal(cacheTtlS(pos, parseMessage(pos)!, true, 86400, 3600), 90)
  assert.equal(cacheTtlS(pos, parseMessage(pos)!, true, 60, 3600), 60)
  const nx = reply('a.example', [], {flags: 3})
  assert.equal(cacheTtlS(nx, parseMessage(nx)!, false, 86400, 3600), 0)
  const sf = reply('a.example', [{type: 'A', name: 'a.example', ttl: 500, data: '192.0.2.1'}], {flags: 2})
  assert.equal(cacheTtlS(sf, parseMessage(sf)!, true, 86400, 3600), 0)
})

test('rewrite: one A with the internal address and TTL 0; AAAA removed; RRSIGs stripped; AD cleared', () => {
  const sig = {type: 'RRSIG', name: `${L}.example`, ttl: 60, data: {typeCovered: 'A', algorithm: 13, labels: 2, originalTTL: 60,
    expiration: 2, inception: 1, keyTag: 1, signersName: 'example', signature: Buffer.alloc(8)}} as dnsPacket.Answer
  const b = reply('www.example', [{type: 'CNAME', name: 'www.example', ttl: 60, data: `${L}.example`},
    {type: 'A', name: `${L}.example`, ttl: 60, data: '192.0.2.1'}, {type: 'A', name: `${L}.example`, ttl: 60, data: '192.0.2.9'}, sig],
  {flags: dnsPacket.AUTHENTIC_DATA})
  const out = dnsPacket.decode(Buffer.from(rewriteAnswer(b, TYPE_A, `${L}.example`, '10.43.1.2')!))
  assert.deepEqual(out.answers!.map((a) => [a.type, a.type === 'A' ? a.data : '', (a as {ttl?: number}).ttl]), [['CNAME', '', 60], ['A', '10.43.1.2', 0]])
  assert.equal(out.flag_ad, false)
  const six = dnsPacket.encode({id: 1, type: 'response', questions: [{type: 'AAAA', name: 'www.example'}], answers: [
    {type: 'CNAME', name: 'www.example', ttl: 60, data: `${L}.example`}, {type: 'AAAA', name: `${L}.example`, ttl: 60, data: '2001:db8::1'}]})
  const o6 = dnsPacket.decode(Buffer.from(rewriteAnswer(six, TYPE_AAAA, `${L}.example`, '')!))
  assert.deepEqual(o6.answers!.map((a) => a.type), ['CNAME'])
})
