/**
 * Shared pieces of the pqc-only benchmarks (issue 8): the one-JSON-object-per-line output
 * ({"metric","value","unit","note"}, echoed to stdout and appended to --out FILE), flag parsing,
 * a real-time server side (KeyServer + ServerRouter on the in-memory UDP/TUN doubles, system
 * clock and timers, never the virtual clock), datagram injection from arbitrary source addresses
 * and fresh valid initiations from distinct fake clients.
 */
import {appendFileSync} from 'node:fs'
import {availableParallelism, loadavg} from 'node:os'
import {performance} from 'node:perf_hooks'
import {setFlagsFromString} from 'node:v8'
import {runInNewContext} from 'node:vm'

import {systemClock, systemTimers} from '../../../router/clock.js'
import {createLogger, type Logger} from '../../../router/log.js'
import {KeyServer} from '../../../router/server/key-server.js'
import {ServerRouter} from '../../../router/server/server-router.js'
import {createTunChannelPair, type TunChannelEnd} from '../../../router/tun/channel.js'
import {parseAddress} from '../../../router/udp/address.js'
import {UdpNetwork, type ChannelUdpSocket} from '../../../router/udp/channel.js'
import {mceliece6960119} from '../../../src/crypto/mceliece.js'
import {systemRng} from '../../../src/crypto/rng.js'
import type {HandshakeCrypto} from '../../../src/handshake/crypto.js'
import {defaultHandshakeCrypto} from '../../../src/handshake/default-crypto.js'
import {createInitiation} from '../../../src/handshake/initiator.js'
import type {ServerKeys} from '../../helpers/router-pair.js'

export {makeServerKeys, type ServerKeys} from '../../helpers/router-pair.js'

export const SERVER_REAL = '198.51.100.20'
export const PQC_PORT = 624
export const KEY_PORT = 584
/** Inbound queue of the server's double sockets: deep enough that the doubles never drop. */
export const BENCH_SOCKET_QUEUE_PACKETS = 1 << 16

// ---- output ----

export interface Metric {
  metric: string
  value: number
  unit: string
  note: string
}

export function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(name)
  const v = at > 0 ? Number(process.argv[at + 1]) : fallback
  if (!Number.isFinite(v)) throw new Error(`${name}: not a number`)
  return v
}

export function textFlag(name: string): string | undefined {
  const at = process.argv.indexOf(name)
  return at > 0 ? process.argv[at + 1] : undefined
}

const OUT = textFlag('--out')

/** One result line: stdout, and appended to --out FILE when given. */
export function emit(metric: string, value: number, unit: string, note = ''): void {
  const line = JSON.stringify({metric, value: Number.isFinite(value) ? Number(value.toPrecision(6)) : null, unit, note} satisfies Omit<Metric, 'value'> & {value: number | null})
  console.log(line)
  if (OUT !== undefined) appendFileSync(OUT, `${line}\n`)
}

/** Progress for humans, on stderr (stdout carries only the JSON lines). */
export const progress = (msg: string): void => void process.stderr.write(`[bench] ${msg}\n`)

export const cores = (): number => availableParallelism()
/** The machine is shared: its 1-minute load average goes into the notes. */
export const load = (): string => `load average ${loadavg()[0]!.toFixed(1)} on ${cores()} cores`
export const threadPool = (): string => process.env['UV_THREADPOOL_SIZE'] ?? '4 (default)'

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** A full garbage collection (flag enabled at runtime, so no --expose-gc is needed on the command line). */
export function fullGc(): void {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  gc()
  gc()
}

/** A logger that keeps nothing; `onLine` sees each line (with performance.now()) if given. */
export function quietLogger(prefix: string, onLine?: (line: string, atMs: number) => void): Logger {
  return createLogger(prefix, {verbose: false, write: (line) => onLine?.(line, performance.now())})
}

/** Waits (polling every `everyMs`) until `done()`; false after `timeoutMs`. */
export async function waitFor(done: () => boolean, timeoutMs: number, everyMs = 5): Promise<boolean> {
  const end = performance.now() + timeoutMs
  while (!done()) {
    if (performance.now() > end) return false
    await sleep(everyMs)
  }
  return true
}

// ---- the server side on real time ----

export interface BenchServer {
  net: UdpNetwork
  keyServer: KeyServer
  router: ServerRouter
  serverSock: ChannelUdpSocket
  keySock: ChannelUdpSocket
  tun: {device: TunChannelEnd; host: TunChannelEnd}
  close(): void
}

