/**
 * Fuzz of the DNS resolver's two UDP inputs (security-tests.md S-1, S-3, D-1, D-3, M-1; issue 6),
 * through the real pipeline of resolver/main.ts (Resolver.handleNow, cache, announcer, the real
 * UpstreamPool) with in-memory sockets: (1) random and mutated client queries on the listening
 * port; (2) random, mutated and spoofed upstream replies racing the genuine one. Gates: nothing
 * throws or is counted as an internal error; no reply to what is not a query; error replies no
 * longer than the query; an upstream reply is accepted only from the queried address and port,
 * with the query's ID and question; tables stay bounded; the heap stays bounded; a legitimate
 * query resolves (and rewrites) after the fuzz. Volume: PQC_FUZZ_DATAGRAMS (test:fuzz: 10^6).
 */
import assert from 'node:assert/strict'
import {after, before, test} from 'node:test'
import {setImmediate as realImmediate} from 'node:timers/promises'

import dnsPacket from 'dns-packet'

import {RESOLVER_MAX_SERVERS, UPSTREAM_QUERY_DEADLINE_MS, UPSTREAM_UDP_SOCKETS} from '../../../src/constants.js'
import {admitQuery} from '../../../src/dns/query.js'
import {parseMessage} from '../../../src/dns/wire.js'
import {DatagramFuzzer, fuzzSeed, fuzzVolume, heapBound, heapUsed, prng, rateLine} from '../../helpers/fuzz-datagrams.js'
import {
  FUZZ_CACHE_ENTRIES, FUZZ_POOL_ADDRESSES, UPSTREAM, dnsPipeline, genuineReply, installFakeSockets, seedQueries, type DnsPipeline,
} from '../../helpers/fuzz-dns.js'

/** Client queries handled between two deliveries of upstream answers. */
const QUERY_ROUND = 256
/** Fuzzed upstream datagrams delivered ahead of each genuine reply. */
const RACE_DATAGRAMS = 16
/** Real time a query may take before the test calls it stuck: the upstream deadline plus a margin. */
const QUERY_STUCK_MS = UPSTREAM_QUERY_DEADLINE_MS + 2000

let fake: ReturnType<typeof installFakeSockets>

before(() => {
  fake = installFakeSockets()
})

after(() => fake.restore())

/** The fake upstream answers every captured query genuinely; returns how many. */
function answerAll(): number {
  let n = 0
  for (let s = fake.sends.shift(); s !== undefined; s = fake.sends.shift()) {
    s.sock.deliver(genuineReply(s.bytes), s.host, s.port)
    n++
  }
  return n
}

/** Waits for `p` while the fake upstream answers. */
async function settle<T>(p: Promise<T>): Promise<T> {
  let done = false
  const out = p.finally(() => {
    done = true
  })
  for (const t0 = performance.now(); !done;) {
    assert.ok(performance.now() - t0 < QUERY_STUCK_MS, 'a query never finished')
    answerAll()
    await realImmediate()
  }
  return out
}

function liveSockets(): number {
  return fake.sockets.filter((s) => !s.closed).length
}

/** The state a fuzz must not grow beyond its bounds, and must not leave in flight. */
function checkBounded(dp: DnsPipeline): void {
  assert.equal(dp.counters.internalErrors, 0, 'no internal error')
  assert.ok(dp.cache.size <= FUZZ_CACHE_ENTRIES)
  assert.ok(dp.pool.size <= FUZZ_POOL_ADDRESSES)
  assert.ok(dp.announcer.servers().length <= RESOLVER_MAX_SERVERS)
  assert.ok(liveSockets() <= UPSTREAM_UDP_SOCKETS * 2, `${liveSockets()} upstream sockets open`)
  assert.equal(fake.sends.length, 0, 'no upstream query left unanswered')
}

