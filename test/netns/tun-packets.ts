/**
 * IPv4 packets for the TUN tests, built and checked by hand so the test does not trust the code
 * under test: header and ICMP checksums (RFC 1071), an ICMP echo request, and a parser of the
 * fields the assertions need.
 */

/** RFC 1071 Internet checksum of `bytes`, with an optional initial 32-bit sum. */
export function internetChecksum(bytes: Uint8Array, initial = 0): number {
  let sum = initial
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!
  if (bytes.length % 2 === 1) sum += bytes[bytes.length - 1]! << 8
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
  return ~sum & 0xffff
}

function ipv4(src: number[], dst: number[], protocol: number, payload: Uint8Array, id: number): Uint8Array {
  const p = new Uint8Array(20 + payload.length)
  const v = new DataView(p.buffer)
  p[0] = 0x45
  v.setUint16(2, p.length)
  v.setUint16(4, id)
  p[8] = 64
  p[9] = protocol
  p.set(src, 12)
  p.set(dst, 16)
  v.setUint16(10, internetChecksum(p.subarray(0, 20)))
  p.set(payload, 20)
  return p
}

/** An ICMP echo request (type 8) from `src` to `dst` with identifier, sequence and data. */
export function icmpEchoRequest(src: number[], dst: number[], ident: number, seq: number, data: Uint8Array): Uint8Array {
  const icmp = new Uint8Array(8 + data.length)
  const v = new DataView(icmp.buffer)
  icmp[0] = 8
  v.setUint16(4, ident)
  v.setUint16(6, seq)
  icmp.set(data, 8)
  v.setUint16(2, internetChecksum(icmp))
  return ipv4(src, dst, 1, icmp, seq)
}

export interface ParsedIpv4 {
  version: number
  headerBytes: number
  totalLength: number
  protocol: number
  src: string
  dst: string
  headerChecksumOk: boolean
  payload: Uint8Array
}

export function parseIpv4(p: Uint8Array): ParsedIpv4 {
  const ihl = (p[0]! & 0x0f) * 4
  const dotted = (o: number): string => Array.from(p.subarray(o, o + 4)).join('.')
  return {
    version: p[0]! >> 4,
    headerBytes: ihl,
    totalLength: (p[2]! << 8) | p[3]!,
    protocol: p[9]!,
    src: dotted(12),
    dst: dotted(16),
    headerChecksumOk: internetChecksum(p.subarray(0, ihl)) === 0,
    payload: p.subarray(ihl),
  }
}

/** UDP checksum over the IPv4 pseudo-header is valid (a zero checksum means "none" in IPv4). */
export function udpChecksumOk(p: Uint8Array): boolean {
  const ip = parseIpv4(p)
  const udp = ip.payload
  if (((udp[6]! << 8) | udp[7]!) === 0) return true
  const pseudo = new Uint8Array(12)
  pseudo.set(p.subarray(12, 20), 0)
  pseudo[9] = 17
  pseudo[10] = udp.length >> 8
  pseudo[11] = udp.length & 0xff
  const pre = internetChecksum(pseudo)
  return internetChecksum(udp, ~pre & 0xffff) === 0
}
