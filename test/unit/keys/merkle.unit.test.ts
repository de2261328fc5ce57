/**
 * Static-key Merkle tree (pq1-protocol.md section 5.2): shape, node sizes, verification,
 * level-by-level assembly and reassembly. Roots are checked against hashes computed here directly
 * with node:crypto and against vectors computed with Python's hashlib, not with the code under test.
 */
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {test} from 'node:test'

import {MCELIECE_PK_BYTES, SEG_LEN, X25519_BYTES} from '../../../src/constants.js'
import {MerkleAssembler} from '../../../src/keys/merkle-assembler.js'
import {
  PQ1_MERKLE_SHAPE, merkleChildren, merkleNodeCount, merkleNodeSize, merkleParent, merkleShape,
} from '../../../src/keys/merkle-shape.js'
import {buildMerkleTree, merkleRoot, verifyMerkleNode} from '../../../src/keys/merkle.js'
import {hex} from '../../helpers/hex.js'

const MCELIECE8192128_PK_BYTES = 1_357_824

/** Deterministic filler (xorshift32), not a real key. */
function filler(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n)
  let x = seed >>> 0 || 1
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    out[i] = x & 0xff
  }
  return out
}

/** The pattern used for the hashlib vectors: byte i = (7i + 3) mod 256. */
function pattern(n: number): Buffer {
  const out = Buffer.alloc(n)
  for (let i = 0; i < n; i++) out[i] = (i * 7 + 3) & 0xff
  return out
}

const h32 = (b: Uint8Array): Buffer => createHash('shake256', {outputLength: 32}).update(b).digest()

/** Straightforward root of section 5.2, independent of src/keys. */
function referenceRoot(p: Uint8Array): Buffer {
  let level = Buffer.from(p)
  while (level.length > 32) {
    const hashes: Buffer[] = []
    for (let i = 0; i < level.length; i += 1152) hashes.push(h32(level.subarray(i, i + 1152)))
    level = Buffer.concat(hashes)
  }
  return level
}

const X25519_PK = Buffer.from(Array.from({length: 32}, (_, i) => i))
const MC_PK = filler(MCELIECE_PK_BYTES, 0x5eed)
const X_PK = filler(X25519_BYTES, 0x25519)
const TREE = buildMerkleTree(MC_PK, X_PK)

test('structure [1,1,26,910] for mceliece6960119 and [1,1,33,1179] for mceliece8192128', () => {
  assert.deepEqual(PQ1_MERKLE_SHAPE.structure, [1, 1, 26, 910])
  assert.deepEqual(TREE.structure, [1, 1, 26, 910])
  assert.deepEqual(PQ1_MERKLE_SHAPE.levelBytes, [32, 832, 29_120, 1_047_351])
  assert.equal(merkleNodeCount(PQ1_MERKLE_SHAPE), 938)
  assert.deepEqual(merkleShape(MCELIECE8192128_PK_BYTES + 32).structure, [1, 1, 33, 1179])
  const big = buildMerkleTree(filler(MCELIECE8192128_PK_BYTES, 7), X_PK)
  assert.deepEqual(big.structure, [1, 1, 33, 1179])
  assert.equal(big.nodeSize(1, 0), 33 * 32)
  assert.equal(big.nodeSize(3, 1178), MCELIECE8192128_PK_BYTES + 32 - 1178 * SEG_LEN)
  assert.equal(hex(big.root), hex(referenceRoot(Buffer.concat([filler(MCELIECE8192128_PK_BYTES, 7), X_PK]))))
})

test('node sizes per level: 32 / 832 / 25 x 1152 + 320 / 909 x 1152 + 183', () => {
  assert.equal(TREE.nodeSize(0, 0), 32)
  assert.equal(TREE.nodeSize(1, 0), 832)
  for (let p = 0; p < 25; p++) assert.equal(TREE.nodeSize(2, p), 1152)
  assert.equal(TREE.nodeSize(2, 25), 320)
  for (let p = 0; p < 909; p++) assert.equal(TREE.nodeSize(3, p), 1152)
  assert.equal(TREE.nodeSize(3, 909), 183)
  for (const [d, p] of [[0, 1], [1, 1], [2, 26], [3, 910], [4, 0], [-1, 0], [1, -1], [1, 0.5], [Number.NaN, 0]]) {
    assert.equal(TREE.nodeSize(d!, p!), undefined, `(${d},${p})`)
    assert.equal(TREE.node(d!, p!), undefined, `(${d},${p})`)
  }
  let total = 0
  for (let d = 0; d < 4; d++) for (let p = 0; p < TREE.structure[d]!; p++) total += 11 + TREE.node(d, p)!.length
  assert.equal(total, 1_087_653, 'payload bytes of a full download, section 5.3')
})