/** After the fuzz, plain and pq1 names still resolve (and the pq1 one is rewritten into the pool). */
async function checkLegit(dp: DnsPipeline): Promise<void> {
  dp.cache.clear()
  for (const [name, want] of [['legit.example', /^192\.0\.2\./], ['cname-legit.example', /^10\.43\./]] as const) {
    const q = Uint8Array.from(dnsPacket.encode({id: 4242, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{type: 'A', name}]}))
    const out = await settle(dp.resolver.handle(q, 'udp'))
    assert.ok(out !== undefined)
    const a = dnsPacket.decode(Buffer.from(out)).answers?.find((r) => r.type === 'A') as {data?: unknown} | undefined
    assert.ok(a !== undefined && want.test(String(a.data)), `${name}: ${JSON.stringify(a)}`)
  }
}

test('DNS listening port: random and mutated queries never throw, garbage gets no reply, tables stay bounded', async () => {
  const dp = dnsPipeline()
  const n = fuzzVolume()
  const seeds = seedQueries()
  const fuzz = new DatagramFuzzer(fuzzSeed(0x5eed_0053), seeds, [12, ...seeds.map((q) => q.length)], 0.05)
  const stats = {noReply: 0, replies: 0, errorReplies: 0, async: 0, maxErrorRatio: 0}
  const heap0 = heapUsed()
  const t0 = performance.now()
  const pending: Array<Promise<void>> = []
  const check = (d: Uint8Array, out: Uint8Array | undefined): void => {
    if (out === undefined) {
      stats.noReply++
      return
    }
    stats.replies++
    assert.ok(d.length >= 12 && (d[2]! & 0x80) === 0, 'a reply only to something with a query header')
    assert.ok(out.length >= 12 && out[0] === d[0] && out[1] === d[1] && (out[2]! & 0x80) !== 0, 'reply header')
    assert.ok(out.length <= 4096)
  }
  for (let i = 0; i < n; i++) {
    const d = fuzz.next().data
    const out = dp.resolver.handleNow(d, 'udp') // a throw here fails the test
    if (out instanceof Promise) {
      stats.async++
      pending.push(out.then((o) => check(d, o)))
    } else {
      check(d, out)
      if (out !== undefined && admitQuery(d).kind === 'reply') {
        // FORMERR / NOTIMP / BADVERS / REFUSED: never longer than what came in.
        stats.errorReplies++
        stats.maxErrorRatio = Math.max(stats.maxErrorRatio, out.length / d.length)
        assert.ok(out.length <= d.length, `error reply of ${out.length} bytes to ${d.length}`)
      }
    }
    if (pending.length >= QUERY_ROUND || i === n - 1) {
      await settle(Promise.all(pending.splice(0)))
    }
  }
  const ms = performance.now() - t0
  const heap1 = heapUsed()
  const c = dp.counters
  console.log(rateLine('DNS listening port', n, ms))
  console.log(`# kinds ${JSON.stringify(fuzz.made)}`)
  console.log(`# ${JSON.stringify(stats)}; dropped ${c.dropped}, formerr ${c.formerr}, notimp ${c.notimp}, refused ${c.refused}, ` +
    `badvers ${c.badvers}, servfail ${c.servfail}, upstream queries ${c.upstreamQueries}, cache ${dp.cache.size}`)
  console.log(`# heap delta ${((heap1.bytes - heap0.bytes) / 1024).toFixed(0)} KiB (${heap1.exact ? 'after GC' : 'no --expose-gc'})`)
  assert.equal(stats.noReply + stats.replies, n)
  assert.ok(stats.noReply > 0 && stats.errorReplies > 0 && stats.async > 0, 'every path ran')
  assert.equal(c.upstreamReplies, c.upstreamQueries, 'every upstream query answered once')
  checkBounded(dp)
  assert.ok(heap1.bytes - heap0.bytes < heapBound(heap1.exact), `heap grew ${heap1.bytes - heap0.bytes} bytes`)
  await checkLegit(dp)
  dp.upstreams.close()
})

