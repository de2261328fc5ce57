/**
 * ICMP "destination unreachable" for a packet we cannot deliver (a server that never answers:
 * issue 4 wants the application told within 5 s instead of a silent hang). RFC 792: type 3, the
 * original IP header and the first 8 bytes of its payload. Pure; returns undefined for packets
 * that must not get an ICMP error (non-IPv4, ICMP errors themselves, non-first fragments).
 */
import {internetChecksum} from './checksum.js'
import {ipv4HeaderLength} from './ipv4.js'

export const ICMP_HOST_UNREACHABLE = 1

export function icmpUnreachable(original: Uint8Array, fromAddr: number, code = ICMP_HOST_UNREACHABLE): Buffer | undefined {
  const ihl = ipv4HeaderLength(original)
  if (ihl === 0 || original.length < ihl) return undefined
  const fragOffset = ((original[6]! & 0x1f) << 8) | original[7]!
  if (fragOffset !== 0) return undefined
  if (original[9] === 1 && original.length > ihl && [3, 4, 5, 11, 12].includes(original[ihl]!)) return undefined
  const quoted = original.subarray(0, Math.min(original.length, ihl + 8))
  const total = 20 + 8 + quoted.length
  const p = Buffer.alloc(total)
  p[0] = 0x45
  p.writeUInt16BE(total, 2)
  p[8] = 64 // TTL
  p[9] = 1 // ICMP
  p.writeUInt32BE(fromAddr >>> 0, 12)
  p.set(original.subarray(12, 16), 16) // back to the original source
  p.writeUInt16BE(internetChecksum(p, 0, 20), 10)
  p[20] = 3
  p[21] = code
  p.set(quoted, 28)
  p.writeUInt16BE(internetChecksum(p, 20, total), 22)
  return p
}
