/**
 * Rare-path message surgery with dns-packet: joining a partial CNAME chain with the answer for
 * its target (dns-anchors.md row 19), and re-encoding a reply whose OPT is not last into the
 * canonical layout the cache keeps. Never throws; undefined when the bytes do not decode.
 */
import dnsPacket from 'dns-packet'

import {FLAG_AA} from './wire.js'

const buf = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength)

function encode(p: dnsPacket.Packet): Uint8Array | undefined {
  try {
    return new Uint8Array(dnsPacket.encode(p))
  } catch {
    return undefined
  }
}

function decode(b: Uint8Array): dnsPacket.Packet | undefined {
  try {
    return dnsPacket.decode(buf(b))
  } catch {
    return undefined
  }
}

/** Move OPT (if any) to the end of the additional section and drop its options. */
export function canonicalize(bytes: Uint8Array): Uint8Array | undefined {
  const p = decode(bytes)
  if (p === undefined) return undefined
  const adds = p.additionals ?? []
  const opt = adds.find((a) => a.type === 'OPT')
  const rest = adds.filter((a) => a.type !== 'OPT')
  p.additionals = opt === undefined ? rest : [...rest, {...opt, options: []} as typeof opt]
  return encode(p)
}

/**
 * The first answer's question, header and CNAMEs, followed by the target's answer records (TTLs
 * reduced by `followElapsedS`), with the target's rcode and authority section.
 */
export function mergeChain(first: Uint8Array, follow: Uint8Array, followElapsedS: number): Uint8Array | undefined {
  const a = decode(first)
  const b = decode(follow)
  if (a === undefined || b === undefined) return undefined
  const age = <T extends dnsPacket.Answer>(r: T): T =>
    ('ttl' in r && typeof r.ttl === 'number' ? {...r, ttl: Math.max(0, r.ttl - followElapsedS)} : r)
  const rcodeBits = (b.flags ?? 0) & 0xf
  a.flags = (((a.flags ?? 0) & ~0xf) | rcodeBits) & ~FLAG_AA
  a.answers = [...(a.answers ?? []), ...(b.answers ?? []).map(age)]
  a.authorities = (b.authorities ?? []).map(age)
  a.additionals = (a.additionals ?? []).filter((r) => r.type === 'OPT')
  return encode(a)
}
