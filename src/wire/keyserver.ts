/**
 * The four key-server messages (pq1-protocol.md sections 5.3 and 5.5) on the TLV framing of
 * section 5.1, and the server's answer rule: a reply is never longer than the request it answers
 * (section 5.6). Decoders never throw; anything malformed or out of the tree is `undefined`.
 * Decoders are stricter than the reference server: requests must carry all-zero padding, and an
 * ephemeral request must be the full 1196 bytes (section 14 item 1), which reference clients send.
 */
import {
  EPHEMERAL_MSG_BYTES, MSG_EPHEMERAL_REQUEST, MSG_EPHEMERAL_RESPONSE, MSG_STATIC_REQUEST, MSG_STATIC_RESPONSE, SNTRUP_PK_BYTES,
  X25519_BYTES,
} from '../constants.js'
import {LocalError} from '../errors.js'
import {type MerkleShape, PQ1_MERKLE_SHAPE, merkleNodeSize} from '../keys/merkle-shape.js'
import {decodeTlv, encodeTlv, tlvLength} from './tlv.js'

/** Depth is one byte, position LE16 (section 5.3: TLV lengths are BE, these values LE). */
const DEPTH_FIELD_BYTES = 1
const POS_FIELD_BYTES = 2

export interface StaticRequest {
  depth: number
  pos: number
  /** L: the size of the requested node, which is also the padding length. */
  nodeBytes: number
}

export interface StaticResponse {
  depth: number
  pos: number
  /** The node, a view into the datagram; verify it before use (src/keys/merkle-assembler.ts). */
  node: Uint8Array
}

/** An ephemeral public-key pair as served (section 5.5). Structurally an EphemeralKeySet's public half. */
export interface EphemeralPublicKeys {
  sntrupPublic: Uint8Array
  x25519Public: Uint8Array
}

/** Bytes of a static request or response for a node of `nodeBytes` (11 + L, section 5.3). */
export const staticMessageLength = (nodeBytes: number): number =>
  tlvLength([DEPTH_FIELD_BYTES, POS_FIELD_BYTES, nodeBytes])

const isAllZero = (b: Uint8Array): boolean => {
  let acc = 0
  for (let i = 0; i < b.length; i++) acc |= b[i]!
  return acc === 0
}

function depthPosFields(depth: number, pos: number): [Uint8Array, Uint8Array] {
  return [Uint8Array.of(depth), Uint8Array.of(pos & 0xff, pos >>> 8)]
}

/** Depth and position fields, or undefined when they are not exactly 1 and 2 bytes. */
function readDepthPos(fields: Uint8Array[]): {depth: number; pos: number} | undefined {
  const [d, p] = fields
  if (d === undefined || p === undefined || d.length !== DEPTH_FIELD_BYTES || p.length !== POS_FIELD_BYTES) return undefined
  return {depth: d[0]!, pos: p[0]! | (p[1]! << 8)}
}

/** `f0 00 | 00 01 | depth | 00 02 | LE16 pos | BE16 L | L zero bytes` (section 5.3). */
export function encodeStaticRequest(depth: number, pos: number, shape: MerkleShape = PQ1_MERKLE_SHAPE): Buffer {
  const size = merkleNodeSize(shape, depth, pos)
  if (size === undefined) throw new LocalError('PQC_ERR_ARGUMENT', `static key request: no node (${depth},${pos})`)
  return encodeTlv(MSG_STATIC_REQUEST, [...depthPosFields(depth, pos), size])
}

/**
 * Server side: a request for a node of `shape` with L equal to that node's size and zero padding,
 * or undefined (invalid depth/position is ignored, as in the reference; section 12.2 vector).
 */
export function decodeStaticRequest(bytes: Uint8Array, shape: MerkleShape = PQ1_MERKLE_SHAPE): StaticRequest | undefined {
  const fields = decodeTlv(bytes, MSG_STATIC_REQUEST, 3)
  if (fields === undefined) return undefined
  const dp = readDepthPos(fields)
  if (dp === undefined) return undefined
  const size = merkleNodeSize(shape, dp.depth, dp.pos)
  const padding = fields[2]!
  if (size === undefined || padding.length !== size || !isAllZero(padding)) return undefined
  return {depth: dp.depth, pos: dp.pos, nodeBytes: size}
}

/** `f1 00 | 00 01 | depth | 00 02 | LE16 pos | BE16 L | node` (section 5.3). */
export function encodeStaticResponse(depth: number, pos: number, node: Uint8Array): Buffer {
  if (!Number.isInteger(depth) || depth < 0 || depth > 0xff || !Number.isInteger(pos) || pos < 0 || pos > 0xffff) {
    throw new LocalError('PQC_ERR_ARGUMENT', `static key response: (${depth},${pos}) does not fit the fields`)
  }
  return encodeTlv(MSG_STATIC_RESPONSE, [...depthPosFields(depth, pos), node])
}

/**
 * Client side: a response for a node of `shape` whose length is that node's size, or undefined.
 * The node is not verified here; the Merkle assembler does that.
 */
