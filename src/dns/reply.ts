/**
 * Building the bytes a client gets back: error replies made from its own query, and upstream or
 * cached replies patched in place (ID, flags, question case, TTLs decremented, OPT made
 * hop-by-hop) then cut to the client's size limit with TC set (dns-anchors.md rows 2-4, 20).
 * Pure: no clock, the elapsed time comes in as an argument.
 */
import {DNS_EDNS_CLIENT_UDP_BYTES} from '../constants.js'
import {slabBytes} from './bytes-slab.js'
import {
  EDNS_FLAG_DO, FLAG_AA, FLAG_AD, FLAG_CD, FLAG_QR, FLAG_RA, FLAG_RD, FLAG_TC, TYPE_OPT,
  type WireMessage, type WireQuestion,
} from './wire.js'

/** What the client asked, as the proxy needs it to shape the reply. */
export interface ClientQuery {
  id: number
  /** The question bytes exactly as the client sent them (echoed back, 0x20 case kept). */
  questionBytes: Uint8Array
  question: WireQuestion
  /** Client's RD and CD flags, and whether it sent AD. */
  rd: boolean
  cd: boolean
  ad: boolean
  /** EDNS of the client; undefined when its query had no OPT. */
  edns: {udpSize: number; dnssecOk: boolean} | undefined
}

function opt(dnssecOk: boolean, extRcode = 0): Uint8Array {
  // OPT RR, RFC 6891 section 6.1.2: root name, type 41, class = UDP size, TTL = ext-rcode,
  // version 0, flags (DO); no options (cookies and the like are hop-by-hop).
  return Uint8Array.of(0, 0, TYPE_OPT, DNS_EDNS_CLIENT_UDP_BYTES >> 8, DNS_EDNS_CLIENT_UDP_BYTES & 0xff,
    extRcode, 0, dnssecOk ? 0x80 : 0, 0, 0, 0)
}

/** A reply that carries only the question (and OPT): errors, canary NXDOMAIN, TC replies. */
export function questionOnlyReply(q: ClientQuery, rcode: number, extraFlags = 0): Uint8Array {
  const withOpt = q.edns !== undefined
  const o = withOpt ? opt(q.edns!.dnssecOk, rcode >> 4) : new Uint8Array(0)
  const out = new Uint8Array(12 + q.questionBytes.length + o.length)
  const flags = FLAG_QR | FLAG_RA | (q.rd ? FLAG_RD : 0) | (q.cd ? FLAG_CD : 0) | extraFlags | (rcode & 0xf)
  writeHeader(out, q.id, flags, 1, 0, 0, withOpt ? 1 : 0)
  out.set(q.questionBytes, 12)
  out.set(o, 12 + q.questionBytes.length)
  return out
}

/** FORMERR for a query we could not parse: header only, its ID and opcode kept (RFC 1035 4.1.1). */
export function formErrFromHeader(query: Uint8Array): Uint8Array | undefined {
  if (query.length < 12 || (query[2]! & 0x80) !== 0) return undefined
  const out = new Uint8Array(12)
  out[0] = query[0]!
  out[1] = query[1]!
  out[2] = 0x80 | (query[2]! & 0x79) // QR, opcode and RD of the query
  out[3] = 0x80 | 1 // RA, FORMERR
  return out
}

function writeHeader(out: Uint8Array, id: number, flags: number, qd: number, an: number, ns: number, ar: number): void {
  out[0] = (id >> 8) & 0xff
  out[1] = id & 0xff
  out[2] = (flags >> 8) & 0xff
  out[3] = flags & 0xff
  out[4] = (qd >> 8) & 0xff
  out[5] = qd & 0xff
  out[6] = (an >> 8) & 0xff
  out[7] = an & 0xff
  out[8] = (ns >> 8) & 0xff
  out[9] = ns & 0xff
  out[10] = (ar >> 8) & 0xff
  out[11] = ar & 0xff
}

