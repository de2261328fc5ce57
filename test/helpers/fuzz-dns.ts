/**
 * DNS side of the port fuzz tests: the resolver's real pipeline (Resolver, AnswerCache, Announcer,
 * the real UpstreamPool) with node:dgram and node:net swapped for in-memory fakes, so upstream
 * queries are captured and upstream replies (genuine, mutated or spoofed) are delivered by the
 * test without a socket (unit tier). Also the genuine upstream answers the fake upstream gives.
 */
import dgram from 'node:dgram'
import {EventEmitter} from 'node:events'
import net from 'node:net'

import dnsPacket from 'dns-packet'

import {Announcer} from '../../resolver/announce.js'
import {AnswerCache} from '../../resolver/cache.js'
import {newCounters, type Counters} from '../../resolver/counters.js'
import {Resolver} from '../../resolver/resolve.js'
import {UpstreamPool} from '../../resolver/upstream.js'
import {AddressPool} from '../../src/dns/address-pool.js'
import {formatAnnouncementLabel} from '../../src/dns/announcement.js'

/** The fake upstream resolver (TEST-NET-1; nothing is ever sent to it). */
export const UPSTREAM = {host: '192.0.2.53', port: 53}
/** Bounds of the pipeline under test (small, so the fuzz reaches them). */
export const FUZZ_CACHE_ENTRIES = 512
export const FUZZ_POOL_ADDRESSES = 64

/** A UDP socket of the UpstreamPool, in memory: sends are captured, replies are emitted as 'message'. */
export class FakeUdpSocket extends EventEmitter {
  closed = false
  constructor(readonly onSend: (s: FakeUdpSocket, bytes: Uint8Array, port: number, host: string) => void) {
    super()
  }
  bind(): this {
    return this
  }
  address(): {address: string; port: number; family: string} {
    return {address: '0.0.0.0', port: 0, family: 'IPv4'}
  }
  send(buf: Uint8Array, port: number, host: string): void {
    if (!this.closed) this.onSend(this, Uint8Array.from(buf), port, host)
  }
  close(): void {
    this.closed = true
  }
  /** A datagram arriving from (host, port). */
  deliver(bytes: Uint8Array, host: string, port: number): void {
    if (this.closed) return
    const b = Buffer.from(bytes)
    this.emit('message', b, {address: host, port, family: 'IPv4', size: b.length})
  }
}

export interface UpstreamSend {
  sock: FakeUdpSocket
  bytes: Uint8Array
  host: string
  port: number
}

/** Swaps dgram.createSocket and net.connect (TC=1 fallback: refused at once) for fakes until restore(). */
export function installFakeSockets(): {sends: UpstreamSend[]; sockets: FakeUdpSocket[]; tcpAttempts: () => number; restore: () => void} {
  const sends: UpstreamSend[] = []
  const sockets: FakeUdpSocket[] = []
  let tcp = 0
  const createSocket = dgram.createSocket
  const connect = net.connect
  ;(dgram as {createSocket: unknown}).createSocket = () => {
    const s = new FakeUdpSocket((sock, bytes, port, host) => sends.push({sock, bytes, host, port}))
    sockets.push(s)
    return s
  }
  ;(net as {connect: unknown}).connect = () => {
    tcp++
    const s = new EventEmitter() as EventEmitter & {write: () => boolean; destroy: () => void}
    s.write = () => true
    s.destroy = () => undefined
    setImmediate(() => s.emit('error', Object.assign(new Error('refused (fake)'), {code: 'ECONNREFUSED'})))
    return s
  }
  return {
    sends, sockets, tcpAttempts: () => tcp,
    restore: () => {
      ;(dgram as {createSocket: unknown}).createSocket = createSocket
      ;(net as {connect: unknown}).connect = connect
    },
  }
}

export interface DnsPipeline {
  resolver: Resolver
  upstreams: UpstreamPool
  cache: AnswerCache
  pool: AddressPool
  announcer: Announcer
  counters: Counters
}

