/**
 * The CNAME chain of one answer (dns-anchors.md row 19): from the question name through the
 * CNAMEs present, with loop and hop limits; whether it ends in data of the asked type, a
 * negative answer, or nothing (a partial chain the proxy completes by asking for the target);
 * and the first pq1 announcement anywhere on it (owner, middle hop or target, case-insensitive;
 * pq1-protocol.md sections 2.1 and 2.3).
 */
import {DNS_CNAME_MAX_HOPS} from '../constants.js'
import {type Announcement, parseAnnouncementName} from './announcement.js'
import {
  CLASS_IN, RCODE_NOERROR, SECTION_ANSWER, SECTION_AUTHORITY, TYPE_A, TYPE_ANY, TYPE_CNAME,
  TYPE_SOA, type WireMessage, asciiLower, readName,
} from './wire.js'

export interface ChainInfo {
  /** Lowercased names from the question name to the last CNAME target, in order. */
  names: string[]
  /** Last name of the chain (equals names[names.length - 1]). */
  end: string
  /** Records of the asked type owned by `end` in the answer section. */
  dataAtEnd: number
  /** The chain loops or is longer than DNS_CNAME_MAX_HOPS. */
  broken: boolean
  /** CNAMEs were followed but the upstream gave neither data nor a negative answer for the end. */
  partial: boolean
  /** First announcement on the chain and the name carrying it. */
  announcement: {name: string; value: Announcement} | undefined
  /** IPv4 addresses of A records owned by `end`, in answer order. */
  addresses: string[]
}

/** Cheap pre-filter: a pq1 label, wherever it is, appears literally as <55|63>'p''q'<digit>. */
export function mayContainAnnouncement(buf: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i + 3 < to; i++) {
    const len = buf[i]
    if ((len === 55 || len === 63) && (buf[i + 1]! | 0x20) === 0x70 && (buf[i + 2]! | 0x20) === 0x71) {
      const d = buf[i + 3]!
      if (d >= 0x30 && d <= 0x39) return true
    }
  }
  return false
}

export function analyzeChain(buf: Uint8Array, msg: WireMessage, qlname: string, qtype: number): ChainInfo {
  const names = [qlname]
  let end = qlname
  let broken = false
  const answers = msg.records.filter((r) => r.section === SECTION_ANSWER && r.klass === CLASS_IN)
  if (qtype !== TYPE_CNAME && qtype !== TYPE_ANY) {
    for (let hop = 0; ; hop++) {
      const c = answers.find((r) => r.type === TYPE_CNAME && r.lname === end)
      if (c === undefined) break
      const target = readName(buf, c.rdataOffset)
      if (target === undefined || hop >= DNS_CNAME_MAX_HOPS) {
        broken = true
        break
      }
      const t = asciiLower(target.name)
      if (names.includes(t)) {
        broken = true
        break
      }
      names.push(t)
      end = t
    }
  }
  let dataAtEnd = 0
  const addresses: string[] = []
  for (const r of answers) {
    if (r.lname !== end) continue
    if (r.type === qtype || qtype === TYPE_ANY) dataAtEnd++
    if (r.type === TYPE_A && r.rdlength === 4) {
      const o = r.rdataOffset
      addresses.push(`${buf[o]}.${buf[o + 1]}.${buf[o + 2]}.${buf[o + 3]}`)
    }
  }
  const negative = msg.records.some((r) => r.section === SECTION_AUTHORITY && r.type === TYPE_SOA)
  const partial = !broken && names.length > 1 && dataAtEnd === 0 && msg.rcode === RCODE_NOERROR && !negative
  let announcement: ChainInfo['announcement']
  for (const name of names) {
    const value = parseAnnouncementName(name)
    if (value !== undefined) {
      announcement = {name, value}
      break
    }
  }
  return {names, end, dataAtEnd, broken, partial, announcement, addresses}
}

/**
 * How long a reply may be cached, in seconds; 0 means do not cache. Positive answers: the
 * smallest TTL among answer and authority records. NXDOMAIN and NODATA (RFC 2308 section 5):
 * min(SOA TTL, SOA MINIMUM) and any CNAME TTL; without an SOA they are not cached. Other rcodes
 * and truncated replies are not cached.
 */
export function cacheTtlS(buf: Uint8Array, msg: WireMessage, hasData: boolean, maxS: number, maxNegativeS: number): number {
  if ((msg.flags & 0x0200) !== 0) return 0
  let min = Infinity
  let soaMin = Infinity
  for (const r of msg.records) {
    if (r.section === SECTION_ANSWER || r.section === SECTION_AUTHORITY) min = Math.min(min, r.ttl)
    if (r.section === SECTION_AUTHORITY && r.type === TYPE_SOA && r.rdlength >= 22) {
      const o = r.rdataOffset + r.rdlength - 4
      const minimum = ((buf[o]! << 24) >>> 0) + (buf[o + 1]! << 16) + (buf[o + 2]! << 8) + buf[o + 3]!
      soaMin = Math.min(soaMin, r.ttl, minimum)
    }
  }
  if (msg.rcode === RCODE_NOERROR && hasData) return min === Infinity ? 0 : Math.min(min, maxS)
  if (msg.rcode === RCODE_NOERROR || msg.rcode === 3 /* NXDOMAIN */) {
    if (soaMin === Infinity) return 0
    return Math.min(min, soaMin, maxNegativeS)
  }
  return 0
}
