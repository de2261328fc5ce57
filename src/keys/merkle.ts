/**
 * The static public key as a Merkle tree (pq1-protocol.md section 5.2): building it on the server
 * from `mceliece_pk` and `x25519_pk`, serving its nodes, and verifying one received node against
 * its already-verified parent. The root is the key hash announced in DNS. Public data only.
 */
import {HLEN, X25519_BYTES} from '../constants.js'
import {shake256} from '../crypto/hash.js'
import {LocalError} from '../errors.js'
import {type MerkleShape, merkleNodeRange, merkleNodeSize, merkleParent, merkleShape} from './merkle-shape.js'

export interface MerkleTree {
  readonly shape: MerkleShape
  /** Nodes per depth, root first ([1, 1, 26, 910]). */
  readonly structure: readonly number[]
  /** The 32-byte root: the DNS key hash. */
  readonly root: Uint8Array
  /** Node (depth, pos) as a read-only view into the tree, or undefined if there is no such node. */
  node(depth: number, pos: number): Uint8Array | undefined
  nodeSize(depth: number, pos: number): number | undefined
}

/**
 * The byte string of the level above `level`: H(node) for each SEG_LEN piece of `level`, in order
 * (section 5.2: "concatenation of H(leaf) for all leaves", and so on up to the root).
 */
export function hashLevel(shape: MerkleShape, depth: number, level: Uint8Array): Buffer {
  const count = shape.structure[depth]!
  const out = Buffer.allocUnsafe(count * HLEN)
  for (let pos = 0; pos < count; pos++) {
    const r = merkleNodeRange(shape, depth, pos)!
    shake256(level.subarray(r.start, r.end)).copy(out, pos * HLEN)
  }
  return out
}

/** Build the tree of `mceliecePk || x25519Pk`. The inputs are copied; the tree never changes. */
export function buildMerkleTree(mceliecePk: Uint8Array, x25519Pk: Uint8Array): MerkleTree {
  if (x25519Pk.length !== X25519_BYTES) {
    throw new LocalError('PQC_ERR_KEY_INVALID', `X25519 public key must be ${X25519_BYTES} bytes, got ${x25519Pk.length}`)
  }
  const shape = merkleShape(mceliecePk.length + x25519Pk.length)
  // levels[d] is the byte string of depth d; the leaves are the key itself (section 5.2).
  const levels: Buffer[] = new Array<Buffer>(shape.leafDepth + 1)
  levels[shape.leafDepth] = Buffer.concat([mceliecePk, x25519Pk])
  for (let d = shape.leafDepth; d > 0; d--) levels[d - 1] = hashLevel(shape, d, levels[d]!)
  const root = levels[0]!
  return {
    shape,
    structure: shape.structure,
    root: Uint8Array.prototype.slice.call(root),
    node(depth, pos) {
      const r = merkleNodeRange(shape, depth, pos)
      return r === undefined ? undefined : levels[depth]!.subarray(r.start, r.end)
    },
    nodeSize: (depth, pos) => merkleNodeSize(shape, depth, pos),
  }
}

/** Constant-shape equality of two byte strings (public data, but no reason to leak where they differ). */
function bytesEqual(a: Uint8Array, aStart: number, b: Uint8Array, len: number): boolean {
  if (aStart + len > a.length || b.length !== len) return false
  let diff = 0
  for (let i = 0; i < len; i++) diff |= a[aStart + i]! ^ b[i]!
  return diff === 0
}

/**
 * Verify a received node (section 5.2). `parent` is the already-verified node that holds its hash:
 * node (depth - 1, pos div 36); for depth 1 that is the root itself. Depth 0 is accepted only
 * when `data` equals `parent`, which must then be the known root. Never throws on bad input.
 */
export function verifyMerkleNode(shape: MerkleShape, depth: number, pos: number, data: Uint8Array,
  parent: Uint8Array): boolean {
  const size = merkleNodeSize(shape, depth, pos)
  if (size === undefined || data.length !== size) return false
  if (depth === 0) return bytesEqual(parent, 0, data, HLEN) && parent.length === HLEN
  const p = merkleParent(shape, depth, pos)!
  if (parent.length !== merkleNodeSize(shape, p.depth, p.pos)) return false
  return bytesEqual(parent, p.hashOffset, shake256(data), HLEN)
}

/** Root of `mceliecePk || x25519Pk` without keeping the tree (e.g. to announce a key). */
export function merkleRoot(mceliecePk: Uint8Array, x25519Pk: Uint8Array): Uint8Array {
  return buildMerkleTree(mceliecePk, x25519Pk).root
}
