/**
 * Fuzz of the resolver's query and reply paths (fast-check): random and mutated client queries,
 * and mutated upstream replies fed through the whole pipeline (admission, cache, chain
 * completion, pq1 rewrite, patching) with an in-memory upstream. Nothing may throw or be counted
 * as an internal error, and every table stays within its bound.
 */
import assert from 'node:assert/strict'
import {test} from 'node:test'

import dnsPacket from 'dns-packet'
import fc from 'fast-check'

import {Announcer} from '../../../resolver/announce.js'
import {AnswerCache} from '../../../resolver/cache.js'
import {newCounters} from '../../../resolver/counters.js'
import {Resolver} from '../../../resolver/resolve.js'
import type {UpstreamPool, UpstreamQuestion} from '../../../resolver/upstream.js'
import {replyMatches} from '../../../resolver/upstream.js'
import {AddressPool} from '../../../src/dns/address-pool.js'
import {formatAnnouncementLabel} from '../../../src/dns/announcement.js'
import {admitQuery} from '../../../src/dns/query.js'
import {parseMessage} from '../../../src/dns/wire.js'

const L = formatAnnouncementLabel(Uint8Array.from({length: 32}, (_, i) => i), {pqcPort: 624, keyPort: 584})
const opt = {type: 'OPT', name: '.', udpPayloadSize: 1232, flags: dnsPacket.DNSSEC_OK} as dnsPacket.Answer
const soa = {type: 'SOA', name: 'example', ttl: 60, data: {mname: 'ns.example', rname: 'h.example', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 30}} as dnsPacket.Answer

const SEED_QUERIES: Uint8Array[] = [
  dnsPacket.encode({id: 1, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{type: 'A', name: 'www.example'}]}),
  dnsPacket.encode({id: 2, type: 'query', questions: [{type: 'AAAA', name: 'www.example'}], additionals: [opt]}),
  dnsPacket.encode({id: 3, type: 'query', questions: [{type: 'TXT', name: `${L}.example`}]}),
]

const SEED_REPLIES: dnsPacket.Packet[] = [
  {type: 'response', answers: [{type: 'CNAME', name: 'www.example', ttl: 60, data: `${L}.example`}, {type: 'A', name: `${L}.example`, ttl: 60, data: '192.0.2.1'}], additionals: [opt]},
  {type: 'response', answers: [{type: 'CNAME', name: 'www.example', ttl: 60, data: `${L}.example`}, {type: 'CNAME', name: `${L}.example`, ttl: 60, data: 'www.example'}]},
  {type: 'response', answers: [{type: 'CNAME', name: 'www.example', ttl: 60, data: 'x.example'}]},
  {type: 'response', flags: 3, authorities: [soa], additionals: [opt]},
  {type: 'response', answers: [{type: 'AAAA', name: 'www.example', ttl: 60, data: '2001:db8::1'}, {type: 'TXT', name: 'www.example', ttl: 9, data: ['p=624']}]},
]

function mutate(seed: Uint8Array, edits: Array<[number, number, number]>): Uint8Array {
  let b = Uint8Array.from(seed)
  for (const [kind, pos, val] of edits) {
    const p = b.length === 0 ? 0 : pos % b.length
    if (kind === 0) b[p] = val
    else if (kind === 1) b = b.subarray(0, p)
    else if (kind === 2) b = Uint8Array.from([...b.subarray(0, p), val, ...b.subarray(p)])
    else b[p] = b[p]! ^ (1 << (val & 7))
  }
  return b
}

const edits = fc.array(fc.tuple(fc.integer({min: 0, max: 3}), fc.nat(2000), fc.integer({min: 0, max: 255})), {maxLength: 8})

