import assert from 'node:assert/strict'
import {test} from 'node:test'

import dnsPacket from 'dns-packet'

import {admitQuery, queryKey} from '../../../src/dns/query.js'
import {canonicalOptLayout, patchReply} from '../../../src/dns/reply.js'
import {parseMessage} from '../../../src/dns/wire.js'

const q = (name: string, extra: Partial<dnsPacket.Packet> = {}): Uint8Array =>
  dnsPacket.encode({id: 0x1234, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{type: 'A', name}], ...extra})

function admitted(bytes: Uint8Array) {
  const a = admitQuery(bytes)
  assert.equal(a.kind, 'query')
  return (a as Extract<typeof a, {kind: 'query'}>).query
}

test('admission: drop short and response packets, FORMERR, NOTIMP, BADVERS, REFUSED for AXFR, canary NXDOMAIN', () => {
  assert.deepEqual(admitQuery(Uint8Array.of(1, 2)), {kind: 'drop', reason: 'short'})
  assert.equal(admitQuery(dnsPacket.encode({id: 1, type: 'response', questions: [{type: 'A', name: 'a'}]})).kind, 'drop')
  const two = dnsPacket.encode({id: 9, type: 'query', questions: [{type: 'A', name: 'a'}, {type: 'A', name: 'b'}]})
  const f = admitQuery(two)
  assert.equal(f.kind === 'reply' && f.reason, 'formerr')
  const notimp = q('a.example')
  notimp[2] = 0x28 // opcode 5 (UPDATE)
  assert.equal((admitQuery(notimp) as {reason: string}).reason, 'notimp')
  const v1 = admitQuery(q('a.example', {additionals: [{type: 'OPT', name: '.', udpPayloadSize: 1232, ednsVersion: 1} as dnsPacket.Answer]}))
  assert.ok(v1.kind === 'reply' && v1.reason === 'badvers')
  const bv = dnsPacket.decode(Buffer.from((v1 as {bytes: Uint8Array}).bytes))
  assert.equal((bv.additionals![0] as dnsPacket.OptAnswer).extendedRcode, 1) // 16 = 1 << 4 | 0
  assert.equal((admitQuery(dnsPacket.encode({id: 1, type: 'query', questions: [{type: 'AXFR', name: 'a'}]})) as {reason: string}).reason, 'refused')
  const canary = admitQuery(q('USE-application-dns.net'))
  assert.ok(canary.kind === 'reply')
  const d = dnsPacket.decode(Buffer.from(canary.bytes))
  assert.equal((d as {rcode?: string}).rcode, 'NXDOMAIN')
  assert.equal(d.id, 0x1234)
  assert.equal(d.questions![0]!.name, 'USE-application-dns.net')
})

test('cache key: lowercased name, type, class, DO, CD', () => {
  const a = admitted(q('WWW.example.org'))
  const b = admitted(q('www.example.org', {additionals: [{type: 'OPT', name: '.', udpPayloadSize: 1232, flags: dnsPacket.DNSSEC_OK} as dnsPacket.Answer]}))
  const c = admitted(q('www.example.org', {flags: dnsPacket.RECURSION_DESIRED | dnsPacket.CHECKING_DISABLED}))
  assert.equal(queryKey(a), 'www.example.org|1|1|00')
  assert.equal(queryKey(b), 'www.example.org|1|1|10')
  assert.equal(queryKey(c), 'www.example.org|1|1|01')
})

function upstreamReply(name: string, ttl: number, withOpt: boolean, ad = false): Uint8Array {
  return dnsPacket.encode({
    id: 999, type: 'response', flags: dnsPacket.RECURSION_AVAILABLE | dnsPacket.AUTHORITATIVE_ANSWER | (ad ? dnsPacket.AUTHENTIC_DATA : 0),
    questions: [{type: 'A', name}], answers: [{type: 'A', name, ttl, data: '192.0.2.1'}],
    additionals: withOpt ? [{type: 'OPT', name: '.', udpPayloadSize: 1232, options: [{code: 10, data: Buffer.alloc(8, 1)}]} as unknown as dnsPacket.Answer] : [],
  })
}

test('patchReply: client ID and question case, TTL decremented, AA cleared, OPT without options', () => {
  const raw = upstreamReply('www.example.org', 300, true)
  const canon = canonicalOptLayout(raw, parseMessage(raw)!)!
  const m = parseMessage(canon)!
  const client = admitted(q('WwW.ExAmple.org', {additionals: [{type: 'OPT', name: '.', udpPayloadSize: 4096} as dnsPacket.Answer]}))
  const out = dnsPacket.decode(Buffer.from(patchReply(canon, m, client, {elapsedS: 100, keepAd: false, maxBytes: 4096})))
  assert.equal(out.id, 0x1234)
  assert.equal(out.questions![0]!.name, 'WwW.ExAmple.org')
  assert.equal((out.answers![0] as {ttl?: number}).ttl, 200)
  assert.equal(out.flag_aa, false)
  const opt = out.additionals![0] as dnsPacket.OptAnswer
  assert.deepEqual(opt.options, [])
  // Never below zero.
  const late = dnsPacket.decode(Buffer.from(patchReply(canon, m, client, {elapsedS: 1000, keepAd: false, maxBytes: 4096})))
  assert.equal((late.answers![0] as {ttl?: number}).ttl, 0)
})

test('patchReply: no OPT for a non-EDNS client; AD only when kept; TC when over the limit', () => {
  const raw = upstreamReply('www.example.org', 60, true, true)
  const canon = canonicalOptLayout(raw, parseMessage(raw)!)!
  const m = parseMessage(canon)!
  const plain = admitted(q('www.example.org'))
  const out = dnsPacket.decode(Buffer.from(patchReply(canon, m, plain, {elapsedS: 0, keepAd: false, maxBytes: 512})))
  assert.equal(out.additionals!.length, 0)
  assert.equal(out.flag_ad, false)
  const kept = dnsPacket.decode(Buffer.from(patchReply(canon, m, plain, {elapsedS: 0, keepAd: true, maxBytes: 512})))
  assert.equal(kept.flag_ad, true)
  const tc = dnsPacket.decode(Buffer.from(patchReply(canon, m, plain, {elapsedS: 0, keepAd: false, maxBytes: 40})))
  assert.equal(tc.flag_tc, true)
  assert.equal(tc.answers!.length, 0)
  assert.equal(tc.questions!.length, 1)
})
