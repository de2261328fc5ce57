/**
 * A bounds-checked walk over one DNS message (RFC 1035 section 4): header fields, the question,
 * and the offset of every record's TTL and RDATA, without copying. The proxy patches replies in
 * place from these offsets (ID, TTLs, OPT) and only re-encodes the rare answers it rewrites.
 * Never throws: malformed input (bad pointers, overruns, names over 255 bytes) gives undefined.
 */
import {DNS_LABEL_MAX_BYTES, DNS_NAME_MAX_BYTES} from '../constants.js'

export const TYPE_A = 1
export const TYPE_NS = 2
export const TYPE_CNAME = 5
export const TYPE_SOA = 6
export const TYPE_TXT = 16
export const TYPE_AAAA = 28
export const TYPE_OPT = 41
export const TYPE_RRSIG = 46
export const TYPE_IXFR = 251
export const TYPE_AXFR = 252
export const TYPE_ANY = 255
export const CLASS_IN = 1

export const RCODE_NOERROR = 0
export const RCODE_FORMERR = 1
export const RCODE_SERVFAIL = 2
export const RCODE_NXDOMAIN = 3
export const RCODE_NOTIMP = 4
export const RCODE_REFUSED = 5
/** Extended RCODE 16 (RFC 6891 section 6.1.3): upper 8 bits in OPT, lower 4 in the header. */
export const RCODE_BADVERS = 16

export const FLAG_QR = 0x8000
export const FLAG_AA = 0x0400
export const FLAG_TC = 0x0200
export const FLAG_RD = 0x0100
export const FLAG_RA = 0x0080
export const FLAG_AD = 0x0020
export const FLAG_CD = 0x0010
/** DO bit in the OPT TTL field's low 16 bits (RFC 3225). */
export const EDNS_FLAG_DO = 0x8000

export const SECTION_ANSWER = 0
export const SECTION_AUTHORITY = 1
export const SECTION_ADDITIONAL = 2

export interface WireQuestion {
  /** The name as sent (case kept), dotted, no trailing dot; "." for the root. */
  name: string
  /** ASCII-lowercased name, for matching and cache keys. */
  lname: string
  type: number
  klass: number
  /** Byte range of the whole question entry (name, type, class). */
  start: number
  end: number
}

export interface WireRecord {
  section: 0 | 1 | 2
  /** ASCII-lowercased owner name. */
  lname: string
  type: number
  klass: number
  ttl: number
  start: number
  ttlOffset: number
  rdataOffset: number
  rdlength: number
  end: number
}

export interface WireOpt {
  udpSize: number
  extRcode: number
  version: number
  dnssecOk: boolean
  /** Index of the OPT record in `records`. */
  index: number
}

export interface WireMessage {
  id: number
  /** All 16 header flag bits (QR, opcode, AA, TC, RD, RA, Z, AD, CD, RCODE). */
  flags: number
  opcode: number
  rcode: number
  questions: WireQuestion[]
  records: WireRecord[]
  ancount: number
  nscount: number
  arcount: number
  opt: WireOpt | undefined
  /** Bytes the message occupies (trailing garbage after it is ignored). */
  length: number
}

export function asciiLower(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0x41 && c <= 0x5a) return s.replace(/[A-Z]+/g, (m) => m.toLowerCase())
  }
  return s
}

/** Result of reading a name: the dotted text, its ASCII-lowercased form, and the offset right after it. */
export interface NameRead {
  name: string
  lname: string
  next: number
}

/** The fixed DNS header (RFC 1035 4.1.1): no compression pointer may point into it. */
const DNS_HEADER_BYTES = 12

// Scratch for readName (synchronous use only): a name has at most 254 label bytes, each at most
// two characters once escaped, plus the dots, so 3 * DNS_NAME_MAX_BYTES characters always fit.
const NAME_CHARS = new Uint16Array(3 * DNS_NAME_MAX_BYTES)
const LOWER_CHARS = new Uint16Array(3 * DNS_NAME_MAX_BYTES)

const charsToString = (a: Uint16Array, n: number): string =>
  String.fromCharCode.apply(null, a.subarray(0, n) as unknown as number[])

/**
 * Read a possibly compressed name at `offset`. Pointers must point strictly backwards (which
 * also bounds the walk), past the header, to a name that ends before the pointer; labels are at
 * most 63 bytes, the name at most 255 (RFC 1035 2.3.4).
 * Dots and backslashes inside a label are escaped so that the text round-trips. The characters
 * are gathered in a scratch buffer and turned into one string (and one lowercased string only
 * when the name has upper case): this runs for every name of every message the proxy handles.
 */