export function decodeStaticResponse(bytes: Uint8Array, shape: MerkleShape = PQ1_MERKLE_SHAPE): StaticResponse | undefined {
  const fields = decodeTlv(bytes, MSG_STATIC_RESPONSE, 3)
  if (fields === undefined) return undefined
  const dp = readDepthPos(fields)
  if (dp === undefined) return undefined
  const node = fields[2]!
  if (merkleNodeSize(shape, dp.depth, dp.pos) !== node.length) return undefined
  return {depth: dp.depth, pos: dp.pos, node}
}

/** `f2 00 | 04 86 | 1158 zero bytes | 00 20 | 32 zero bytes`, 1196 bytes (section 5.5). */
export function encodeEphemeralRequest(): Buffer {
  return encodeTlv(MSG_EPHEMERAL_REQUEST, [SNTRUP_PK_BYTES, X25519_BYTES])
}

/** Server side: true only for the exact 1196-byte, zero-padded request; never throws. */
export function decodeEphemeralRequest(bytes: Uint8Array): true | undefined {
  if (bytes.length !== EPHEMERAL_MSG_BYTES) return undefined
  const fields = decodeTlv(bytes, MSG_EPHEMERAL_REQUEST, 2)
  if (fields === undefined || fields[0]!.length !== SNTRUP_PK_BYTES || fields[1]!.length !== X25519_BYTES) return undefined
  return isAllZero(fields[0]!) && isAllZero(fields[1]!) ? true : undefined
}

/** `f3 00 | 04 86 | sntrup761_pk | 00 20 | x25519_pk`, 1196 bytes (section 5.5). */
export function encodeEphemeralResponse(keys: EphemeralPublicKeys): Buffer {
  if (keys.sntrupPublic.length !== SNTRUP_PK_BYTES || keys.x25519Public.length !== X25519_BYTES) {
    throw new LocalError('PQC_ERR_KEY_INVALID', 'ephemeral key response: public keys of the wrong size')
  }
  return encodeTlv(MSG_EPHEMERAL_RESPONSE, [keys.sntrupPublic, keys.x25519Public])
}

/** Client side: type, exactly two fields, lengths 1158 and 32 (section 5.5). Views into `bytes`. */
export function decodeEphemeralResponse(bytes: Uint8Array): EphemeralPublicKeys | undefined {
  const fields = decodeTlv(bytes, MSG_EPHEMERAL_RESPONSE, 2)
  if (fields === undefined || fields[0]!.length !== SNTRUP_PK_BYTES || fields[1]!.length !== X25519_BYTES) return undefined
  return {sntrupPublic: fields[0]!, x25519Public: fields[1]!}
}

/** What the server needs of a Merkle tree to answer (src/keys/merkle.ts MerkleTree has it). */
export interface StaticKeySource {
  readonly shape: MerkleShape
  node(depth: number, pos: number): Uint8Array | undefined
}

/**
 * The reply to one datagram on the key port for a static request, or undefined (ignore it).
 * Sent only when exactly as long as the request (section 5.3), so we never amplify.
 */
export function answerStaticRequest(tree: StaticKeySource, bytes: Uint8Array): Buffer | undefined {
  const req = decodeStaticRequest(bytes, tree.shape)
  if (req === undefined) return undefined
  const node = tree.node(req.depth, req.pos)
  if (node === undefined) return undefined
  const res = encodeStaticResponse(req.depth, req.pos, node)
  return res.length === bytes.length ? res : undefined
}

/**
 * answerStaticRequest with each node's response encoded once: the answers are a fixed function of
 * (depth, pos), so a key server keeps them (at most the tree's node count, ~940 for pq1: ~1.1 MB,
 * the key itself) instead of re-encoding a kilobyte per request.
 */
export class StaticAnswers {
  readonly #tree: StaticKeySource
  readonly #encoded = new Map<number, Buffer>()

  constructor(tree: StaticKeySource) {
    this.#tree = tree
  }

  answer(bytes: Uint8Array): Buffer | undefined {
    const req = decodeStaticRequest(bytes, this.#tree.shape)
    if (req === undefined) return undefined
    const key = req.depth * 0x10000 + req.pos
    let res = this.#encoded.get(key)
    if (res === undefined) {
      const node = this.#tree.node(req.depth, req.pos)
      if (node === undefined) return undefined
      res = encodeStaticResponse(req.depth, req.pos, node)
      this.#encoded.set(key, res) // bounded: one entry per node of the tree
    }
    return res.length === bytes.length ? res : undefined
  }
}

/**
 * The reply to an ephemeral request, or undefined (ignore it; also when no key is current).
 * Compared with the bytes really received, unlike the reference (sections 5.6 and 14 item 1).
 */
export function answerEphemeralRequest(keys: EphemeralPublicKeys | undefined, bytes: Uint8Array): Buffer | undefined {
  if (keys === undefined || decodeEphemeralRequest(bytes) === undefined) return undefined
  const res = encodeEphemeralResponse(keys)
  return res.length === bytes.length ? res : undefined
}
