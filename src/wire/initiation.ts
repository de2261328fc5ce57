/**
 * The 1299-byte initiation message, client to server crypto port (pq1-protocol.md section 6.3):
 * `01 00 | c0 (194, McEliece ct) | c1 (32) | tag1 (16) | c3 (1039) | tag3 (16)`.
 * decodeInitiation never throws: anything but exactly this shape is undefined.
 */
import {INITIATION_BYTES, MCELIECE_CT_BYTES, MSG_INITIATION, SNTRUP_CT_BYTES, TAGLEN, X25519_BYTES} from '../constants.js'

export interface Initiation {
  /** Static KEM ciphertext: also the replay-cache key. */
  c0: Uint8Array
  /** c1 || tag1: AEAD of the client's ephemeral X25519 public key. */
  box1: Uint8Array
  /** c3 || tag3: AEAD of the sntrup761 ciphertext. */
  box3: Uint8Array
}

const OFF_C0 = 2
const OFF_BOX1 = OFF_C0 + MCELIECE_CT_BYTES
const OFF_BOX3 = OFF_BOX1 + X25519_BYTES + TAGLEN
const END = OFF_BOX3 + SNTRUP_CT_BYTES + TAGLEN

export function encodeInitiation(m: Initiation): Buffer {
  if (m.c0.length !== MCELIECE_CT_BYTES || m.box1.length !== X25519_BYTES + TAGLEN || m.box3.length !== SNTRUP_CT_BYTES + TAGLEN) {
    throw new RangeError('initiation: wrong field length')
  }
  const out = Buffer.alloc(INITIATION_BYTES)
  out[0] = MSG_INITIATION
  out.set(m.c0, OFF_C0)
  out.set(m.box1, OFF_BOX1)
  out.set(m.box3, OFF_BOX3)
  return out
}

/** Views into `bytes` (no copy) when it is exactly an initiation message, else undefined. */
export function decodeInitiation(bytes: Uint8Array): Initiation | undefined {
  if (bytes.length !== INITIATION_BYTES || END !== INITIATION_BYTES) return undefined
  if (bytes[0] !== MSG_INITIATION || bytes[1] !== 0) return undefined
  return {
    c0: bytes.subarray(OFF_C0, OFF_BOX1),
    box1: bytes.subarray(OFF_BOX1, OFF_BOX3),
    box3: bytes.subarray(OFF_BOX3, END),
  }
}
