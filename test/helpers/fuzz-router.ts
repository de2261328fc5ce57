/**
 * Router side of the port fuzz tests: a RouterPair with a tunnel up and valid messages captured
 * off the wire as mutation seeds (initiation, tunnel datagrams both ways, key requests and
 * responses), attacker sockets on the in-memory network, a tap that records every datagram the
 * routers send during the fuzz, and the check that the legitimate session still carries traffic.
 */
import {setImmediate as realImmediate} from 'node:timers/promises'

import {parseAddress} from '../../router/udp/address.js'
import {heapUsed} from './fuzz-datagrams.js'
import {encodeEphemeralRequest, encodeStaticRequest} from '../../src/wire/keyserver.js'
import {RouterPair, ipv4, type DatagramKind, type Direction, type ServerKeys} from './router-pair.js'

/** Attacker hosts (TEST-NET-3) and the ports they send from. */
export const ATTACKER_ADDRS = ['203.0.113.7', '203.0.113.66', '203.0.113.129', '203.0.113.250']
export const ATTACKER_PORTS = [53, 4444, 40000, 65535]
/** Datagrams injected between two deliveries (the in-memory socket queue holds 1024). */
export const FUZZ_ROUND_DATAGRAMS = 256
/** Valid datagrams of each kind kept as seeds. */
const SEEDS_PER_KIND = 16
/** Datagrams sent during the fuzz that are kept for the failure message. */
const SENT_SAMPLE = 20

export interface Seeds {
  init: Uint8Array[]
  c2sTunnel: Uint8Array[]
  s2cTunnel: Uint8Array[]
  staticReq: Uint8Array[]
  staticResp: Uint8Array[]
  ephReq: Uint8Array[]
  ephResp: Uint8Array[]
}

export interface SentRecord {
  from: string
  to: string
  bytes: number
}

export interface FuzzPair {
  pair: RouterPair
  internal: number
  pool: number
  seeds: Seeds
  /** Datagrams routers sent while `recording` (to anyone), and the first few of them. */
  sentCount: number
  sent: SentRecord[]
  recording: boolean
}

/** A connected pair whose handshake, key download and some data were captured as seeds. */
export async function fuzzPair(keys: ServerKeys): Promise<FuzzPair> {
  const pair = await RouterPair.create(keys, {latencyS: 0.01})
  const seeds: Seeds = {init: [], c2sTunnel: [], s2cTunnel: [], staticReq: [], staticResp: [], ephReq: [], ephResp: []}
  const keep = (list: Uint8Array[], d: Uint8Array): void => {
    if (list.length < SEEDS_PER_KIND) list.push(Uint8Array.from(d))
  }
  const byKind: Partial<Record<`${Direction}:${DatagramKind}`, Uint8Array[]>> = {
    'c2s:init': seeds.init, 'c2s:tunnel': seeds.c2sTunnel, 'c2s:keepalive': seeds.c2sTunnel, 's2c:tunnel': seeds.s2cTunnel,
    's2c:keepalive': seeds.s2cTunnel, 'c2s:static-req': seeds.staticReq, 's2c:static-resp': seeds.staticResp,
    'c2s:eph-req': seeds.ephReq, 's2c:eph-resp': seeds.ephResp,
  }
  const fp: FuzzPair = {pair, internal: 0, pool: 0, seeds, sentCount: 0, sent: [], recording: false}
  pair.tap = (d, info) => {
    const list = byKind[`${info.dir}:${info.kind}`]
    if (list !== undefined) keep(list, d.data)
    if (fp.recording && fp.sentCount++ < SENT_SAMPLE) fp.sent.push({from: `${d.from.address}:${d.from.port}`, to: `${d.to.address}:${d.to.port}`, bytes: d.data.length})
    return 'pass'
  }
  fp.internal = ipv4(pair.announce())
  const up = await pair.advanceUntil(() => pair.client.peersByKey.get(keys.keyHashHex)?.lastConnectS !== undefined, 10)
  if (up === undefined || pair.server.peersByTid.size !== 1) throw new Error(`tunnel not up within 10 s:\n${pair.logs.join('\n')}`)
  fp.pool = [...pair.server.peersByTid.values()][0]!.poolAddr
  pair.toServerApp.expect = {src: fp.pool, dst: ipv4('10.42.0.1')}
  pair.toClientApp.expect = {src: fp.internal, dst: ipv4('10.43.0.1')}
  pair.sendFromClientApp(fp.internal, 0, 20)
  pair.sendFromServerApp(fp.pool, 0, 20)
  await pair.advance(1)
  // Valid requests of every shape, even those the download did not need.
  const structure = keys.tree.structure
  for (let depth = 0; depth < structure.length; depth++) for (const pos of [0, structure[depth]! - 1]) seeds.staticReq.push(encodeStaticRequest(depth, pos))
  seeds.ephReq.push(encodeEphemeralRequest())
  return fp
}