export function readName(buf: Uint8Array, offset: number): NameRead | undefined {
  let pos = offset
  let next = -1
  let wireLen = 1
  let floor = offset
  // Labels reached through a pointer must end before that pointer: a "prior occurrence" (RFC
  // 1035 4.1.4), never bytes after it that a patched or truncated reply no longer holds.
  let limit = buf.length
  let n = 0
  let upper = false
  for (;;) {
    if (pos >= limit) return undefined
    const len = buf[pos]!
    if (len === 0) {
      if (next < 0) next = pos + 1
      break
    }
    const kind = len & 0xc0
    if (kind === 0xc0) {
      if (pos + 1 >= limit) return undefined
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!
      // A pointer into the 12-byte header is no name: its meaning would change with the ID we
      // patch into every reply (both rules found by test/unit/security/fuzz-dns.unit.test.ts).
      if (target >= floor || target < DNS_HEADER_BYTES) return undefined
      if (next < 0) next = pos + 2
      limit = pos
      floor = target
      pos = target
      continue
    }
    if (kind !== 0 || len > DNS_LABEL_MAX_BYTES) return undefined
    if (pos + 1 + len > limit) return undefined
    wireLen += len + 1
    if (wireLen > DNS_NAME_MAX_BYTES) return undefined
    if (n > 0) {
      NAME_CHARS[n] = 0x2e
      LOWER_CHARS[n++] = 0x2e
    }
    for (let i = pos + 1; i <= pos + len; i++) {
      const c = buf[i]!
      if (c === 0x2e || c === 0x5c) {
        NAME_CHARS[n] = 0x5c
        LOWER_CHARS[n++] = 0x5c
      }
      NAME_CHARS[n] = c
      if (c >= 0x41 && c <= 0x5a) {
        LOWER_CHARS[n++] = c | 0x20
        upper = true
      } else {
        LOWER_CHARS[n++] = c
      }
    }
    pos += 1 + len
  }
  if (n === 0) return {name: '.', lname: '.', next}
  const name = charsToString(NAME_CHARS, n)
  return {name, lname: upper ? charsToString(LOWER_CHARS, n) : name, next}
}

/** Encode a dotted name (as produced by readName, escapes included) without compression. */
export function encodeName(name: string): Uint8Array | undefined {
  const out: number[] = []
  if (name !== '.' && name !== '') {
    let label: number[] = []
    const flush = (): boolean => {
      if (label.length === 0 || label.length > DNS_LABEL_MAX_BYTES) return false
      out.push(label.length, ...label)
      label = []
      return true
    }
    for (let i = 0; i < name.length; i++) {
      let c = name.charCodeAt(i)
      if (c > 0xff) return undefined
      if (c === 0x5c && i + 1 < name.length) c = name.charCodeAt(++i)
      else if (c === 0x2e) {
        if (i === name.length - 1) break
        if (!flush()) return undefined
        continue
      }
      label.push(c)
    }
    if (!flush()) return undefined
  }
  out.push(0)
  return out.length > DNS_NAME_MAX_BYTES ? undefined : Uint8Array.from(out)
}

/** Walk a whole message. Returns undefined on any overrun or malformed name. */
export function parseMessage(buf: Uint8Array): WireMessage | undefined {
  if (buf.length < 12) return undefined
  const u16 = (o: number): number => (buf[o]! << 8) | buf[o + 1]!
  const flags = u16(2)
  const qdcount = u16(4)
  const ancount = u16(6)
  const nscount = u16(8)
  const arcount = u16(10)
  let pos = 12
  // Owner names are nearly always a bare pointer to the question or an earlier owner: reuse the
  // name read at that offset instead of reading it again (same bytes, same result).
  let seenAt = -1
  let seen: NameRead | undefined
  const nameAt = (o: number): NameRead | undefined => {
    if (seen !== undefined && (buf[o]! & 0xc0) === 0xc0 && o + 1 < buf.length && (((buf[o]! & 0x3f) << 8) | buf[o + 1]!) === seenAt) {
      return {name: seen.name, lname: seen.lname, next: o + 2}
    }
    const r = readName(buf, o)
    if (r !== undefined && (buf[o]! & 0xc0) !== 0xc0) {
      seenAt = o
      seen = r
    }
    return r
  }
  const questions: WireQuestion[] = []
  for (let i = 0; i < qdcount; i++) {
    const n = nameAt(pos)
    if (n === undefined || n.next + 4 > buf.length) return undefined
    questions.push({name: n.name, lname: n.lname, type: u16(n.next), klass: u16(n.next + 2), start: pos, end: n.next + 4})
    pos = n.next + 4
  }
  const records: WireRecord[] = []
  let opt: WireOpt | undefined
  const total = ancount + nscount + arcount
  for (let i = 0; i < total; i++) {
    const start = pos
    const n = nameAt(pos)
    if (n === undefined || n.next + 10 > buf.length) return undefined
    const p = n.next
    const rdlength = u16(p + 8)
    const end = p + 10 + rdlength
    if (end > buf.length) return undefined
    const section = i < ancount ? SECTION_ANSWER : i < ancount + nscount ? SECTION_AUTHORITY : SECTION_ADDITIONAL
    const type = u16(p)
    const ttl = ((buf[p + 4]! << 24) >>> 0) + (buf[p + 5]! << 16) + (buf[p + 6]! << 8) + buf[p + 7]!
    if (type === TYPE_OPT) {
      // RFC 6891 section 6.1.1: one OPT, owner root, additional section only.
      if (opt !== undefined || section !== SECTION_ADDITIONAL || n.name !== '.') return undefined
      opt = {udpSize: u16(p + 2), extRcode: buf[p + 4]!, version: buf[p + 5]!, dnssecOk: (buf[p + 6]! & 0x80) !== 0, index: records.length}
    }
    records.push({section, lname: n.lname, type, klass: u16(p + 2), ttl, start, ttlOffset: p + 4, rdataOffset: p + 10, rdlength, end})
    pos = end
  }
  return {
    id: u16(0), flags, opcode: (flags >> 11) & 0xf, rcode: flags & 0xf, questions, records,
    ancount, nscount, arcount, opt, length: pos,
  }
}

/** The rcode including the OPT extension bits (RFC 6891 section 6.1.3). */
export function fullRcode(msg: WireMessage): number {
  return ((msg.opt?.extRcode ?? 0) << 4) | msg.rcode
}
