/**
 * Upstream exchange (dns-anchors.md rows 3, 9, 10, 11, 13, 18): fresh random ID per send, a
 * rotating pool of UDP sockets on random ports, strict reply matching (source, socket, ID,
 * QR, opcode, question), EDNS0 1232 with DO/CD from the client, TC -> the same question over
 * TCP, ordered failover with an RTT-adaptive hedge, health tracking, one overall deadline.
 * All resolver timeouts live here.
 */
import {randomInt} from 'node:crypto'
import dgram from 'node:dgram'
import net from 'node:net'

import {
  DNS_EDNS_UPSTREAM_UDP_BYTES, DNS_TCP_MAX_BYTES, UPSTREAM_DOWN_AFTER_TIMEOUTS, UPSTREAM_DOWN_HOLD_MS,
  UPSTREAM_HEDGE_MAX_MS, UPSTREAM_HEDGE_MIN_MS, UPSTREAM_MAX_ATTEMPTS, UPSTREAM_MAX_INFLIGHT,
  UPSTREAM_QUERY_DEADLINE_MS, UPSTREAM_SOCKET_MAX_QUERIES, UPSTREAM_UDP_SOCKETS,
} from '../src/constants.js'
import {slabBytes} from '../src/dns/bytes-slab.js'
import {FLAG_CD, FLAG_QR, FLAG_RD, FLAG_TC, TYPE_OPT, type WireMessage, parseMessage} from '../src/dns/wire.js'
import {type HostPort, formatHostPort, literalLookup} from './config.js'
import type {Counters} from './counters.js'

export interface Upstream extends HostPort {
  label: string
  family: 'udp4' | 'udp6'
  /** Smoothed RTT in ms; 0 until the first reply. */
  srttMs: number
  consecutiveTimeouts: number
  downUntilMs: number
  /** Loopback upstreams are trusted to set AD (dns-anchors.md row 4). */
  trusted: boolean
}

export interface UpstreamQuestion {
  /** Wire bytes of the question entry (name, type, class), sent as is. */
  bytes: Uint8Array
  lname: string
  type: number
  klass: number
  dnssecOk: boolean
  cd: boolean
}

export interface UpstreamAnswer {
  bytes: Uint8Array
  msg: WireMessage
  upstream: Upstream
}

interface Waiter {
  upstream: Upstream
  q: UpstreamQuestion
  sentAt: number
  onReply: (bytes: Uint8Array, msg: WireMessage) => void
}

interface Slot {
  sock: dgram.Socket
  family: 'udp4' | 'udp6'
  uses: number
  retiring: boolean
  pending: Map<number, Waiter>
}

function buildQuery(id: number, q: UpstreamQuestion): Uint8Array {
  // Zero-filled: only the non-zero bytes are written.
  const out = slabBytes(12 + q.bytes.length + 11)
  const flags = FLAG_RD | (q.cd ? FLAG_CD : 0)
  out[0] = id >> 8
  out[1] = id & 0xff
  out[2] = flags >> 8
  out[3] = flags & 0xff
  out[5] = 1 // QDCOUNT
  out[11] = 1 // ARCOUNT
  out.set(q.bytes, 12)
  // OPT: root, type 41, UDP size 1232, ext-rcode 0, version 0, DO from the client, no options.
  const o = 12 + q.bytes.length
  out[o + 2] = TYPE_OPT
  out[o + 3] = DNS_EDNS_UPSTREAM_UDP_BYTES >> 8
  out[o + 4] = DNS_EDNS_UPSTREAM_UDP_BYTES & 0xff
  out[o + 7] = q.dnssecOk ? 0x80 : 0
  return out
}

/** Is this reply the answer to `q` (RFC 5452 section 9.1; dns-anchors.md row 11)? */
export function replyMatches(msg: WireMessage, id: number, q: UpstreamQuestion): boolean {
  if (msg.id !== id || (msg.flags & FLAG_QR) === 0 || msg.opcode !== 0 || msg.questions.length !== 1) return false
  const r = msg.questions[0]!
  return r.lname === q.lname && r.type === q.type && r.klass === q.klass
}

export class UpstreamPool {
  readonly upstreams: Upstream[]
  readonly #counters: Counters
  readonly #slots: Slot[] = []
  #inflight = 0
  #closed = false