/** Would a correct RFC 5452 matcher take datagram `d` from (host, port) as the reply to upstream query `q`? */
function matches(d: Uint8Array, host: string, port: number, q: Uint8Array): boolean {
  if (host !== UPSTREAM.host || port !== UPSTREAM.port || d.length < 12) return false
  if (d[0] !== q[0] || d[1] !== q[1] || (d[2]! & 0x80) === 0 || (d[2]! & 0x78) !== 0) return false
  if (d[4] !== 0 || d[5] !== 1) return false
  // The question, byte for byte up to ASCII case (the first name cannot be compressed).
  const qEnd = q.indexOf(0, 12) + 5
  if (d.length < qEnd) return false
  for (let i = 12; i < qEnd; i++) {
    const a = d[i]!
    const b = q[i]!
    if (a !== b && !((a | 0x20) === (b | 0x20) && (a | 0x20) >= 0x61 && (a | 0x20) <= 0x7a)) return false
  }
  return true
}

test('DNS upstream replies: random, mutated and spoofed replies race the genuine one; only matching ones count', async () => {
  const dp = dnsPipeline()
  const n = fuzzVolume()
  const rnd = prng(fuzzSeed(0x5eed_0054))
  const fuzz = new DatagramFuzzer(fuzzSeed(0x5eed_0055), [], [12, 512, 1232])
  const stats = {queries: 0, delivered: 0, accepted: 0, acceptedMutated: 0, wrongSource: 0, servfail: 0, slowestMs: 0}
  const heap0 = heapUsed()
  const t0 = performance.now()
  let lastAccepted = ''
  const prefixes = ['c', 'p', 'n', 'a', 'w']
  const types: dnsPacket.RecordType[] = ['A', 'A', 'A', 'AAAA', 'TXT']
  while (stats.delivered < n) {
    const id = Math.floor(rnd() * 0x10000)
    const name = `${prefixes[Math.floor(rnd() * prefixes.length)]}${Math.floor(rnd() * 1e6)}.example`
    const q = Uint8Array.from(dnsPacket.encode({id, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{type: types[Math.floor(rnd() * types.length)]!, name}]}))
    stats.queries++
    let done = false
    const p = dp.resolver.handle(q, 'udp').finally(() => {
      done = true
    })
    const tq = performance.now()
    for (; !done;) {
      assert.ok(performance.now() - tq < QUERY_STUCK_MS, `query ${name} never finished: ${JSON.stringify(stats)} ${JSON.stringify(dp.counters)} sockets ${fake.sockets.length}/${liveSockets()}`)
      const s = fake.sends.shift()
      if (s === undefined) {
        await realImmediate()
        continue
      }
      const genuine = genuineReply(s.bytes)
      for (let k = 0; k < RACE_DATAGRAMS && stats.delivered < n; k++) {
        const d = rnd() < 0.8 ? fuzz.mutate(genuine).data : fuzz.next().data
        const r = rnd()
        const [host, port] = r < 0.8 ? [s.host, s.port] : r < 0.9 ? [s.host, 5353] : ['192.0.2.54', s.port]
        const before = dp.counters.upstreamReplies
        s.sock.deliver(d, host, port) // a throw here fails the test
        stats.delivered++
        if (dp.counters.upstreamReplies === before) continue
        if (host !== s.host || port !== s.port) stats.wrongSource++
        assert.ok(matches(d, host, port, s.bytes), `accepted a non-matching reply ${Buffer.from(d.subarray(0, 24)).toString('hex')} from ${host}:${port}`)
        stats.accepted++
        stats.acceptedMutated++
        lastAccepted = Buffer.from(d).toString('hex')
        break
      }
      const before = dp.counters.upstreamReplies
      s.sock.deliver(genuine, s.host, s.port)
      if (dp.counters.upstreamReplies !== before) stats.accepted++
    }
    const out = await p
    stats.slowestMs = Math.max(stats.slowestMs, performance.now() - tq)
    assert.ok(out !== undefined && out.length >= 12 && out[0] === q[0] && out[1] === q[1], 'a well-formed query always gets a reply')
    assert.ok(parseMessage(out) !== undefined, `our reply parses: ${Buffer.from(out).toString('hex')} (query ${Buffer.from(q).toString('hex')}, last accepted ${lastAccepted})`)
    if ((out[3]! & 0x0f) === 2) stats.servfail++
  }
  while (fake.sends.length > 0) answerAll()
  const ms = performance.now() - t0
  const heap1 = heapUsed()
  const c = dp.counters
  console.log(rateLine('DNS upstream replies', stats.delivered, ms))
  console.log(`# kinds ${JSON.stringify(fuzz.made)}`)
  console.log(`# ${JSON.stringify(stats)}; mismatched ${c.upstreamMismatched}, rewrites ${c.rewrites}, chains completed ${c.chainsCompleted}, ` +
    `TCP retries ${c.upstreamTcpRetries}, cache ${dp.cache.size}, pool ${dp.pool.size}`)
  console.log(`# heap delta ${((heap1.bytes - heap0.bytes) / 1024).toFixed(0)} KiB (${heap1.exact ? 'after GC' : 'no --expose-gc'})`)
  assert.equal(stats.wrongSource, 0, 'never accepted from another address or port')
  assert.ok(stats.acceptedMutated > 0 && c.upstreamMismatched > 0 && c.rewrites > 0, 'both outcomes and the rewrite ran')
  checkBounded(dp)
  assert.ok(heap1.bytes - heap0.bytes < heapBound(heap1.exact), `heap grew ${heap1.bytes - heap0.bytes} bytes`)
  await checkLegit(dp)
  dp.upstreams.close()
})

