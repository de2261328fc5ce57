/**
 * The shape of the static-key Merkle tree (pq1-protocol.md section 5.2): how many nodes each depth
 * has and how big each node is, computed generically from the size of `mceliece_pk || x25519_pk`
 * as the reference does. Pure arithmetic; no hashing and no key bytes here.
 *
 * Every level is one byte string cut into SEG_LEN pieces: the leaf level is the key itself, every
 * other level is the concatenation of H(node) over the level below, depth 0 is the 32-byte root.
 */
import {HLEN, MCELIECE_PK_BYTES, SEG_LEN, X25519_BYTES} from '../constants.js'
import {LocalError} from '../errors.js'

/** Hashes per node of an inner level: 36 (section 5.2, "36 hashes each"). */
export const MERKLE_FANOUT = SEG_LEN / HLEN

export interface MerkleShape {
  /** Bytes of `mceliece_pk || x25519_pk`. */
  readonly keyBytes: number
  /** Nodes per depth, root first: [1, 1, 26, 910] for mceliece6960119. */
  readonly structure: readonly number[]
  /** Bytes of the whole level per depth: [32, 832, 29120, 1047351] for mceliece6960119. */
  readonly levelBytes: readonly number[]
  /** Depth of the leaves (structure.length - 1). */
  readonly leafDepth: number
}

/**
 * Shape for a key of `keyBytes` bytes (section 5.2): repeatedly ceil(total / SEG_LEN) nodes and
 * total = nodes * HLEN until total <= HLEN; the root level (one 32-byte node) comes first.
 */
export function merkleShape(keyBytes: number): MerkleShape {
  if (!Number.isSafeInteger(keyBytes) || keyBytes <= HLEN) {
    throw new LocalError('PQC_ERR_ARGUMENT', `Merkle tree input must be longer than ${HLEN} bytes, got ${keyBytes}`)
  }
  const structure: number[] = []
  const levelBytes: number[] = []
  let total = keyBytes
  while (total > HLEN) {
    const nodes = Math.ceil(total / SEG_LEN)
    structure.unshift(nodes)
    levelBytes.unshift(total)
    total = nodes * HLEN
  }
  structure.unshift(1)
  levelBytes.unshift(HLEN)
  return {keyBytes, structure, levelBytes, leafDepth: structure.length - 1}
}

/** The shape every pq1 server uses: mceliece6960119 pk (1 047 319 B) || X25519 pk (32 B). */
export const PQ1_MERKLE_SHAPE: MerkleShape = merkleShape(MCELIECE_PK_BYTES + X25519_BYTES)

/** Is (depth, pos) a node of this tree? Safe on any number, including NaN and fractions. */
export function isMerkleNode(shape: MerkleShape, depth: number, pos: number): boolean {
  return Number.isInteger(depth) && Number.isInteger(pos) && depth >= 0 && depth <= shape.leafDepth
    && pos >= 0 && pos < shape.structure[depth]!
}

/** Size in bytes of node (depth, pos), or undefined when there is no such node. */
export function merkleNodeSize(shape: MerkleShape, depth: number, pos: number): number | undefined {
  if (!isMerkleNode(shape, depth, pos)) return undefined
  return Math.min(SEG_LEN, shape.levelBytes[depth]! - pos * SEG_LEN)
}

/** Byte range of node (depth, pos) inside its level's byte string. */
export function merkleNodeRange(shape: MerkleShape, depth: number, pos: number): {start: number; end: number} | undefined {
  const size = merkleNodeSize(shape, depth, pos)
  if (size === undefined) return undefined
  const start = pos * SEG_LEN
  return {start, end: start + size}
}

/**
 * The node holding H(node (depth, pos)): (depth - 1, pos div 36), at byte offset
 * 32 * (pos mod 36) inside it (section 5.2 verification rules). Undefined for the root.
 */
export function merkleParent(shape: MerkleShape, depth: number, pos: number):
  {depth: number; pos: number; hashOffset: number} | undefined {
  if (!isMerkleNode(shape, depth, pos) || depth === 0) return undefined
  return {depth: depth - 1, pos: Math.floor(pos / MERKLE_FANOUT), hashOffset: (pos % MERKLE_FANOUT) * HLEN}
}

/** Positions [first, end) of the children of (depth, pos) at depth + 1; empty for a leaf. */
export function merkleChildren(shape: MerkleShape, depth: number, pos: number): {first: number; end: number} {
  if (!isMerkleNode(shape, depth, pos) || depth === shape.leafDepth) return {first: 0, end: 0}
  const first = pos * MERKLE_FANOUT
  return {first, end: Math.min(first + MERKLE_FANOUT, shape.structure[depth + 1]!)}
}

/** Number of nodes in the whole tree, root included (938 for mceliece6960119). */
export function merkleNodeCount(shape: MerkleShape): number {
  return shape.structure.reduce((a, b) => a + b, 0)
}