export async function startServer(keys: ServerKeys, o: {crypto?: HandshakeCrypto; net?: UdpNetwork; onLog?: (line: string, atMs: number) => void} = {}): Promise<BenchServer> {
  const net = o.net ?? new UdpNetwork({queuePackets: BENCH_SOCKET_QUEUE_PACKETS})
  const keySock = net.bind(SERVER_REAL, KEY_PORT)
  const keyServer = new KeyServer({sock: keySock, tree: keys.tree, clock: systemClock, rng: systemRng, log: quietLogger('keyserver', o.onLog), timers: systemTimers})
  await keyServer.start()
  const serverSock = net.bind(SERVER_REAL, PQC_PORT)
  const tun = createTunChannelPair({name: 'h2bench0', queuePackets: BENCH_SOCKET_QUEUE_PACKETS})
  const router = new ServerRouter({
    tun: tun.device, sock: serverSock, keyServer, crypto: o.crypto ?? defaultHandshakeCrypto(systemRng),
    staticKeys: {mcelieceSecret: Buffer.from(keys.mcelieceSk), x25519Secret: Buffer.from(keys.x25519Sk)},
    clock: systemClock, log: quietLogger('server', o.onLog), timers: systemTimers,
  })
  router.start()
  return {net, keyServer, router, serverSock, keySock, tun, close: () => {
    router.close()
    keyServer.close()
  }}
}

/** The i-th fake client address: 100.64.0.0/10 (shared address space), never the server's. */
export function clientAddress(i: number): Uint8Array {
  return Uint8Array.of(100, 64 + ((i >>> 16) & 63), (i >>> 8) & 255, i & 255)
}

/**
 * Puts a datagram into `sock`'s inbound queue as if sent from (from, port): source addresses
 * without binding a double socket per fake client (each would hold a whole receive batch).
 */
export function inject(sock: ChannelUdpSocket, data: Uint8Array, from: Uint8Array, port: number): void {
  sock.enqueue({data, from, port})
}

export const ip = (text: string): Uint8Array => parseAddress(text)!.bytes

/**
 * `n` valid initiations to `keys`' server, each as a fresh client would build it: a McEliece
 * encapsulation to the long-term key, the current slot's ephemeral keys from the key server.
 */
export async function makeInitiations(keys: ServerKeys, keyServer: KeyServer, n: number, crypto: HandshakeCrypto = defaultHandshakeCrypto(systemRng)): Promise<Buffer[]> {
  const eph = keyServer.store.current(systemClock.wall())
  if (eph === undefined) throw new Error('key server has no ephemeral keys')
  const out: Buffer[] = []
  for (let i = 0; i < n; i++) {
    const init = await createInitiation(crypto, {
      prekey: await crypto.skem.encapsulate(keys.mceliecePk), staticX25519: keys.x25519Pk,
      ephemeralSntrup: eph.sntrupPublic, ephemeralX25519: eph.x25519Public,
    })
    out.push(init.message)
  }
  return out
}

/**
 * The pipeline's admission counters (drops before the queue), where the pipeline has them: that
 * code is changing under other issues, so they are read defensively.
 */
export function admissionCounters(pipeline: object): Record<string, number> {
  const a = (pipeline as {admission?: Record<string, number>}).admission
  return a === undefined ? {} : {...a}
}

/** Wall ms and process CPU ms of an async call. */
export async function timed<T>(fn: () => Promise<T>): Promise<{result: T; wallMs: number; cpuMs: number}> {
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  const result = await fn()
  const wallMs = performance.now() - t0
  const c = process.cpuUsage(c0)
  return {result, wallMs, cpuMs: (c.user + c.system) / 1000}
}

/** Raw McEliece decapsulations per second of the default backend, `parallel` in flight at a time. */
export async function rawDecapsPerS(keys: ServerKeys, count: number, parallel: number): Promise<{perS: number; medianMs: number; cpuMsEach: number}> {
  const cts: Uint8Array[] = []
  for (let i = 0; i < count; i++) cts.push((await mceliece6960119.encapsulate(keys.mceliecePk)).ciphertext)
  const sk = Buffer.from(keys.mcelieceSk)
  await mceliece6960119.decapsulate(cts[0]!, sk) // warm-up
  const each: number[] = []
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < count) {
      const ct = cts[next++]!
      const t = performance.now()
      await mceliece6960119.decapsulate(ct, sk)
      each.push(performance.now() - t)
    }
  }
  const {wallMs, cpuMs} = await timed(() => Promise.all(Array.from({length: parallel}, worker)))
  return {perS: count / (wallMs / 1000), medianMs: median(each), cpuMsEach: cpuMs / count}
}