test('regression (found by this fuzz): compression pointers into the header or to names running past the pointer are refused', async () => {
  const dp = dnsPipeline()
  const name = 'w516624.example'
  const query = (id: number): Uint8Array => Uint8Array.from(dnsPacket.encode({id, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{type: 'A', name}]}))
  // The genuine answer with its owner pointer c0 0c bent to c0 00 (offset 0: the ID bytes).
  const bent = (q: Uint8Array): Uint8Array => {
    const r = genuineReply(q)
    const at = at12(r)
    assert.deepEqual([r[at], r[at + 1]], [0xc0, 0x0c])
    r[at + 1] = 0x00
    return r
  }
  const r0 = bent(query(0x2e46))
  assert.equal(parseMessage(r0), undefined, 'the parser refuses a pointer to offset 0')
  // A pointer whose name is a prior occurrence parses; one whose label runs past the pointer
  // (bytes a patched or truncated reply may no longer hold) is refused.
  const prior = Buffer.from('00018180000100020000000001710000010001c00c001000010000003c0006046162636400c01f000100010000003c0004c0000201', 'hex')
  const crossing = Buffer.from('00018180000100020000000001710000010001c00c001000010000003c00050661626364c01f000100010000003c0004c0000201', 'hex')
  assert.equal(parseMessage(prior)?.records[1]?.lname, 'abcd', 'the test can fail')
  assert.equal(parseMessage(crossing), undefined, 'the parser refuses a name that does not end before its pointer')
  const p = dp.resolver.handle(query(0x2e46), 'udp')
  await realImmediate()
  const s = fake.sends.shift()!
  s.sock.deliver(bent(s.bytes), s.host, s.port)
  // Refused as unparsable: the upstream pool waits for a reply it can read; the genuine one comes.
  assert.equal(dp.counters.upstreamMismatched, 1)
  const out = await settle(p)
  assert.ok(out !== undefined && parseMessage(out) !== undefined)
  for (const id of [0x7641, 0x0000, 0xffff]) {
    const again = await settle(dp.resolver.handle(query(id), 'udp'))
    assert.ok(again !== undefined && parseMessage(again) !== undefined, `reply to ID ${id} parses`)
  }
  dp.upstreams.close()
})

/** Offset of the first answer's owner in a reply built by genuineReply. */
function at12(r: Uint8Array): number {
  return r.indexOf(0, 12) + 5
}