  constructor(list: HostPort[], counters: Counters) {
    this.#counters = counters
    this.upstreams = list.map((u) => ({
      ...u, label: formatHostPort(u), family: net.isIP(u.host) === 6 ? 'udp6' : 'udp4', srttMs: 0,
      consecutiveTimeouts: 0, downUntilMs: 0, trusted: u.host.startsWith('127.') || u.host === '::1',
    }))
  }

  /** Healthy upstreams in configured order, then those marked down (row 9). */
  #order(now: number): Upstream[] {
    if (this.upstreams.every((u) => u.downUntilMs <= now)) return this.upstreams
    const up = this.upstreams.filter((u) => u.downUntilMs <= now)
    return up.concat(this.upstreams.filter((u) => u.downUntilMs > now))
  }

  #hedgeMs(u: Upstream): number {
    const base = u.srttMs === 0 ? 400 : u.srttMs * 4
    return Math.min(UPSTREAM_HEDGE_MAX_MS, Math.max(UPSTREAM_HEDGE_MIN_MS, base))
  }

  #slot(family: 'udp4' | 'udp6'): Slot {
    let live = 0
    for (const s of this.#slots) if (!s.retiring && s.family === family) live++
    if (live < UPSTREAM_UDP_SOCKETS) return this.#newSlot(family)
    let pick = randomInt(live)
    for (const s of this.#slots) {
      if (!s.retiring && s.family === family && pick-- === 0) return s
    }
    return this.#newSlot(family) // not reached: `live` counted exactly these
  }

  #newSlot(family: 'udp4' | 'udp6'): Slot {
    const sock = dgram.createSocket({type: family, lookup: literalLookup})
    const slot: Slot = {sock, family, uses: 0, retiring: false, pending: new Map()}
    sock.on('error', (err: NodeJS.ErrnoException) => {
      // A failed send (e.g. no route to one upstream) is that query's problem: the hedge and the
      // deadline handle it. Any other socket error: retire the socket to be safe.
      if (err.syscall === 'send') return
      slot.retiring = true
      this.#maybeCloseSlot(slot)
    })
    sock.on('message', (bytes, rinfo) => this.#onMessage(slot, bytes, rinfo))
    sock.bind(0) // kernel-chosen random ephemeral port (row 10)
    this.#slots.push(slot)
    return slot
  }

  #maybeCloseSlot(slot: Slot): void {
    if (!slot.retiring || slot.pending.size > 0) return
    const i = this.#slots.indexOf(slot)
    if (i >= 0) this.#slots.splice(i, 1)
    try {
      slot.sock.close()
    } catch {
      // already closed
    }
  }

  #onMessage(slot: Slot, bytes: Buffer, rinfo: dgram.RemoteInfo): void {
    const msg = parseMessage(bytes)
    const id = msg?.id ?? -1
    const w = slot.pending.get(id)
    if (msg === undefined || w === undefined || rinfo.address !== w.upstream.host || rinfo.port !== w.upstream.port
      || !replyMatches(msg, id, w.q)) {
      this.#counters.upstreamMismatched++
      return
    }
    slot.pending.delete(id)
    this.#inflight--
    this.#maybeCloseSlot(slot)
    w.onReply(new Uint8Array(bytes.buffer, bytes.byteOffset, msg.length), msg)
  }

  #sendUdp(up: Upstream, q: UpstreamQuestion, onReply: Waiter['onReply']): () => void {
    const slot = this.#slot(up.family)
    let id = randomInt(0x10000)
    for (let i = 0; i < 8 && slot.pending.has(id); i++) id = randomInt(0x10000)
    if (slot.pending.has(id)) return () => undefined
    const w: Waiter = {upstream: up, q, sentAt: performance.now(), onReply}
    slot.pending.set(id, w)
    this.#inflight++
    slot.uses++
    if (slot.uses >= UPSTREAM_SOCKET_MAX_QUERIES) slot.retiring = true
    this.#counters.upstreamQueries++
    // No callback: a synchronous send with no completion round trip into JS (see server.ts).
    slot.sock.send(buildQuery(id, q), up.port, up.host)
    return () => {
      if (slot.pending.get(id) === w) {
        slot.pending.delete(id)
        this.#inflight--
        this.#maybeCloseSlot(slot)
      }
    }
  }

  /** One question over TCP to one upstream (after TC), within `timeoutMs`. */
  #sendTcp(up: Upstream, q: UpstreamQuestion, timeoutMs: number): Promise<UpstreamAnswer | undefined> {
    this.#counters.upstreamTcpRetries++
    return new Promise((resolve) => {
      const id = randomInt(0x10000)
      const query = buildQuery(id, q)
      const frame = new Uint8Array(2 + query.length)
      frame.set([query.length >> 8, query.length & 0xff])
      frame.set(query, 2)
      let buf = Buffer.alloc(0)
      let done = false
      const sock = net.connect({host: up.host, port: up.port})
      const finish = (a: UpstreamAnswer | undefined): void => {
        if (done) return
        done = true
        clearTimeout(timer)
        sock.destroy()
        resolve(a)
      }
      const timer = setTimeout(() => finish(undefined), timeoutMs)
      sock.on('connect', () => sock.write(frame))
      sock.on('error', () => finish(undefined))
      sock.on('close', () => finish(undefined))
      sock.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk])
        if (buf.length > DNS_TCP_MAX_BYTES + 2) return finish(undefined)
        if (buf.length < 2) return
        const len = buf.readUInt16BE(0)
        if (buf.length < 2 + len) return
        const bytes = new Uint8Array(buf.subarray(2, 2 + len))
        const msg = parseMessage(bytes)
        if (msg === undefined || !replyMatches(msg, id, q)) {
          this.#counters.upstreamMismatched++
          return finish(undefined)
        }
        finish({bytes: bytes.subarray(0, msg.length), msg, upstream: up})
      })
    })
  }

  /**
   * Resolve one question: first healthy upstream, the next one in parallel after a hedge delay,
   * until a matching reply, the attempt budget, or the deadline. 'timeout' means SERVFAIL.
   */
  query(q: UpstreamQuestion): Promise<UpstreamAnswer | 'timeout' | 'overload'> {
    if (this.#closed || this.#inflight >= UPSTREAM_MAX_INFLIGHT) {
      this.#counters.overload++
      return Promise.resolve('overload')
    }
    return new Promise((resolve) => {
      const start = performance.now()
      const order = this.#order(Date.now())
      const cancels: Array<() => void> = []
      let attempts = 0
      let done = false
      // One timer at a time: the next hedge, or the deadline once no hedge fits before it.
      let timer: NodeJS.Timeout | undefined
      const finish = (r: UpstreamAnswer | 'timeout'): void => {
        if (done) return
        done = true
        clearTimeout(timer)
        for (const c of cancels) c()
        resolve(r)
      }
      const onDeadline = (): void => {
        this.#counters.upstreamTimeouts++
        finish('timeout')
      }
      const armDeadline = (): void => {
        timer = setTimeout(onDeadline, Math.max(0, UPSTREAM_QUERY_DEADLINE_MS - (performance.now() - start)))
      }
      const attempt = (): void => {
        const up = order[attempts % order.length]!
        attempts++
        let answered = false
        cancels.push(this.#sendUdp(up, q, (bytes, msg) => {
          answered = true
          const rtt = performance.now() - start
          up.srttMs = up.srttMs === 0 ? rtt : 0.8 * up.srttMs + 0.2 * rtt
          up.consecutiveTimeouts = 0
          up.downUntilMs = 0
          this.#counters.upstreamReplies++
          this.#counters.upstreamRttMsSum += rtt
          if ((msg.flags & FLAG_TC) === 0) return finish({bytes, msg, upstream: up})
          const left = UPSTREAM_QUERY_DEADLINE_MS - (performance.now() - start)
          void this.#sendTcp(up, q, Math.max(0, left)).then((a) => {
            if (a !== undefined) finish(a)
          })
        }))
        const hedgeMs = this.#hedgeMs(up)
        if (hedgeMs >= UPSTREAM_QUERY_DEADLINE_MS - (performance.now() - start)) return armDeadline()
        timer = setTimeout(() => {
          if (done) return
          if (!answered) {
            up.consecutiveTimeouts++
            if (up.consecutiveTimeouts >= UPSTREAM_DOWN_AFTER_TIMEOUTS) up.downUntilMs = Date.now() + UPSTREAM_DOWN_HOLD_MS
          }
          if (attempts < UPSTREAM_MAX_ATTEMPTS) attempt()
          else armDeadline()
        }, hedgeMs)
      }
      attempt()
    })
  }

  close(): void {
    this.#closed = true
    for (const s of [...this.#slots]) {
      s.retiring = true
      s.pending.clear()
      this.#maybeCloseSlot(s)
    }
  }
}
