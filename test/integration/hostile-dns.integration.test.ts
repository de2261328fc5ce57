/**
 * Hostile upstream answers against the resolver on loopback (security-tests.md D-1, D-3; reference
 * W7, W8), adding to resolver-upstreams.integration.test.ts (which covers wrong ID and wrong
 * question from the right source): replies with the right ID and question but from another port,
 * from another address, with QR=0 or opcode 2, including a forged pq1 CNAME; then compression
 * loops, forward pointers, labels over 63 bytes, names over 255, ANCOUNT 10^4, and 4000 records.
 * Pass: no forged reply accepted, no rewrite, SERVFAIL or truncation within the deadline, and
 * the resolver keeps answering.
 */
import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import {after, before, test} from 'node:test'

import {resolveConfig} from '../../resolver/config.js'
import {type RunningResolver, startResolver} from '../../resolver/main.js'
import {UPSTREAM_QUERY_DEADLINE_MS} from '../../src/constants.js'
import {formatAnnouncementLabel} from '../../src/dns/announcement.js'
import {dig} from '../helpers/dig.js'

type Reply = {bytes: Uint8Array; from?: 'upstream' | 'other-port' | 'other-address'; delayMs?: number}
type Script = (q: {id: number; name: string; question: Buffer}) => Reply[]

let upstream: dgram.Socket
let otherPort: dgram.Socket
let otherAddress: dgram.Socket
let resolver: RunningResolver
const scripts = new Map<string, Script>()

const bind = (addr: string, port = 0): Promise<dgram.Socket> => new Promise((resolve, reject) => {
  const s = dgram.createSocket('udp4')
  s.once('error', reject)
  s.bind(port, addr, () => resolve(s))
})

/** End of the question entry that starts at offset 12. */
function questionEnd(b: Buffer): number {
  let o = 12
  while (b[o]! !== 0) o += b[o]! + 1
  return o + 5
}

before(async () => {
  upstream = await bind('127.0.0.1')
  otherPort = await bind('127.0.0.1')
  otherAddress = await bind('127.0.0.2', upstream.address().port)
  upstream.on('message', (b, rinfo) => {
    const end = questionEnd(b)
    const labels: string[] = []
    for (let o = 12; b[o]! !== 0; o += b[o]! + 1) labels.push(b.subarray(o + 1, o + 1 + b[o]!).toString('latin1'))
    const q = {id: b.readUInt16BE(0), name: labels.join('.').toLowerCase(), question: Buffer.from(b.subarray(12, end))}
    const script = scripts.get(labels[0]!.toLowerCase())
    for (const r of script?.(q) ?? []) {
      const sock = r.from === 'other-port' ? otherPort : r.from === 'other-address' ? otherAddress : upstream
      setTimeout(() => sock.send(r.bytes, rinfo.port, rinfo.address), r.delayMs ?? 0)
    }
  })
  resolver = await startResolver(resolveConfig({listen: '127.0.0.1:0', upstreams: [`127.0.0.1:${upstream.address().port}`]}))
})

after(async () => {
  await resolver.close()
  for (const s of [upstream, otherPort, otherAddress]) s.close()
})

/** A reply: header (QR, RD, RA, given rcode/opcode), the question echoed, then `body` (answer records). */
function reply(q: {id: number; question: Buffer}, body: Buffer, o: {ancount?: number; qr?: boolean; opcode?: number} = {}): Buffer {
  const h = Buffer.alloc(12)
  h.writeUInt16BE(q.id, 0)
  h.writeUInt16BE(((o.qr ?? true) ? 0x8000 : 0) | ((o.opcode ?? 0) << 11) | 0x0180, 2)
  h.writeUInt16BE(1, 4)
  h.writeUInt16BE(o.ancount ?? 1, 6)
  return Buffer.concat([h, q.question, body])
}

/** An A record owned by the question name (pointer 0xc00c). */
const aRecord = (ip: string, owner: Uint8Array = Buffer.from([0xc0, 0x0c])): Buffer =>
  Buffer.concat([owner, Buffer.from([0, 1, 0, 1, 0, 0, 0, 60, 0, 4]), Buffer.from(ip.split('.').map(Number))])

const nameBytes = (name: string): Uint8Array => Buffer.concat([...name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])])

const PQ1 = formatAnnouncementLabel(Uint8Array.from({length: 32}, (_, i) => i + 7), {pqcPort: 624, keyPort: 584})

