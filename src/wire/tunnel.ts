/**
 * The tunnel datagram (pq1-protocol.md section 7.3):
 * `02 00 | tid (32) | BE16 epoch | BE32 index | ciphertext | tag (16)`; the AEAD's associated
 * data is the 40-byte header. This file owns the layout only (no keys, no AEAD): the header is
 * written into a caller's buffer, and decodeTunnelHeader never throws (anything else is undefined).
 */
import {MAX_EPOCH, MSG_TUNNEL, TAGLEN, TIDLEN, TUNNEL_HEADER_BYTES, TUNNEL_OVERHEAD_BYTES} from '../constants.js'

const OFF_TID = 2
const OFF_EPOCH = OFF_TID + TIDLEN
const OFF_INDEX = OFF_EPOCH + 2
/** The index field is BE32 (section 7.3). */
export const MAX_TUNNEL_INDEX = 0xffff_ffff

export interface TunnelHeader {
  /** View into the datagram (no copy). */
  tid: Uint8Array
  epoch: number
  index: number
}

/** Bytes of a tunnel datagram carrying `plaintextBytes` of inner packet (0 for a keepalive). */
export function tunnelDatagramLength(plaintextBytes: number): number {
  return TUNNEL_OVERHEAD_BYTES + plaintextBytes
}

/**
 * Write the 40-byte header at the start of `out` (which must hold at least the header).
 * Throws RangeError on misuse (wrong tid length, epoch or index out of their fields).
 */
export function encodeTunnelHeader(out: Uint8Array, tid: Uint8Array, epoch: number, index: number): void {
  if (out.length < TUNNEL_HEADER_BYTES) throw new RangeError('tunnel: buffer shorter than the header')
  if (tid.length !== TIDLEN) throw new RangeError('tunnel: tid must be 32 bytes')
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > MAX_EPOCH) throw new RangeError('tunnel: epoch out of range')
  if (!Number.isInteger(index) || index < 0 || index > MAX_TUNNEL_INDEX) throw new RangeError('tunnel: index out of range')
  out[0] = MSG_TUNNEL
  out[1] = 0
  out.set(tid, OFF_TID)
  out[OFF_EPOCH] = epoch >>> 8
  out[OFF_EPOCH + 1] = epoch & 0xff
  out[OFF_INDEX] = index >>> 24
  out[OFF_INDEX + 1] = (index >>> 16) & 0xff
  out[OFF_INDEX + 2] = (index >>> 8) & 0xff
  out[OFF_INDEX + 3] = index & 0xff
}

/** Is this a tunnel message at all (type `02 00` and room for header and tag)? */
export function isTunnelDatagram(bytes: Uint8Array): boolean {
  return bytes.length >= TUNNEL_OVERHEAD_BYTES && bytes[0] === MSG_TUNNEL && bytes[1] === 0
}

/** The tid of a tunnel datagram (a view), for demultiplexing; undefined if not a tunnel message. */
export function tunnelTid(bytes: Uint8Array): Uint8Array | undefined {
  return isTunnelDatagram(bytes) ? bytes.subarray(OFF_TID, OFF_EPOCH) : undefined
}

/** Header fields of a tunnel datagram, or undefined when it is short or of another type. */
export function decodeTunnelHeader(bytes: Uint8Array): TunnelHeader | undefined {
  if (!isTunnelDatagram(bytes)) return undefined
  const epoch = (bytes[OFF_EPOCH]! << 8) | bytes[OFF_EPOCH + 1]!
  // `>>> 0` keeps indices >= 2^31 positive.
  const index = ((bytes[OFF_INDEX]! << 24) | (bytes[OFF_INDEX + 1]! << 16) | (bytes[OFF_INDEX + 2]! << 8) | bytes[OFF_INDEX + 3]!) >>> 0
  return {tid: bytes.subarray(OFF_TID, OFF_EPOCH), epoch, index}
}

/** The associated data (header), the sealed part (ciphertext || tag) and the plaintext length. */
export function tunnelParts(bytes: Uint8Array): {ad: Uint8Array; sealed: Uint8Array; plaintextBytes: number} {
  return {
    ad: bytes.subarray(0, TUNNEL_HEADER_BYTES),
    sealed: bytes.subarray(TUNNEL_HEADER_BYTES),
    plaintextBytes: bytes.length - TUNNEL_HEADER_BYTES - TAGLEN,
  }
}

/**
 * The tid of a tunnel datagram as a map key (32 latin1 characters), read straight from the bytes:
 * the per-packet lookup allocates no intermediate buffer. Undefined when not a tunnel datagram.
 */
export function tunnelTidKey(bytes: Uint8Array): string | undefined {
  if (!isTunnelDatagram(bytes)) return undefined
  if (Buffer.isBuffer(bytes)) return bytes.toString('latin1', OFF_TID, OFF_EPOCH)
  return Buffer.from(bytes.buffer, bytes.byteOffset + OFF_TID, OFF_EPOCH - OFF_TID).toString('latin1')
}
