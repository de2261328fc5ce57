/**
 * The resolver's per-answer memo of the last pq1 rewrite (resolver/resolve.ts) and its synchronous
 * cache-hit path: a cached answer rewritten again for the same internal address gives the same
 * reply, a new address from the announcer is followed at once (the memo never serves a stale
 * address), AAAA stays empty, and plain hits are answered without a promise.
 */
import assert from 'node:assert/strict'
import {test} from 'node:test'

import dnsPacket from 'dns-packet'

import type {Announcer, AnnounceResult} from '../../../resolver/announce.js'
import {AnswerCache} from '../../../resolver/cache.js'
import {newCounters} from '../../../resolver/counters.js'
import {Resolver} from '../../../resolver/resolve.js'
import type {UpstreamPool, UpstreamQuestion} from '../../../resolver/upstream.js'
import {formatAnnouncementLabel} from '../../../src/dns/announcement.js'
import {parseMessage} from '../../../src/dns/wire.js'

const L = formatAnnouncementLabel(Uint8Array.from({length: 32}, (_, i) => i), {pqcPort: 624, keyPort: 584})
const PQ = `${L}.example`

function setup(addrs: string[]) {
  const counters = newCounters()
  let upstreamCalls = 0
  const upstreams = {
    query: async (uq: UpstreamQuestion) => {
      upstreamCalls++
      const type = uq.type === 28 ? 'AAAA' : uq.type === 1 ? 'A' : 'TXT'
      const answers: dnsPacket.Answer[] = type === 'TXT' ? [{type: 'TXT', name: uq.lname, ttl: 300, data: ['p=624']}]
        : [{type: 'CNAME', name: 'www.example', ttl: 300, data: PQ}]
      if (type === 'A') answers.push({type: 'A', name: PQ, ttl: 300, data: '192.0.2.7'})
      if (type === 'AAAA') answers.push({type: 'AAAA', name: PQ, ttl: 300, data: '2001:db8::7'})
      const bytes = dnsPacket.encode({type: 'response', id: 1, flags: dnsPacket.RECURSION_DESIRED, questions: [{type, name: uq.lname}], answers})
      return {bytes, msg: parseMessage(bytes)!, upstream: {trusted: true} as never}
    },
  }
  let i = 0
  const announcer = {addressFor: async (): Promise<AnnounceResult> => ({kind: 'rewrite', internalAddr: addrs[Math.min(i++, addrs.length - 1)]!})}
  const resolver = new Resolver({
    upstreams: upstreams as unknown as UpstreamPool, cache: new AnswerCache(16), counters, announcer: announcer as unknown as Announcer, logQueries: false,
  })
  return {resolver, counters, calls: () => upstreamCalls}
}

const query = (type: 'A' | 'AAAA', id: number): Uint8Array =>
  dnsPacket.encode({type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{type, name: 'www.example'}]})

async function answerData(r: Resolver, type: 'A' | 'AAAA', id: number): Promise<string[]> {
  const out = await r.handle(query(type, id), 'udp')
  assert.ok(out !== undefined)
  const p = dnsPacket.decode(Buffer.from(out))
  assert.equal(p.id, id)
  return (p.answers ?? []).filter((a) => a.type === type).map((a) => String((a as {data: unknown}).data))
}

test('a cached pq1 answer follows the announcer: same address reused, a new one applied at once', async () => {
  const {resolver, counters, calls} = setup(['10.43.0.5', '10.43.0.5', '10.43.9.9'])
  assert.deepEqual(await answerData(resolver, 'A', 1), ['10.43.0.5'])
  assert.deepEqual(await answerData(resolver, 'A', 2), ['10.43.0.5'])
  assert.deepEqual(await answerData(resolver, 'A', 3), ['10.43.9.9'])
  assert.deepEqual(await answerData(resolver, 'A', 4), ['10.43.9.9'])
  assert.equal(calls(), 1, 'one upstream query, then cache hits')
  assert.equal(counters.rewrites, 4)
  assert.equal(counters.cacheHits, 3)
})

test('AAAA of an announced name stays empty on hits; a plain hit is answered synchronously', async () => {
  const {resolver} = setup(['10.43.0.5'])
  assert.deepEqual(await answerData(resolver, 'AAAA', 1), [])
  assert.deepEqual(await answerData(resolver, 'AAAA', 2), [])
  // TXT at the pq1 name is not rewritten: once cached, handleNow returns the bytes directly.
  const txt = dnsPacket.encode({type: 'query', id: 9, questions: [{type: 'TXT', name: PQ}]})
  assert.ok((await resolver.handle(txt, 'udp')) !== undefined)
  const now = resolver.handleNow(txt, 'udp')
  assert.ok(now instanceof Uint8Array)
  assert.equal(dnsPacket.decode(Buffer.from(now)).id, 9)
})
