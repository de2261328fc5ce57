/**
 * TCP/IPv4 packets and virtio_net_hdr headers for the TUN offload tests, built and checked here
 * independently of the addon's C (RFC 1071 sums written separately): a TCP packet with options
 * and complete or partial (pseudo-header) checksum, a TSO super-packet as the kernel hands it to an
 * offload TUN, and the checks the assertions need.
 */

export const FIN = 0x01
export const PSH = 0x08
export const ACK = 0x10
export const CWR = 0x80
export const VNET_NEEDS_CSUM = 1
export const GSO_TCPV4 = 1

/** RFC 1071 sum of 16-bit big-endian words, folded, not complemented (written independently of the C). */
export function sum16(bytes: Uint8Array, initial = 0): number {
  let s = initial
  for (let i = 0; i < bytes.length; i += 2) s += (bytes[i]! << 8) | (i + 1 < bytes.length ? bytes[i + 1]! : 0)
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000)
  return s
}
export const u16 = (p: Uint8Array, o: number): number => (p[o]! << 8) | p[o + 1]!
export const u32 = (p: Uint8Array, o: number): number => ((p[o]! << 24) | (p[o + 1]! << 16) | (p[o + 2]! << 8) | p[o + 3]!) >>> 0
export const put16 = (p: Uint8Array, o: number, v: number): void => {
  p[o] = (v >> 8) & 0xff
  p[o + 1] = v & 0xff
}
export const put32 = (p: Uint8Array, o: number, v: number): void => {
  put16(p, o, (v >>> 16) & 0xffff)
  put16(p, o + 2, v & 0xffff)
}

export function pseudo(ip: Uint8Array, proto: number, l4Len: number): number {
  return sum16(Uint8Array.from([...ip.subarray(12, 20), 0, proto, (l4Len >> 8) & 0xff, l4Len & 0xff]))
}
export const ihlOf = (p: Uint8Array): number => (p[0]! & 0x0f) * 4
export const ipChecksumOk = (p: Uint8Array): boolean => sum16(p.subarray(0, ihlOf(p))) === 0xffff
export function l4ChecksumOk(p: Uint8Array): boolean {
  const ihl = ihlOf(p)
  return sum16(p.subarray(ihl), pseudo(p, p[9]!, p.length - ihl)) === 0xffff
}

export interface Tcp4 {
  ipOptions?: number[]
  tcpOptions?: number[]
  id: number
  seq: number
  ack?: number
  flags: number
  payload: Uint8Array
  src?: number[]
  dst?: number[]
  sport?: number
  window?: number
  ttl?: number
  df?: boolean
}

/** An IPv4 TCP packet; checksums complete, or (partial) the TCP field holding the pseudo-header sum. */
export function tcp4(t: Tcp4, partial = false): Uint8Array {
  const ipo = t.ipOptions ?? []
  const tco = t.tcpOptions ?? []
  const ihl = 20 + ipo.length
  const thl = 20 + tco.length
  const p = new Uint8Array(ihl + thl + t.payload.length)
  p[0] = 0x40 | (ihl / 4)
  put16(p, 2, p.length)
  put16(p, 4, t.id & 0xffff)
  put16(p, 6, t.df === false ? 0 : 0x4000)
  p[8] = t.ttl ?? 64
  p[9] = 6
  p.set(t.src ?? [10, 77, 0, 1], 12)
  p.set(t.dst ?? [10, 77, 0, 2], 16)
  p.set(ipo, 20)
  put16(p, ihl + 10, 0)
  put16(p, 10, (~sum16(p.subarray(0, ihl))) & 0xffff)
  const tcp = ihl
  put16(p, tcp, t.sport ?? 40000)
  put16(p, tcp + 2, 5201)
  put32(p, tcp + 4, t.seq >>> 0)
  put32(p, tcp + 8, t.ack ?? 0x01020304)
  p[tcp + 12] = (thl / 4) << 4
  p[tcp + 13] = t.flags
  put16(p, tcp + 14, t.window ?? 502)
  p.set(tco, tcp + 20)
  p.set(t.payload, ihl + thl)
  const ps = pseudo(p, 6, p.length - ihl)
  put16(p, tcp + 16, partial ? ps : (~sum16(p.subarray(ihl), ps)) & 0xffff)
  return p
}

export function vnet(h: {flags: number; gsoType: number; hdrLen: number; gsoSize: number; csumStart: number; csumOffset: number}):
  Uint8Array {
  // Host order (little-endian here, as on every machine we run on).
  const b = Buffer.alloc(10)
  b[0] = h.flags
  b[1] = h.gsoType
  b.writeUInt16LE(h.hdrLen, 2)
  b.writeUInt16LE(h.gsoSize, 4)
  b.writeUInt16LE(h.csumStart, 6)
  b.writeUInt16LE(h.csumOffset, 8)
  return b
}
export const cat = (...parts: Uint8Array[]): Uint8Array => Buffer.concat(parts)

/** Timestamps option (NOP, NOP, TS): 12 bytes, doff 8. */
export const TS_OPTIONS = [1, 1, 8, 10, 0, 0, 0x12, 0x34, 0, 0, 0x56, 0x78]

/** What the kernel hands an offload TUN for a TSO super-packet. */
export function superPacket(payload: Uint8Array, gsoSize: number, flags: number, ipOptions: number[] = []): Uint8Array {
  const p = tcp4({ipOptions, tcpOptions: TS_OPTIONS, id: 0xfffe, seq: 0xffffff00, flags, payload}, true)
  const ihl = 20 + ipOptions.length
  return cat(vnet({flags: VNET_NEEDS_CSUM, gsoType: GSO_TCPV4, hdrLen: ihl + 32, gsoSize, csumStart: ihl, csumOffset: 16}), p)
}