/**
 * Put a stored reply into its canonical form: OPT (if any) is the last record and carries no
 * options. Returns the input when it already is canonical, undefined when it cannot be made so
 * cheaply (the caller then re-encodes).
 */
export function canonicalOptLayout(buf: Uint8Array, msg: WireMessage): Uint8Array | undefined {
  if (msg.opt === undefined) return buf.subarray(0, msg.length)
  const r = msg.records[msg.opt.index]!
  if (msg.opt.index !== msg.records.length - 1) return undefined
  if (r.rdlength === 0 && r.end === msg.length) return buf.subarray(0, msg.length)
  const out = new Uint8Array(r.rdataOffset)
  out.set(buf.subarray(0, r.rdataOffset))
  out[r.rdataOffset - 2] = 0
  out[r.rdataOffset - 1] = 0
  return out
}

export interface PatchOptions {
  /** Whole seconds since the reply was stored (0 for a fresh one). */
  elapsedS: number
  /** Keep AD from the upstream (trusted upstream and the client asked with DO or AD). */
  keepAd: boolean
  /** Largest reply the client accepts on this transport. */
  maxBytes: number
}

/**
 * Patch a canonical stored reply for one client. `msg` must describe `stored` exactly (from
 * parseMessage on canonical bytes). Returns a fresh buffer; `stored` is not modified.
 */
export function patchReply(stored: Uint8Array, msg: WireMessage, q: ClientQuery, o: PatchOptions): Uint8Array {
  const sq = msg.questions[0]
  if (sq === undefined || sq.end - sq.start !== q.questionBytes.length) return questionOnlyReply(q, 2)
  let len = msg.length
  let arcount = msg.arcount
  if (msg.opt !== undefined && q.edns === undefined) {
    len = msg.records[msg.opt.index]!.start // canonical layout: OPT is last
    arcount -= 1
  }
  const out = slabBytes(len)
  out.set(stored.subarray(0, len))
  let flags = (msg.flags & ~(FLAG_AA | FLAG_RD | FLAG_CD | FLAG_AD)) | FLAG_QR | FLAG_RA
  if (q.rd) flags |= FLAG_RD
  if (q.cd) flags |= FLAG_CD
  if (o.keepAd && (msg.flags & FLAG_AD) !== 0) flags |= FLAG_AD
  writeHeader(out, q.id, flags, msg.questions.length, msg.ancount, msg.nscount, arcount)
  out.set(q.questionBytes, sq.start)
  for (const r of msg.records) {
    if (r.start >= len) break
    if (r.type === TYPE_OPT) {
      out[r.start + 3] = DNS_EDNS_CLIENT_UDP_BYTES >> 8
      out[r.start + 4] = DNS_EDNS_CLIENT_UDP_BYTES & 0xff
      out[r.ttlOffset + 2] = q.edns?.dnssecOk === true ? EDNS_FLAG_DO >> 8 : 0
      out[r.ttlOffset + 3] = 0
      continue
    }
    if (o.elapsedS > 0) {
      const ttl = Math.max(0, r.ttl - o.elapsedS)
      out[r.ttlOffset] = ttl >>> 24
      out[r.ttlOffset + 1] = (ttl >>> 16) & 0xff
      out[r.ttlOffset + 2] = (ttl >>> 8) & 0xff
      out[r.ttlOffset + 3] = ttl & 0xff
    }
  }
  if (out.length > o.maxBytes) return questionOnlyReply(q, msg.rcode, FLAG_TC | (flags & FLAG_AD))
  return out
}

/** The client's largest acceptable UDP reply (RFC 6891 section 6.2.5; 512 without EDNS). */
export function clientUdpLimit(q: ClientQuery): number {
  if (q.edns === undefined) return 512
  return Math.min(Math.max(q.edns.udpSize, 512), DNS_EDNS_CLIENT_UDP_BYTES)
}