/** A sender of fuzz datagrams: an (address, port) on the in-memory network. */
export interface Source {
  address: string
  port: number
}

/** The attacker sources, plus `spoofed` ones (e.g. a router's own endpoint). */
export function sources(spoofed: Source[] = []): Source[] {
  const out: Source[] = []
  for (const address of ATTACKER_ADDRS) for (const port of ATTACKER_PORTS) out.push({address, port})
  return [...out, ...spoofed]
}

/** Sends `data` from source `i` (round robin) to (to, port), past the tap (which then sees only the routers' sends). */
export function sendFrom(fp: FuzzPair, srcs: Source[], i: number, data: Uint8Array, to: string, port: number): void {
  const s = srcs[i % srcs.length]!
  fp.pair.inject(s.address, s.port, data, to, port)
}

export const addr = (text: string): Uint8Array => parseAddress(text)!.bytes

/** Lets in-flight work (McEliece decapsulations on the thread pool) progress without moving virtual time. */
export async function yieldReal(): Promise<void> {
  await realImmediate()
}

export interface PumpResult {
  /** Unhandled promise rejections seen while pumping (should be none). */
  escapes: unknown[]
  ms: number
  heap0: {bytes: number; exact: boolean}
  heap1: {bytes: number; exact: boolean}
}

/**
 * Sends `n` fuzz datagrams from `srcs` to `to:port` with the tap recording, flushing the network
 * every FUZZ_ROUND_DATAGRAMS (an exception in a router's receive path surfaces there and fails
 * the test) and settling at the end (queued decapsulations finish); heap measured around it.
 */
export async function pumpDatagrams(fp: FuzzPair, srcs: Source[], n: number, next: () => Uint8Array, to: string, port: number): Promise<PumpResult> {
  const escapes: unknown[] = []
  const onRejection = (e: unknown): void => void escapes.push(e)
  process.on('unhandledRejection', onRejection)
  const heap0 = heapUsed()
  fp.recording = true
  const t0 = performance.now()
  try {
    for (let i = 0; i < n; i++) {
      sendFrom(fp, srcs, i, next(), to, port)
      if ((i + 1) % FUZZ_ROUND_DATAGRAMS === 0 || i === n - 1) {
        fp.pair.flush()
        await yieldReal()
      }
    }
    await fp.pair.settle()
  } finally {
    fp.recording = false
    process.off('unhandledRejection', onRejection)
  }
  const ms = performance.now() - t0
  return {escapes, ms, heap0, heap1: heapUsed()}
}

/** After the fuzz: `count` packets each way through the legitimate tunnel; returns how many arrived. */
export async function legitTraffic(fp: FuzzPair, firstSeq: number, count: number): Promise<{toServer: number; toClient: number; bad: string[]}> {
  const {pair} = fp
  const s0 = pair.toServerApp.seqs.length
  const c0 = pair.toClientApp.seqs.length
  pair.sendFromClientApp(fp.internal, firstSeq, count)
  pair.sendFromServerApp(fp.pool, firstSeq, count)
  await pair.advance(1)
  const got = (seqs: number[], from: number): number => seqs.slice(from).filter((s) => s >= firstSeq && s < firstSeq + count).length
  return {toServer: got(pair.toServerApp.seqs, s0), toClient: got(pair.toClientApp.seqs, c0), bad: [...pair.toServerApp.bad, ...pair.toClientApp.bad]}
}
