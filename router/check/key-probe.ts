/**
 * The key-port half of `pqc server check`: the static-key download of pq1-protocol.md section 5.4
 * (the client's own StaticKeyFetch, so pacing and verification are exactly a client's), told
 * apart into the ways it can go wrong: a silent port, a server whose key does not hash to the
 * announced root (section 5.2: the depth-1 node must hash to the root), or an incomplete download.
 * Reports progress (levels and nodes) for the CLI. Also the UDP KeyChannel the check uses.
 */
import dgram from 'node:dgram'
import net from 'node:net'

import {CHECK_KEY_SILENT_S, STATIC_FETCH_DEADLINE_S} from '../../src/constants.js'
import {StaticKeyFetch} from '../../src/keyfetch/static-fetch.js'
import type {StaticPublicKey} from '../../src/keys/merkle-assembler.js'
import {PQ1_MERKLE_SHAPE, merkleNodeCount} from '../../src/keys/merkle-shape.js'
import {decodeStaticResponse} from '../../src/wire/keyserver.js'
import type {KeyChannel} from '../client/key-fetch.js'
import {systemClock, type Clock} from '../clock.js'

export interface KeyProgress {
  /** Depth being downloaded (1 = first level under the root). */
  depth: number
  leafDepth: number
  /** Verified nodes, the root included, out of nodesTotal. */
  nodesDone: number
  nodesTotal: number
  requests: number
}

export type StaticProbe =
  | {kind: 'ok'; key: StaticPublicKey; requests: number; seconds: number}
  /** Nothing came back from the key port within CHECK_KEY_SILENT_S. */
  | {kind: 'silent'; requests: number; seconds: number}
  /** The server answered with a first level that does not hash to the announced root. */
  | {kind: 'mismatch'; requests: number}
  /** Answers came, but the whole key did not arrive before the deadline. */
  | {kind: 'incomplete'; requests: number; answers: number; progress: KeyProgress}

export interface ProbeOptions {
  deadlineS?: number
  silentS?: number
  clock?: Clock
  onProgress?: (p: KeyProgress) => void
}

/** Download and verify the static key whose Merkle root is `root`; never rejects. */
export function probeStaticKey(ch: KeyChannel, root: Uint8Array, o: ProbeOptions = {}): Promise<StaticProbe> {
  const clock = o.clock ?? systemClock
  const started = clock.mono()
  const silentS = o.silentS ?? CHECK_KEY_SILENT_S
  const fetch = new StaticKeyFetch(root, started, o.deadlineS ?? STATIC_FETCH_DEADLINE_S)
  const progress: KeyProgress = {depth: 1, leafDepth: PQ1_MERKLE_SHAPE.leafDepth, nodesDone: 1, nodesTotal: merkleNodeCount(PQ1_MERKLE_SHAPE), requests: 0}
  let answers = 0
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined
    let finished = false
    const finish = (r: StaticProbe): void => {
      finished = true
      clearTimeout(timer)
      ch.listen(undefined)
      resolve(r)
    }
    const step = (): void => {
      if (finished) return
      clearTimeout(timer)
      const now = clock.mono()
      const r = fetch.poll(now)
      progress.requests = fetch.requestsSent
      if (r.kind === 'done') {
        o.onProgress?.(progress)
        finish({kind: 'ok', key: {mceliecePk: Buffer.from(r.key.mceliecePk), x25519Pk: Buffer.from(r.key.x25519Pk)}, requests: r.requests, seconds: r.elapsedS})
        return
      }
      if (answers === 0 && now - started >= silentS) {
        finish({kind: 'silent', requests: fetch.requestsSent, seconds: now - started})
        return
      }
      if (r.kind === 'failed') {
        finish({kind: 'incomplete', requests: fetch.requestsSent, answers, progress})
        return
      }
      for (const d of r.datagrams) ch.send(d)
      const untilSilent = answers === 0 ? Math.max(0.001, started + silentS - now) : Infinity
      timer = setTimeout(step, Math.max(1, Math.ceil(Math.min(r.wakeInS, untilSilent) * 1000)))
    }
    ch.listen((d) => {
      if (finished) return
      const resp = decodeStaticResponse(d)
      if (resp === undefined) return
      answers++
      if (fetch.onDatagram(d, clock.mono())) {
        progress.nodesDone++
        progress.depth = resp.depth
        o.onProgress?.(progress)
        setImmediate(step)
      } else if (resp.depth === 1 && progress.nodesDone === 1) {
        // The only node at depth 1 is checked against the root itself (its parent): a well-formed
        // answer that does not verify means the server holds another key than DNS announces.
        finish({kind: 'mismatch', requests: fetch.requestsSent})
      }
    })
    step()
  })
}

/** A KeyChannel over its own UDP socket, talking to exactly one address and port. */
export function udpKeyChannel(address: string, port: number): KeyChannel & {close(): void} {
  const sock = dgram.createSocket(net.isIP(address) === 6 ? 'udp6' : 'udp4')
  let receiver: ((d: Uint8Array) => void) | undefined
  sock.on('error', () => undefined) // ICMP unreachable and the like: the probe sees silence
  sock.on('message', (m, rinfo) => {
    if (rinfo.address === address && rinfo.port === port) receiver?.(m)
  })
  return {
    send: (d) => sock.send(d, port, address),
    listen: (fn) => {
      receiver = fn
    },
    close: () => sock.close(),
  }
}