test('the leaves are the key and the last leaf ends with the X25519 key', () => {
  assert.deepEqual(TREE.node(3, 0), MC_PK.subarray(0, 1152))
  assert.deepEqual(TREE.node(3, 909), Buffer.concat([MC_PK.subarray(909 * 1152), X_PK]))
  assert.deepEqual(TREE.node(1, 0), Buffer.concat(Array.from({length: 26}, (_, p) => h32(TREE.node(2, p)!))))
  assert.deepEqual(TREE.node(2, 25), Buffer.concat(Array.from({length: 10}, (_, i) => h32(TREE.node(3, 900 + i)!))))
  assert.deepEqual(TREE.node(0, 0), TREE.root)
})

test('root equals an independent node:crypto computation and hashlib vectors', () => {
  assert.equal(hex(TREE.root), hex(referenceRoot(Buffer.concat([MC_PK, X_PK]))))
  assert.equal(hex(TREE.root), hex(h32(TREE.node(1, 0)!)))
  // Small input, computed by hand: three leaves, one depth-1 node of 96 bytes.
  const small = pattern(3000)
  const leaves = [small.subarray(0, 1152), small.subarray(1152, 2304), Buffer.concat([small.subarray(2304), X25519_PK])]
  const byHand = h32(Buffer.concat(leaves.map(h32)))
  const tree = buildMerkleTree(small, X25519_PK)
  assert.deepEqual(tree.structure, [1, 1, 3])
  assert.equal(hex(tree.root), hex(byHand))
  // Vectors from Python: hashlib.shake_256(...).digest(32), same construction.
  assert.equal(hex(tree.root), '77accea51354e33361697fbff061a42aa1efecc0b7ffd8db3244e620393d0e8c')
  assert.equal(hex(merkleRoot(pattern(MCELIECE_PK_BYTES), X25519_PK)),
    'daa6280fba03482dd519caeafcb9cd0e046ac70637b746e57f73071ffd4b1aaf')
})

test('different keys give different roots; bad inputs are refused', () => {
  const other = Buffer.from(MC_PK)
  other[123_456]! ^= 1
  assert.notEqual(hex(merkleRoot(other, X_PK)), hex(TREE.root))
  const otherX = Buffer.from(X_PK)
  otherX[31]! ^= 0x80
  assert.notEqual(hex(merkleRoot(MC_PK, otherX)), hex(TREE.root))
  assert.throws(() => buildMerkleTree(MC_PK, X_PK.subarray(1)), {code: 'PQC_ERR_KEY_INVALID'})
  assert.throws(() => merkleShape(32), {code: 'PQC_ERR_ARGUMENT'})
})

test('parent and children helpers follow the 36-way fan-out', () => {
  assert.deepEqual(merkleParent(PQ1_MERKLE_SHAPE, 3, 909), {depth: 2, pos: 25, hashOffset: 9 * 32})
  assert.deepEqual(merkleParent(PQ1_MERKLE_SHAPE, 3, 36), {depth: 2, pos: 1, hashOffset: 0})
  assert.deepEqual(merkleParent(PQ1_MERKLE_SHAPE, 2, 25), {depth: 1, pos: 0, hashOffset: 25 * 32})
  assert.deepEqual(merkleParent(PQ1_MERKLE_SHAPE, 1, 0), {depth: 0, pos: 0, hashOffset: 0})
  assert.equal(merkleParent(PQ1_MERKLE_SHAPE, 0, 0), undefined)
  assert.deepEqual(merkleChildren(PQ1_MERKLE_SHAPE, 2, 25), {first: 900, end: 910})
  assert.deepEqual(merkleChildren(PQ1_MERKLE_SHAPE, 1, 0), {first: 0, end: 26})
  assert.deepEqual(merkleChildren(PQ1_MERKLE_SHAPE, 3, 0), {first: 0, end: 0})
  for (let p = 0; p < 910; p++) {
    const parent = merkleParent(PQ1_MERKLE_SHAPE, 3, p)!
    const c = merkleChildren(PQ1_MERKLE_SHAPE, 2, parent.pos)
    assert.ok(p >= c.first && p < c.end)
  }
})

test('every node verifies against its parent; tampered nodes do not', () => {
  const shape = TREE.shape
  assert.ok(verifyMerkleNode(shape, 0, 0, TREE.root, TREE.root))
  let checked = 0
  for (let d = 1; d < 4; d++) {
    for (let p = 0; p < TREE.structure[d]!; p++) {
      const par = merkleParent(shape, d, p)!
      const parent = TREE.node(par.depth, par.pos)!
      const node = TREE.node(d, p)!
      assert.ok(verifyMerkleNode(shape, d, p, node, parent), `(${d},${p})`)
      checked++
      if (p % 97 === 0 || p === TREE.structure[d]! - 1) {
        const bad = Buffer.from(node)
        bad[bad.length >> 1]! ^= 0x01
        assert.equal(verifyMerkleNode(shape, d, p, bad, parent), false, `tampered (${d},${p})`)
        assert.equal(verifyMerkleNode(shape, d, p, node.subarray(1), parent), false, `short (${d},${p})`)
      }
    }
  }
  assert.equal(checked, 937)
  // A node at the wrong position, a wrong root, and a parent of the wrong size are all refused.
  assert.equal(verifyMerkleNode(shape, 3, 1, TREE.node(3, 0)!, TREE.node(2, 0)!), false)
  assert.equal(verifyMerkleNode(shape, 0, 0, TREE.root, h32(TREE.root)), false)
  assert.equal(verifyMerkleNode(shape, 0, 0, h32(TREE.root), TREE.root), false)
  assert.equal(verifyMerkleNode(shape, 2, 0, TREE.node(2, 0)!, TREE.node(1, 0)!.subarray(0, 800)), false)
  assert.equal(verifyMerkleNode(shape, 4, 0, TREE.node(3, 0)!, TREE.node(2, 0)!), false)
})

