/**
 * The resolver against a real authoritative server (Debian's nsd) on loopback, driven by the
 * real `dig`: forwarding over UDP and TCP, CNAME chains, pq1 rewriting (owner, middle hop,
 * target, upper case, TXT ports), AAAA suppression, NXDOMAIN/NODATA, TTL-correct caching, TC,
 * the DoH canary, pipelined TCP, FORMERR.
 */
import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import net from 'node:net'
import {after, before, test} from 'node:test'

import {resolveConfig} from '../../resolver/config.js'
import {type RunningResolver, startResolver} from '../../resolver/main.js'
import {dig} from '../helpers/dig.js'
import {LABELS} from '../helpers/dns-zone.js'
import {ZONES} from '../helpers/dns-zone.js'
import {type Nsd, startNsd} from '../helpers/nsd.js'

let nsd: Nsd
let r: RunningResolver
let port: number

before(async () => {
  nsd = await startNsd(ZONES)
  r = await startResolver(resolveConfig({listen: '127.0.0.1:0', upstreams: [`127.0.0.1:${nsd.port}`]}))
  port = r.port
})

after(async () => {
  await r?.close()
  await nsd?.stop()
})

const internal = /^10\.43\.\d+\.\d+$/
const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms))

test('plain A and AAAA are forwarded over UDP and TCP', async () => {
  const a = await dig(port, 'plain.pqc.test', 'A')
  assert.equal(a.status, 'NOERROR')
  assert.deepEqual(a.answers.map((x) => x.data), ['192.0.2.10'])
  assert.ok(a.flags.includes('ra') && a.flags.includes('qr') && !a.flags.includes('aa'))
  const t = await dig(port, '+tcp', 'plain.pqc.test', 'AAAA')
  assert.deepEqual(t.answers.map((x) => x.data), ['2001:db8::10'])
})

test('a CNAME chain of plain names is passed through', async () => {
  const a = await dig(port, 'alias2.pqc.test')
  assert.deepEqual(a.answers.map((x) => x.type), ['CNAME', 'CNAME', 'A'])
  assert.equal(a.answers[2]!.data, '192.0.2.10')
})

test('pq1 as CNAME target: A becomes an internal address with TTL 0, stable across queries', async () => {
  const a = await dig(port, 'pq-direct.pqc.test')
  const last = a.answers.at(-1)!
  assert.equal(last.type, 'A')
  assert.match(last.data, internal)
  assert.equal(last.ttl, 0)
  assert.equal(a.answers.filter((x) => x.type === 'A').length, 1)
  const b = await dig(port, 'pq-direct.pqc.test')
  assert.equal(b.answers.at(-1)!.data, last.data)
  // The owner form (querying the pq1 name itself) and a two-hop chain map to the same server.
  const owner = await dig(port, `${LABELS.direct}.pqc.test`)
  assert.equal(owner.answers.at(-1)!.data, last.data)
  const two = await dig(port, 'pq-two.pqc.test')
  assert.deepEqual(two.answers.map((x) => x.type), ['CNAME', 'CNAME', 'A'])
  assert.equal(two.answers.at(-1)!.data, last.data)
})

test('AAAA of an announced name has no records (no IPv6 bypass)', async () => {
  const a = await dig(port, 'pq-direct.pqc.test', 'AAAA')
  assert.equal(a.status, 'NOERROR')
  assert.equal(a.answers.filter((x) => x.type === 'AAAA').length, 0)
  assert.equal(a.answers.filter((x) => x.type === 'CNAME').length, 1)
  // A plain name keeps its AAAA.
  assert.equal((await dig(port, 'cdn.pqc.test', 'AAAA')).answers[0]!.data, '2001:db8::30')
})

test('pq1 as a middle hop: the A at the end of the chain is rewritten', async () => {
  const a = await dig(port, 'pq-mid.pqc.test')
  assert.deepEqual(a.answers.map((x) => x.type), ['CNAME', 'CNAME', 'A'])
  assert.equal(a.answers[2]!.name, 'cdn.pqc.test.')
  assert.match(a.answers[2]!.data, internal)
  assert.notEqual(a.answers[2]!.data, (await dig(port, 'pq-direct.pqc.test')).answers.at(-1)!.data)
  // The end name asked directly is not an announcement: real address.
  assert.equal((await dig(port, 'cdn.pqc.test')).answers[0]!.data, '192.0.2.30')
})

test('upper-case PQ1 labels and 0x20 queries are recognised; the question is echoed exactly', async () => {
  const up = await dig(port, 'pq-upper.pqc.test')
  assert.match(up.answers.at(-1)!.data, internal)
  const mixed = await dig(port, 'Pq-DiReCt.PqC.tEsT')
  assert.equal(mixed.question, 'Pq-DiReCt.PqC.tEsT.')
  assert.match(mixed.answers.at(-1)!.data, internal)
})

test('portless pq1 name: TXT p= and ks. records give the ports; TXT queries pass through', async () => {
  const a = await dig(port, 'pq-txt.pqc.test')
  assert.match(a.answers.at(-1)!.data, internal)
  const s = r.status().servers.find((x) => x.name === `${LABELS.txt}.pqc.test`)
  assert.ok(s, 'server listed')
  assert.equal(s.pqcPort, 624)
  assert.equal(s.keyPort, 584)
  assert.deepEqual(s.realAddrs, ['192.0.2.40'])
  assert.equal(s.internalAddr, a.answers.at(-1)!.data)
  const txt = await dig(port, `${LABELS.txt}.pqc.test`, 'TXT')
  assert.equal(txt.answers[0]!.data, '"p=624"')
  const ks = await dig(port, `ks.${LABELS.txt}.pqc.test`, 'TXT')
  assert.equal(ks.answers[0]!.data, '"ip=192.0.2.40;p=584"')
  const direct = r.status().servers.find((x) => x.name === `${LABELS.direct}.pqc.test`)
  assert.equal(direct?.pqcPort, 624)
  assert.equal(direct?.keyPort, 584)
})