function pipeline(nextReply: () => Uint8Array | undefined) {
  const counters = newCounters()
  const cache = new AnswerCache(64)
  const stub = {
    query: async (uq: UpstreamQuestion) => {
      const raw = nextReply()
      if (raw === undefined) return 'timeout' as const
      // Give the reply the asked question, as the real pool's matching guarantees.
      let bytes = raw
      try {
        const p = dnsPacket.decode(Buffer.from(raw))
        p.questions = [{type: ({1: 'A', 28: 'AAAA', 16: 'TXT'} as Record<number, dnsPacket.RecordType>)[uq.type] ?? 'A', name: uq.lname}]
        bytes = dnsPacket.encode(p)
      } catch {
        // keep raw
      }
      const msg = parseMessage(bytes)
      return msg === undefined ? 'timeout' as const : {bytes, msg, upstream: {trusted: true} as never}
    },
  }
  const pool = new AddressPool('10.43.0.0/16', ['10.43.0.1'], 32)
  const announcer: Announcer = new Announcer({router: undefined, pool, now: () => 0, lookupTxt: (n) => resolver.lookupTxt(n)})
  const resolver = new Resolver({upstreams: stub as unknown as UpstreamPool, cache, counters, announcer, logQueries: false})
  return {resolver, counters, cache, pool}
}

test('query path: random and mutated queries never throw; replies are well-formed or absent', async () => {
  const {resolver, counters, cache} = pipeline(() => dnsPacket.encode(SEED_REPLIES[0]!))
  await fc.assert(fc.asyncProperty(
    fc.oneof(fc.uint8Array({maxLength: 600}), fc.tuple(fc.integer({min: 0, max: SEED_QUERIES.length - 1}), edits).map(([i, e]) => mutate(SEED_QUERIES[i]!, e))),
    fc.boolean(),
    async (bytes, tcp) => {
      const adm = admitQuery(bytes)
      const out = await resolver.handle(bytes, tcp ? 'tcp' : 'udp')
      if (adm.kind === 'drop') assert.equal(out, undefined)
      if (out !== undefined) {
        assert.ok(out.length >= 12)
        assert.equal((out[2]! & 0x80), 0x80)
        if (!tcp) assert.ok(out.length <= 4096)
      }
    }), {numRuns: 3000})
  assert.equal(counters.internalErrors, 0)
  assert.ok(cache.size <= 64)
})

test('reply path: mutated upstream replies through cache, chains and rewrite never throw', async () => {
  let next: Uint8Array | undefined
  const {resolver, counters, cache, pool} = pipeline(() => next)
  const heap0 = process.memoryUsage().heapUsed
  await fc.assert(fc.asyncProperty(
    fc.integer({min: 0, max: SEED_REPLIES.length - 1}), edits, fc.integer({min: 0, max: SEED_QUERIES.length - 1}), fc.nat(0xffff),
    async (ri, e, qi, id) => {
      next = mutate(dnsPacket.encode({...SEED_REPLIES[ri]!, id, questions: [{type: 'A', name: 'www.example'}]}), e)
      cache.clear()
      const q = Uint8Array.from(SEED_QUERIES[qi]!)
      q[0] = id >> 8
      q[1] = id & 0xff
      const out = await resolver.handle(q, 'udp')
      assert.ok(out !== undefined, 'a well-formed query always gets a reply')
      const d = parseMessage(out)
      assert.ok(d !== undefined, 'our reply parses')
      assert.equal(d.id, id)
    }), {numRuns: 3000})
  assert.equal(counters.internalErrors, 0)
  // The runs reached the interesting paths, not only early rejections.
  assert.ok(counters.rewrites > 0 && counters.chainsCompleted > 0 && counters.servfail > 0, JSON.stringify(counters))
  assert.ok(pool.size <= 32)
  // Bounded memory: 3000 runs must not leave a growing heap behind (generous margin for the GC).
  assert.ok(process.memoryUsage().heapUsed - heap0 < 64 * 1024 * 1024)
})

test('upstream matching: random bytes never match a pending query', () => {
  const uq: UpstreamQuestion = {bytes: new Uint8Array(0), lname: 'www.example', type: 1, klass: 1, dnssecOk: false, cd: false}
  fc.assert(fc.property(fc.uint8Array({maxLength: 300}), fc.nat(0xffff), (bytes, id) => {
    const m = parseMessage(bytes)
    if (m !== undefined && replyMatches(m, id, uq)) {
      assert.equal(m.id, id)
      assert.equal(m.questions[0]!.lname, 'www.example')
    }
  }), {numRuns: 5000})
})
