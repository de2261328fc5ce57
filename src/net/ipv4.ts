/**
 * Inner-packet address rewriting on receive (pq1-protocol.md section 3.3): set source and
 * destination of a decrypted IPv4 packet in place, recompute the header checksum and the TCP/UDP
 * checksum. Hot path (about 1M packets/s): no allocation, no exceptions; a packet that is not
 * well-formed IPv4 is reported as `false` (drop) and left unchanged.
 */
import {adjustChecksum32x2, finishChecksum, internetChecksum, sum32, sumWords} from './checksum.js'

export const IPV4_MIN_HEADER_BYTES = 20
export const IPV6_HEADER_BYTES = 40
export const IPPROTO_TCP = 6
export const IPPROTO_UDP = 17
const TCP_MIN_HEADER_BYTES = 20
const UDP_HEADER_BYTES = 8
const TCP_CHECKSUM_OFFSET = 16
const UDP_CHECKSUM_OFFSET = 6
const OFF_SRC = 12
const OFF_DST = 16
const FLAG_MF = 0x2000
const FRAGMENT_OFFSET_MASK = 0x1fff

const be16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!
const be32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0

function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8
  b[o + 1] = v & 0xff
}

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24
  b[o + 1] = (v >>> 16) & 0xff
  b[o + 2] = (v >>> 8) & 0xff
  b[o + 3] = v & 0xff
}

/** IP version nibble of a packet read from a TUN or decrypted (4, 6, ...), undefined if empty. */
export function ipVersion(packet: Uint8Array): number | undefined {
  return packet.length === 0 ? undefined : packet[0]! >>> 4
}

/** Version nibble 6 and room for the fixed header: the pq1 tunnel carries IPv4 only (section 3.3). */
export function isIpv6(packet: Uint8Array): boolean {
  return packet.length >= IPV6_HEADER_BYTES && packet[0]! >>> 4 === 6
}

/** Source and destination of an IPv4 packet as unsigned 32-bit numbers (no checks beyond length). */
export const ipv4Source = (packet: Uint8Array): number | undefined =>
  packet.length >= IPV4_MIN_HEADER_BYTES ? be32(packet, OFF_SRC) : undefined
export const ipv4Destination = (packet: Uint8Array): number | undefined =>
  packet.length >= IPV4_MIN_HEADER_BYTES ? be32(packet, OFF_DST) : undefined

/** Dotted quad to an unsigned 32-bit number; undefined unless exactly four decimal octets. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.')
  if (parts.length !== 4) return undefined
  let v = 0
  for (const p of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return undefined
    v = v * 256 + Number(p)
  }
  return v
}

export const formatIpv4 = (v: number): string =>
  `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`

/** Header length of a well-formed IPv4 packet (version 4, IHL >= 5, total length fits), else 0. */
export function ipv4HeaderLength(packet: Uint8Array): number {
  if (packet.length < IPV4_MIN_HEADER_BYTES || packet[0]! >>> 4 !== 4) return 0
  const ihl = (packet[0]! & 0x0f) << 2
  const total = be16(packet, 2)
  return ihl >= IPV4_MIN_HEADER_BYTES && total >= ihl && total <= packet.length ? ihl : 0
}

/** TCP/UDP pseudo-header sum (RFC 793, RFC 768) for the addresses now in the packet. */
const pseudoHeaderSum = (packet: Uint8Array, proto: number, l4Bytes: number): number =>
  sum32(be32(packet, OFF_SRC)) + sum32(be32(packet, OFF_DST)) + proto + l4Bytes

/**
 * Set the source and destination of an IPv4 packet in place and make its checksums right for the
 * new addresses (section 3.3, receiver steps 1-3). Returns false, changing nothing, when the
 * packet is malformed: not version 4, IHL < 5, total length beyond the buffer, or a TCP/UDP
 * packet (or first fragment) too short for its fixed header, or a UDP length that does not fit.
 *
 * - IPv4 header checksum: always recomputed from scratch (reference peers send stale ones).
 * - Whole TCP/UDP packets: L4 checksum recomputed from scratch over the payload, because a
 *   reference sender zeroes the inner destination without updating checksums, so the incoming
 *   checksum does not match the addresses in the packet and cannot be patched incrementally.
 * - First fragments (MF set, offset 0): only part of the payload is here, so the checksum is
 *   patched for the address change (RFC 1624); right whenever the sender's checksum matched the
 *   addresses it sent. Non-first fragments carry no L4 header and keep their bytes.
 * - UDP checksum 0 means "none" (RFC 768) and stays 0; a computed 0 is sent as 0xffff.
 * - ICMP and other protocols: header checksum only (ICMP errors are not translated).
 */
export function rewriteIpv4Addresses(packet: Uint8Array, source: number, destination: number): boolean {
  const ihl = ipv4HeaderLength(packet)
  if (ihl === 0) return false
  const total = be16(packet, 2)
  const proto = packet[9]!
  const frag = be16(packet, 6)
  const hasL4Header = (frag & FRAGMENT_OFFSET_MASK) === 0 && (proto === IPPROTO_TCP || proto === IPPROTO_UDP)
  const whole = hasL4Header && (frag & FLAG_MF) === 0
  let l4Bytes = total - ihl
  // Validate everything before the first write, so a dropped packet is left as it came.
  if (hasL4Header) {
    if (l4Bytes < (proto === IPPROTO_TCP ? TCP_MIN_HEADER_BYTES : UDP_HEADER_BYTES)) return false
    if (whole && proto === IPPROTO_UDP) {
      // The UDP length decides the datagram (RFC 768); the kernel trims any IP padding after it.
      const ulen = be16(packet, ihl + 4)
      if (ulen < UDP_HEADER_BYTES || ulen > l4Bytes) return false
      l4Bytes = ulen
    }
  }
  const oldSource = be32(packet, OFF_SRC)
  const oldDestination = be32(packet, OFF_DST)
  put32(packet, OFF_SRC, source)
  put32(packet, OFF_DST, destination)
  packet[10] = 0
  packet[11] = 0
  put16(packet, 10, internetChecksum(packet, 0, ihl))
  if (!hasL4Header) return true

  const at = ihl + (proto === IPPROTO_TCP ? TCP_CHECKSUM_OFFSET : UDP_CHECKSUM_OFFSET)
  const old = be16(packet, at)
  if (proto === IPPROTO_UDP && old === 0) return true
  let checksum: number
  if (whole) {
    packet[at] = 0
    packet[at + 1] = 0
    checksum = finishChecksum(sumWords(packet, ihl, ihl + l4Bytes, pseudoHeaderSum(packet, proto, l4Bytes)))
  } else {
    checksum = adjustChecksum32x2(old, oldSource, source, oldDestination, destination)
  }
  put16(packet, at, proto === IPPROTO_UDP && checksum === 0 ? 0xffff : checksum)
  return true
}