test('NXDOMAIN and NODATA carry the SOA and are cached (RFC 2308)', async () => {
  const nx = await dig(port, 'nope.pqc.test')
  assert.equal(nx.status, 'NXDOMAIN')
  assert.equal(nx.authority[0]!.type, 'SOA')
  assert.ok(nx.authority[0]!.ttl <= 60)
  const before = r.counters.upstreamQueries
  const again = await dig(port, 'nope.pqc.test')
  assert.equal(again.status, 'NXDOMAIN')
  assert.equal(r.counters.upstreamQueries, before, 'answered from the negative cache')
  const nodata = await dig(port, 'plain.pqc.test', 'TXT')
  assert.equal(nodata.status, 'NOERROR')
  assert.equal(nodata.answers.length, 0)
  assert.equal(nodata.authority[0]!.type, 'SOA')
})

test('cache hits decrement TTLs and expire exactly at the TTL', async () => {
  const first = await dig(port, 'ttl5.pqc.test')
  assert.equal(first.answers[0]!.ttl, 5)
  const q0 = r.counters.upstreamQueries
  const h0 = r.counters.cacheHits
  await sleep(2100)
  const hit = await dig(port, 'TTL5.pqc.test')
  assert.equal(r.counters.upstreamQueries, q0)
  assert.equal(r.counters.cacheHits, h0 + 1)
  assert.ok(hit.answers[0]!.ttl >= 2 && hit.answers[0]!.ttl <= 3, `ttl ${hit.answers[0]!.ttl}`)
  assert.equal(hit.question, 'TTL5.pqc.test.')
  await sleep(3100)
  const fresh = await dig(port, 'ttl5.pqc.test')
  assert.equal(fresh.answers[0]!.ttl, 5)
  assert.equal(r.counters.upstreamQueries, q0 + 1)
})

test('a large answer: upstream TC is retried over TCP; a non-EDNS client gets TC, then TCP', async () => {
  const tcp0 = r.counters.upstreamTcpRetries
  const big = await dig(port, 'big.pqc.test', 'TXT')
  assert.equal(big.answers.length, 24)
  assert.ok(r.counters.upstreamTcpRetries > tcp0)
  const small = await dig(port, '+noedns', '+ignore', 'big.pqc.test', 'TXT')
  assert.ok(small.flags.includes('tc'))
  assert.equal(small.answers.length, 0)
  const viaTcp = await dig(port, '+noedns', 'big.pqc.test', 'TXT')
  assert.equal(viaTcp.answers.length, 24)
})

test('use-application-dns.net gets NXDOMAIN', async () => {
  assert.equal((await dig(port, 'use-application-dns.net')).status, 'NXDOMAIN')
})

test('a CNAME loop is answered, not followed forever', async () => {
  const a = await dig(port, 'loop1.pqc.test')
  assert.ok(a.status === 'NOERROR' || a.status === 'SERVFAIL', a.status)
})

function query(id: number, name: string): Buffer {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]))
  return Buffer.concat([Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels, Buffer.from([0, 0, 1, 0, 1])])
}

test('pipelined TCP: three queries in one write, three framed answers with their IDs', async () => {
  const ids = [0x1111, 0x2222, 0x3333]
  const names = ['plain.pqc.test', 'alias.pqc.test', 'pq-direct.pqc.test']
  const got = await new Promise<number[]>((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1')
    let buf = Buffer.alloc(0)
    const seen: number[] = []
    s.on('error', reject)
    s.on('connect', () => s.write(Buffer.concat(ids.map((id, i) => {
      const q = query(id, names[i]!)
      return Buffer.concat([Buffer.from([q.length >> 8, q.length & 255]), q])
    }))))
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d])
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0)
        seen.push(buf.readUInt16BE(2))
        buf = buf.subarray(2 + len)
      }
      if (seen.length === 3) {
        s.destroy()
        resolve(seen)
      }
    })
  })
  assert.deepEqual([...got].sort(), [...ids].sort())
})

async function udpExchange(bytes: Uint8Array, waitMs = 500): Promise<Buffer | undefined> {
  const s = dgram.createSocket('udp4')
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      s.close()
      resolve(undefined)
    }, waitMs)
    s.on('message', (m) => {
      clearTimeout(t)
      s.close()
      resolve(m)
    })
    s.send(bytes, port, '127.0.0.1')
  })
}

test('malformed queries: FORMERR with the same ID, or dropped when even the header is short', async () => {
  const bad = Buffer.from([0xab, 0xcd, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x3f, 0x61])
  const reply = await udpExchange(bad)
  assert.ok(reply)
  assert.equal(reply.readUInt16BE(0), 0xabcd)
  assert.equal(reply[3]! & 0xf, 1)
  assert.equal(await udpExchange(Buffer.from([1, 2, 3]), 300), undefined)
  // The resolver still answers afterwards.
  assert.equal((await dig(port, 'plain.pqc.test')).answers[0]!.data, '192.0.2.10')
})

test('an unknown opcode gets NOTIMP', async () => {
  const q = query(0x4242, 'plain.pqc.test')
  q[2] = 0x10 | 1 // opcode 2 (STATUS), RD
  const reply = await udpExchange(q)
  assert.ok(reply)
  assert.equal(reply[3]! & 0xf, 4)
})

test('counters reflect the traffic', () => {
  const c = r.counters
  assert.ok(c.queries > 20)
  assert.ok(c.cacheHits > 0 && c.cacheMisses > 0)
  assert.ok(c.rewrites > 5)
  assert.equal(c.internalErrors, 0)
})
