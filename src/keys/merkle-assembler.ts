/**
 * Client side of the static-key download (pq1-protocol.md sections 5.2 and 5.4): starting from the
 * root learnt in DNS, accepts Merkle nodes level by level (any order within a level), keeps only
 * nodes whose verified parent vouches for them, and finally reassembles mceliece_pk and x25519_pk.
 * Pure state; the caller owns sockets, pacing and retransmission.
 */
import {HLEN, X25519_BYTES} from '../constants.js'
import {LocalError} from '../errors.js'
import {verifyMerkleNode} from './merkle.js'
import {type MerkleShape, PQ1_MERKLE_SHAPE, merkleNodeRange, merkleParent} from './merkle-shape.js'

/** What happened to one received node. Only 'accepted' changes the state. */
export type MerkleAcceptResult =
  | 'accepted'
  /** Already held, same bytes (the root counts as held from the start). */
  | 'duplicate'
  /** (depth, pos) is not in the tree, or the data has the wrong size. */
  | 'no-such-node'
  /** The parent is not verified yet: the level order of section 5.4 was not followed. */
  | 'parent-missing'
  /** H(data) does not match the hash in the parent, or differs from the node held: forged or corrupted. */
  | 'bad-hash'

export interface StaticPublicKey {
  mceliecePk: Uint8Array
  x25519Pk: Uint8Array
}

export class MerkleAssembler {
  readonly shape: MerkleShape
  /** levels[d]: the byte string of depth d, filled in as nodes are verified. */
  private readonly levels: Buffer[]
  /** received[d][pos] = 1 once node (depth, pos) is verified. */
  private readonly received: Uint8Array[]
  private readonly missingCount: number[]

  constructor(root: Uint8Array, shape: MerkleShape = PQ1_MERKLE_SHAPE) {
    if (root.length !== HLEN) throw new LocalError('PQC_ERR_ARGUMENT', `Merkle root must be ${HLEN} bytes`)
    this.shape = shape
    this.levels = shape.levelBytes.map((n) => Buffer.alloc(n))
    this.received = shape.structure.map((n) => new Uint8Array(n))
    this.missingCount = [...shape.structure]
    // The root is known from DNS (section 2.1): depth 0 is verified from the start.
    this.levels[0]!.set(root)
    this.received[0]![0] = 1
    this.missingCount[0] = 0
  }

  /** Has node (depth, pos) been verified? */
  has(depth: number, pos: number): boolean {
    return this.received[depth]?.[pos] === 1
  }

  /**
   * The level to download now: the shallowest depth with missing nodes (section 5.4 downloads
   * level by level), or undefined when the whole key is here.
   */
  get currentDepth(): number | undefined {
    const d = this.missingCount.findIndex((n) => n > 0)
    return d < 0 ? undefined : d
  }

  get complete(): boolean {
    return this.currentDepth === undefined
  }

  /** Positions still missing at the current depth (empty when complete), in increasing order. */
  missing(): number[] {
    const depth = this.currentDepth
    if (depth === undefined) return []
    const got = this.received[depth]!
    const out: number[] = []
    for (let pos = 0; pos < got.length; pos++) if (got[pos] === 0) out.push(pos)
    return out
  }

  /** Offer a received node (e.g. from a decoded static-key response). Never throws on bad input. */
  accept(depth: number, pos: number, data: Uint8Array): MerkleAcceptResult {
    const range = merkleNodeRange(this.shape, depth, pos)
    if (range === undefined || data.length !== range.end - range.start) return 'no-such-node'
    if (this.received[depth]![pos] === 1) {
      // Section 5.2: d = 0 only if equal to the known root; likewise for any node already held.
      return this.levels[depth]!.subarray(range.start, range.end).equals(data) ? 'duplicate' : 'bad-hash'
    }
    // Depth 0 is held from the start, so the node has a parent here.
    const p = merkleParent(this.shape, depth, pos)!
    if (this.received[p.depth]![p.pos] !== 1) return 'parent-missing'
    const pr = merkleNodeRange(this.shape, p.depth, p.pos)!
    if (!verifyMerkleNode(this.shape, depth, pos, data, this.levels[p.depth]!.subarray(pr.start, pr.end))) {
      return 'bad-hash'
    }
    this.levels[depth]!.set(data, range.start)
    this.received[depth]![pos] = 1
    this.missingCount[depth]!--
    return 'accepted'
  }

  /**
   * Reassembly (section 5.2): mceliece_pk = all leaves without the last 32 bytes, x25519_pk = the
   * last 32 bytes of the last leaf. Views into the assembler's buffer; undefined until complete.
   */
  result(): StaticPublicKey | undefined {
    if (!this.complete) return undefined
    const leaves = this.levels[this.shape.leafDepth]!
    const split = leaves.length - X25519_BYTES
    return {mceliecePk: leaves.subarray(0, split), x25519Pk: leaves.subarray(split)}
  }
}