/** The pipeline as resolver/main.ts wires it (no router link: the announcer allocates itself). */
export function dnsPipeline(): DnsPipeline {
  const counters = newCounters()
  const upstreams = new UpstreamPool([UPSTREAM], counters)
  const cache = new AnswerCache(FUZZ_CACHE_ENTRIES)
  const pool = new AddressPool('10.43.0.0/16', ['10.43.0.1'], FUZZ_POOL_ADDRESSES)
  const announcer: Announcer = new Announcer({router: undefined, pool, now: () => Date.now(), lookupTxt: (n) => resolver.lookupTxt(n)})
  const resolver = new Resolver({upstreams, cache, counters, announcer, logQueries: false})
  return {resolver, upstreams, cache, pool, announcer, counters}
}

/** A pq1 label with ports (no TXT lookups needed), for key `k`. */
export function pq1Label(k: number): string {
  return formatAnnouncementLabel(Uint8Array.from({length: 32}, (_, i) => (i * 7 + k) & 0xff), {pqcPort: 624, keyPort: 584})
}

const optDo = {type: 'OPT', name: '.', udpPayloadSize: 1232, flags: dnsPacket.DNSSEC_OK} as dnsPacket.Answer

function encodeName(name: string): number[] {
  const out: number[] = []
  for (const label of name.split('.').filter((l) => l.length > 0)) out.push(label.length, ...Buffer.from(label, 'latin1'))
  out.push(0)
  return out
}

/** One resource record: owner (a compression pointer), type, class IN, TTL 60, rdata. */
function rr(ownerPtr: number, type: number, rdata: number[]): number[] {
  return [0xc0 | (ownerPtr >> 8), ownerPtr & 0xff, type >> 8, type & 0xff, 0, 1, 0, 0, 0, 60, rdata.length >> 8, rdata.length & 0xff, ...rdata]
}

/**
 * The fake upstream's genuine answer to a query it received, built byte by byte around the
 * query's own question (so it always matches): names starting `c` get a CNAME to a pq1 name with
 * an A record (rewritten), `p` a partial chain (completed by a second query), `n` NXDOMAIN; A,
 * AAAA and TXT get an answer, any other type an empty NOERROR. EDNS OPT (1232) last.
 */
export function genuineReply(query: Uint8Array): Uint8Array {
  let end = 12
  while (end < query.length && query[end] !== 0) end += query[end]! + 1
  end += 5 // root label, type, class
  const qtype = (query[end - 4]! << 8) | query[end - 3]!
  const first = String.fromCharCode(query[13] ?? 0).toLowerCase()
  const k = end - 12
  const out: number[] = [query[0]!, query[1]!, 0x81, first === 'n' ? 0x83 : 0x80, 0, 1, 0, 0, 0, 0, 0, 1, ...query.subarray(12, end)]
  let an = 0
  if (qtype === 16) {
    out.push(...rr(12, 16, [5, ...Buffer.from('p=624')]))
    an = 1
  } else if (qtype === 28) {
    out.push(...rr(12, 28, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]))
    an = 1
  } else if (qtype === 1 && (first === 'c' || first === 'p')) {
    const target = encodeName(first === 'c' ? `${pq1Label(k)}.example` : `x${k}.example`)
    const targetAt = out.length + 12
    out.push(...rr(12, 5, target))
    an = 1
    if (first === 'c') {
      out.push(...rr(targetAt, 1, [198, 51, 100, 7]))
      an = 2
    }
  } else if (qtype === 1 && first !== 'n') {
    out.push(...rr(12, 1, [192, 0, 2, k & 0xff]))
    an = 1
  }
  out[7] = an
  out.push(0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0)
  return Uint8Array.from(out)
}

/** Valid client queries used as mutation seeds and as the legitimate probe. */
export function seedQueries(): Uint8Array[] {
  const q = (id: number, type: dnsPacket.RecordType, name: string, edns: boolean): Uint8Array => Uint8Array.from(dnsPacket.encode({
    id, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{type, name}], additionals: edns ? [optDo] : [],
  }))
  return [q(1, 'A', 'www.example', false), q(2, 'AAAA', 'www.example', true), q(3, 'A', 'cdn.example', true), q(4, 'A', 'partial.example', false),
    q(5, 'TXT', `${pq1Label(1)}.example`, false), q(6, 'A', 'nx.example', true), q(7, 'MX', 'mail.example', false)]
}
