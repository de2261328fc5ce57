/**
 * The framing shared by the four key-server messages (pq1-protocol.md section 5.1):
 * `TYPE(2) || field_1 || field_2 || ...` with `field = BE16(len) || bytes[len]`, len >= 1.
 * decodeTlv never throws: a zero length, a truncated field, a dangling byte, another type or
 * another number of fields than expected is `undefined`. Fields are views into the input.
 */
import {LocalError} from '../errors.js'

/** Type byte followed by a zero byte (`f0 00` ...), section 5.1. */
const TYPE_BYTES = 2
const LEN_BYTES = 2
/** Longest field a BE16 length can describe. */
export const TLV_MAX_FIELD_BYTES = 0xffff

/** Total bytes of a message with fields of these lengths. */
export function tlvLength(fieldLengths: readonly number[]): number {
  let n = TYPE_BYTES
  for (const len of fieldLengths) n += LEN_BYTES + len
  return n
}

/**
 * Encode a message. Fields are copied; `fill` fields (given as a length) are left zero, which is
 * how requests carry their padding (sections 5.3 and 5.5).
 */
export function encodeTlv(type: number, fields: ReadonlyArray<Uint8Array | number>): Buffer {
  if (!Number.isInteger(type) || type < 0 || type > 0xff) throw new LocalError('PQC_ERR_ARGUMENT', `tlv: bad type ${type}`)
  const lengths = fields.map((f) => (typeof f === 'number' ? f : f.length))
  for (const len of lengths) {
    if (!Number.isInteger(len) || len < 1 || len > TLV_MAX_FIELD_BYTES) {
      throw new LocalError('PQC_ERR_ARGUMENT', `tlv: field length ${len} outside 1..${TLV_MAX_FIELD_BYTES}`)
    }
  }
  const out = Buffer.alloc(tlvLength(lengths))
  out[0] = type
  let off = TYPE_BYTES
  fields.forEach((f, i) => {
    const len = lengths[i]!
    out.writeUInt16BE(len, off)
    if (typeof f !== 'number') out.set(f, off + LEN_BYTES)
    off += LEN_BYTES + len
  })
  return out
}

/**
 * Decode a message of `type` with exactly `fieldCount` fields that fill the input completely.
 * Returns views into `bytes`, or undefined for anything malformed.
 */
export function decodeTlv(bytes: Uint8Array, type: number, fieldCount: number): Uint8Array[] | undefined {
  if (bytes.length < TYPE_BYTES || bytes[0] !== type || bytes[1] !== 0) return undefined
  const fields: Uint8Array[] = []
  let off = TYPE_BYTES
  while (off < bytes.length) {
    // A dangling single byte, or a field after the expected count, makes the message malformed.
    if (off + LEN_BYTES > bytes.length || fields.length === fieldCount) return undefined
    const len = (bytes[off]! << 8) | bytes[off + 1]!
    off += LEN_BYTES
    if (len === 0 || off + len > bytes.length) return undefined
    fields.push(bytes.subarray(off, off + len))
    off += len
  }
  return fields.length === fieldCount ? fields : undefined
}
