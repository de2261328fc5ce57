/**
 * Progress of a static-key download (pq1-protocol.md section 5.4) for the log: wraps the
 * KeyChannel of key-fetch.ts and reports each quarter of the Merkle nodes answered (25, 50, 75,
 * 100 %). It only watches: nodes are counted when a well-formed response for them arrives (the
 * fetcher still verifies each one), so the count is bounded by the tree's node count.
 */
import {PQ1_MERKLE_SHAPE, merkleNodeCount} from '../../src/keys/merkle-shape.js'
import {decodeStaticResponse} from '../../src/wire/keyserver.js'
import type {KeyChannel} from './key-fetch.js'

/** Nodes a client downloads: the whole tree but the root, which it has from DNS. */
const NODES_TO_FETCH = merkleNodeCount(PQ1_MERKLE_SHAPE) - 1

export function withKeyProgress(ch: KeyChannel, report: (percent: number, nodes: number, total: number) => void): KeyChannel {
  // (depth, pos) pairs seen; at most NODES_TO_FETCH entries since decodeStaticResponse only
  // accepts nodes of the tree.
  const seen = new Set<number>()
  let quarter = 0
  return {
    send: (d) => ch.send(d),
    flush: () => ch.flush?.(),
    listen: (fn) => {
      if (fn === undefined) {
        ch.listen(undefined)
        return
      }
      ch.listen((d) => {
        const r = decodeStaticResponse(d)
        if (r !== undefined && r.depth > 0) {
          seen.add(r.depth * 0x10000 + r.pos)
          const q = Math.floor((4 * seen.size) / NODES_TO_FETCH)
          if (q > quarter) {
            quarter = q
            report(25 * q, seen.size, NODES_TO_FETCH)
          }
        }
        fn(d)
      })
    },
  }
}