test('assembler: level by level, any order within a level, reassembles both keys', () => {
  const a = new MerkleAssembler(TREE.root)
  assert.equal(a.currentDepth, 1)
  assert.deepEqual(a.missing(), [0])
  assert.equal(a.accept(0, 0, TREE.root), 'duplicate')
  assert.equal(a.accept(0, 0, h32(TREE.root)), 'bad-hash')
  // Wrong level order: children before their parent.
  assert.equal(a.accept(2, 0, TREE.node(2, 0)!), 'parent-missing')
  assert.equal(a.accept(3, 5, TREE.node(3, 5)!), 'parent-missing')
  assert.equal(a.accept(1, 0, TREE.node(2, 0)!.subarray(0, 832)), 'bad-hash')
  assert.equal(a.accept(1, 0, TREE.node(1, 0)!), 'accepted')
  assert.equal(a.accept(1, 0, TREE.node(1, 0)!), 'duplicate')
  assert.equal(a.currentDepth, 2)
  assert.equal(a.missing().length, 26)
  assert.equal(a.accept(3, 0, TREE.node(3, 0)!), 'parent-missing')
  // Depth 2 in reverse order.
  for (let p = 25; p >= 0; p--) {
    assert.equal(a.accept(2, p, TREE.node(2, p)!), 'accepted')
    if (p === 13) assert.deepEqual(a.missing(), Array.from({length: 13}, (_, i) => i))
  }
  assert.equal(a.currentDepth, 3)
  assert.equal(a.result(), undefined)
  // Leaves in a scrambled order (a permutation of 0..909), with a forged one and a misplaced one.
  const order = Array.from({length: 910}, (_, i) => (i * 347) % 910)
  assert.equal(new Set(order).size, 910)
  for (const [i, p] of order.entries()) {
    if (i === 10) {
      const forged = Buffer.from(TREE.node(3, p)!)
      forged[0]! ^= 0xff
      assert.equal(a.accept(3, p, forged), 'bad-hash')
      assert.equal(a.accept(3, (p + 1) % 909, TREE.node(3, p)!), 'bad-hash')
      assert.equal(a.accept(3, 909, TREE.node(3, p)!), 'no-such-node', 'wrong size for the last leaf')
      assert.ok(!a.has(3, p))
    }
    assert.equal(a.accept(3, p, TREE.node(3, p)!), 'accepted')
    assert.ok(a.has(3, p))
    if (i === 908) assert.equal(a.missing().length, 1)
  }
  assert.ok(a.complete)
  assert.equal(a.currentDepth, undefined)
  assert.deepEqual(a.missing(), [])
  const key = a.result()!
  assert.equal(key.mceliecePk.length, MCELIECE_PK_BYTES)
  assert.ok(MC_PK.equals(key.mceliecePk))
  assert.ok(X_PK.equals(key.x25519Pk))
})

test('assembler refuses nodes outside the tree and a root of the wrong size', () => {
  const a = new MerkleAssembler(TREE.root)
  for (const [d, p] of [[4, 0], [1, 1], [-1, 0], [2, 26], [1.5, 0], [1, Number.NaN]]) {
    assert.equal(a.accept(d!, p!, Buffer.alloc(832)), 'no-such-node', `(${d},${p})`)
  }
  assert.equal(a.accept(1, 0, Buffer.alloc(0)), 'no-such-node')
  assert.throws(() => new MerkleAssembler(TREE.root.subarray(1)), {code: 'PQC_ERR_ARGUMENT'})
})

test('assembler under a different root accepts nothing', () => {
  const a = new MerkleAssembler(h32(Buffer.from('not the root')))
  assert.equal(a.accept(1, 0, TREE.node(1, 0)!), 'bad-hash')
  assert.equal(a.currentDepth, 1)
})

test('assembler works for a generic shape (small key)', () => {
  const small = pattern(5000)
  const tree = buildMerkleTree(small, X25519_PK)
  assert.deepEqual(tree.structure, [1, 1, 5])
  const a = new MerkleAssembler(tree.root, tree.shape)
  assert.equal(a.accept(1, 0, tree.node(1, 0)!), 'accepted')
  for (let p = 4; p >= 0; p--) assert.equal(a.accept(2, p, tree.node(2, p)!), 'accepted')
  const key = a.result()!
  assert.ok(small.equals(key.mceliecePk))
  assert.ok(X25519_PK.equals(key.x25519Pk))
  assert.equal(merkleNodeSize(tree.shape, 2, 4), 5032 - 4 * 1152)
})
