/**
 * The answer rewrite for an announced PQConnect server (pq1-protocol.md section 2.4, improved as
 * architecture.md section 1 says): the A RRset at the end of the chain becomes one A record with
 * the internal address and TTL 0; for AAAA the end's AAAA records are removed (no IPv6 bypass of
 * the tunnel); signatures in the answer are stripped and AD is cleared, since the data changed.
 * Rare path: decodes and re-encodes with dns-packet; returns undefined for anything it cannot.
 */
import dnsPacket from 'dns-packet'

import {FLAG_AD, TYPE_A, TYPE_AAAA, asciiLower} from './wire.js'

export function rewriteAnswer(stored: Uint8Array, qtype: number, chainEnd: string, internalAddr: string): Uint8Array | undefined {
  let p: dnsPacket.Packet
  try {
    p = dnsPacket.decode(Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength))
  } catch {
    return undefined
  }
  const answers = p.answers ?? []
  const kept: dnsPacket.Answer[] = []
  let owner: string | undefined
  for (const a of answers) {
    if (a.type === 'RRSIG') continue
    const atEnd = asciiLower(a.name) === chainEnd
    if (atEnd && a.type === 'A') {
      owner ??= a.name
      continue
    }
    if (atEnd && a.type === 'AAAA') continue
    kept.push(a)
  }
  if (qtype === TYPE_A) kept.push({type: 'A', name: owner ?? chainEnd, ttl: 0, class: 'IN', data: internalAddr})
  else if (qtype !== TYPE_AAAA) return undefined
  p.answers = kept
  p.flags = (p.flags ?? 0) & ~FLAG_AD
  try {
    return new Uint8Array(dnsPacket.encode(p))
  } catch {
    return undefined
  }
}