test('D-1: right ID and question from another port or address, QR=0, opcode 2, a forged pq1 CNAME: none accepted', async () => {
  scripts.set('spoofed', (q) => {
    const forgedCname = Buffer.concat([Buffer.from([0xc0, 0x0c, 0, 5, 0, 1, 0, 0, 0, 60]), (() => {
      const n = nameBytes(`${PQ1}.evil.example`)
      return Buffer.concat([Buffer.from([n.length >> 8, n.length & 0xff]), n])
    })()])
    return [
      {bytes: reply(q, aRecord('6.6.6.1')), from: 'other-port'},
      {bytes: reply(q, aRecord('6.6.6.2')), from: 'other-address'},
      {bytes: reply(q, forgedCname), from: 'other-port'},
      {bytes: reply(q, aRecord('6.6.6.3'), {qr: false})},
      {bytes: reply(q, aRecord('6.6.6.4'), {opcode: 2})},
      {bytes: reply(q, aRecord('192.0.2.7')), delayMs: 50},
    ]
  })
  const before = {...resolver.counters}
  const a = await dig(resolver.port, 'spoofed.example')
  assert.equal(a.status, 'NOERROR', a.raw)
  assert.deepEqual(a.answers.map((x) => x.data), ['192.0.2.7'])
  // All five forged replies reached the upstream socket and were refused by the matcher.
  assert.ok(resolver.counters.upstreamMismatched - before.upstreamMismatched >= 5, `${resolver.counters.upstreamMismatched - before.upstreamMismatched} mismatched`)
  assert.equal(resolver.counters.rewrites, before.rewrites)
})

/** Each malformed answer, alone, for its own name. */
const MALFORMED: Record<string, (q: {id: number; question: Buffer}) => Buffer> = {
  // Owner name is a pointer to itself (offset 12 + question length).
  loop: (q) => {
    const at = 12 + q.question.length
    return reply(q, Buffer.concat([Buffer.from([0xc0 | (at >> 8), at & 0xff]), aRecord('6.6.6.5').subarray(2)]))
  },
  // Owner name points forward, past the end of the message.
  forward: (q) => reply(q, Buffer.concat([Buffer.from([0xc3, 0xff]), aRecord('6.6.6.6').subarray(2)])),
  // A 64-byte label (the length byte 0x40 is also not a valid pointer or label type).
  biglabel: (q) => reply(q, aRecord('6.6.6.7', Buffer.concat([Buffer.from([64]), Buffer.alloc(64, 0x61), Buffer.from([0])]))),
  // A 300-byte name of 60-byte labels.
  longname: (q) => reply(q, aRecord('6.6.6.8', nameBytes(Array.from({length: 5}, () => 'b'.repeat(60)).join('.')))),
  // ANCOUNT 10^4 with 3 records present.
  ancount: (q) => reply(q, Buffer.concat([aRecord('6.6.6.9'), aRecord('6.6.6.10'), aRecord('6.6.6.11')]), {ancount: 10_000}),
  // rdlength 4, 2 bytes of rdata.
  shortrdata: (q) => reply(q, aRecord('6.6.6.12').subarray(0, 14)),
}

test('D-3: compression loop, forward pointer, 64-byte label, 300-byte name, ANCOUNT 10^4, truncated rdata: SERVFAIL in time, then service as usual', async () => {
  for (const [label, make] of Object.entries(MALFORMED)) scripts.set(label, (q) => [{bytes: make(q)}])
  scripts.set('fine', (q) => [{bytes: reply(q, aRecord('192.0.2.9'))}])
  const t0 = Date.now()
  const results = await Promise.all(Object.keys(MALFORMED).map(async (label) => ({label, r: await dig(resolver.port, `${label}.example`)})))
  const took = Date.now() - t0
  for (const {label, r} of results) {
    assert.equal(r.status, 'SERVFAIL', `${label}: ${r.raw}`)
    assert.ok(!r.raw.includes('6.6.6.'), label)
  }
  assert.ok(took < UPSTREAM_QUERY_DEADLINE_MS + 1500, `${took} ms`)
  const t1 = Date.now()
  const ok = await dig(resolver.port, 'fine.example')
  assert.deepEqual(ok.answers.map((x) => x.data), ['192.0.2.9'])
  assert.ok(Date.now() - t1 < 1000, `${Date.now() - t1} ms`)
  console.log(`# ${results.length} malformed answers: all SERVFAIL in ${took} ms; a normal name then in ${Date.now() - t1} ms`)
})

test('4000 A records in one 64 KB UDP answer: answered within the deadline (truncated, or SERVFAIL), never hangs', async () => {
  const COUNT = 4000
  scripts.set('huge', (q) => [{bytes: reply(q, Buffer.concat(Array.from({length: COUNT}, (_, i) => aRecord(`198.18.${i >> 8}.${i & 255}`))), {ancount: COUNT})}])
  scripts.set('after-huge', (q) => [{bytes: reply(q, aRecord('192.0.2.10'))}])
  const t0 = Date.now()
  const r = await dig(resolver.port, '+ignore', '+bufsize=4096', 'huge.example')
  const took = Date.now() - t0
  assert.ok(r.status === 'SERVFAIL' || r.flags.includes('tc') || r.answers.length <= COUNT, r.raw.slice(0, 400))
  assert.notEqual(r.status, 'NO-REPLY')
  assert.ok(took < UPSTREAM_QUERY_DEADLINE_MS + 1500, `${took} ms`)
  const ok = await dig(resolver.port, 'after-huge.example')
  assert.deepEqual(ok.answers.map((x) => x.data), ['192.0.2.10'])
  console.log(`# ${COUNT} records: ${r.status}, flags ${r.flags.join(' ')}, ${r.answers.length} answers to the client in ${took} ms`)
})
