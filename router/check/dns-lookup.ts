/**
 * DNS look-ups for `pqc server check`: one question to one named DNS server over UDP (with EDNS,
 * retried), falling back to TCP when the answer is truncated (RFC 7766). Answers are parsed with
 * the proxy's own wire reader (src/dns/wire.ts) so the check sees a name exactly as a pqc client
 * does. Never throws on what the server sends: a bad or missing answer is a result.
 */
import dgram from 'node:dgram'
import net from 'node:net'

import {
  CHECK_DNS_TIMEOUT_S, CHECK_DNS_TRIES, DNS_EDNS_UPSTREAM_UDP_BYTES, DNS_TCP_MAX_BYTES,
} from '../../src/constants.js'
import {CLASS_IN, FLAG_RD, FLAG_TC, TYPE_OPT, type WireMessage, encodeName, fullRcode, parseMessage} from '../../src/dns/wire.js'

export interface DnsServer {
  host: string
  port: number
}

export type DnsLookup =
  | {kind: 'answer'; buf: Uint8Array; msg: WireMessage; rcode: number}
  | {kind: 'timeout'}
  | {kind: 'error'; reason: string}

/** A query for (name, type, IN) with recursion desired and an EDNS OPT record advertising our UDP size. */
export function encodeQuery(id: number, name: string, type: number): Uint8Array | undefined {
  const qname = encodeName(name)
  if (qname === undefined) return undefined
  const out = Buffer.alloc(12 + qname.length + 4 + 11)
  out.writeUInt16BE(id, 0)
  out.writeUInt16BE(FLAG_RD, 2)
  out.writeUInt16BE(1, 4) // QDCOUNT
  out.writeUInt16BE(1, 10) // ARCOUNT: the OPT record
  out.set(qname, 12)
  let o = 12 + qname.length
  o = out.writeUInt16BE(type, o)
  o = out.writeUInt16BE(CLASS_IN, o)
  o = out.writeUInt8(0, o) // root owner name
  o = out.writeUInt16BE(TYPE_OPT, o)
  out.writeUInt16BE(DNS_EDNS_UPSTREAM_UDP_BYTES, o) // class = UDP payload size; TTL and RDLEN stay 0
  return out
}

function matches(buf: Uint8Array, id: number): WireMessage | undefined {
  const msg = parseMessage(buf)
  return msg !== undefined && msg.id === id ? msg : undefined
}

function udpOnce(server: DnsServer, query: Uint8Array, id: number, timeoutMs: number): Promise<Uint8Array | undefined> {
  return new Promise((resolve) => {
    const s = dgram.createSocket(net.isIP(server.host) === 6 ? 'udp6' : 'udp4')
    const done = (v: Uint8Array | undefined): void => {
      clearTimeout(t)
      s.close()
      resolve(v)
    }
    const t = setTimeout(() => done(undefined), timeoutMs)
    s.on('error', () => done(undefined))
    s.on('message', (m, rinfo) => {
      // Only the server we asked, only our ID (a late answer to an earlier try is fine too).
      if (rinfo.port === server.port && matches(m, id) !== undefined) done(m)
    })
    s.send(query, server.port, server.host)
  })
}

function tcpOnce(server: DnsServer, query: Uint8Array, timeoutMs: number): Promise<Uint8Array | undefined> {
  return new Promise((resolve) => {
    const sock = net.connect({host: server.host, port: server.port})
    let data = Buffer.alloc(0)
    const done = (v: Uint8Array | undefined): void => {
      clearTimeout(t)
      sock.destroy()
      resolve(v)
    }
    const t = setTimeout(() => done(undefined), timeoutMs)
    sock.on('error', () => done(undefined))
    sock.on('connect', () => {
      const len = Buffer.alloc(2)
      len.writeUInt16BE(query.length)
      sock.write(Buffer.concat([len, query]))
    })
    sock.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk])
      if (data.length > DNS_TCP_MAX_BYTES + 2) done(undefined)
      else if (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) done(data.subarray(2, 2 + data.readUInt16BE(0)))
    })
  })
}

/** Ask `server` for (name, type); UDP with CHECK_DNS_TRIES tries, then TCP if the answer was truncated. */
export async function lookup(server: DnsServer, name: string, type: number,
  o: {timeoutS?: number; tries?: number} = {}): Promise<DnsLookup> {
  const id = Math.floor(Math.random() * 0x10000)
  const query = encodeQuery(id, name, type)
  if (query === undefined) return {kind: 'error', reason: `${name} is not a valid domain name`}
  const timeoutMs = (o.timeoutS ?? CHECK_DNS_TIMEOUT_S) * 1000
  let buf: Uint8Array | undefined
  for (let i = 0; i < (o.tries ?? CHECK_DNS_TRIES) && buf === undefined; i++) buf = await udpOnce(server, query, id, timeoutMs)
  if (buf === undefined) return {kind: 'timeout'}
  let msg = matches(buf, id)!
  if ((msg.flags & FLAG_TC) !== 0) {
    const full = await tcpOnce(server, query, timeoutMs)
    const fullMsg = full === undefined ? undefined : matches(full, id)
    if (full === undefined || fullMsg === undefined) return {kind: 'error', reason: 'the answer was truncated and TCP gave no usable answer'}
    buf = full
    msg = fullMsg
  }
  return {kind: 'answer', buf, msg, rcode: fullRcode(msg)}
}
