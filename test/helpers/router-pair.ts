/**
 * A real ClientRouter and a real ServerRouter (with its KeyServer) joined by the in-memory TUN and
 * UDP doubles on one VirtualClock, for unit tests of the whole data plane. The harness sees every
 * datagram (a tap that counts, delays, drops or holds), plays the applications on both TUN host
 * ends (arrivals are checked and counted, never stored in bulk), and moves virtual time only when
 * everything real (McEliece decapsulation on the thread pool) has settled.
 */
import {setImmediate as realImmediate} from 'node:timers/promises'

import {ClientRouter} from '../../router/client/client-router.js'
import {generateServerKeys} from '../../router/keys/keygen.js'
import {KeyServer} from '../../router/server/key-server.js'
import {ServerRouter} from '../../router/server/server-router.js'
import {createTunChannelPair, type TunChannelEnd} from '../../router/tun/channel.js'
import {packetAt} from '../../router/tun/device.js'
import {parseAddress} from '../../router/udp/address.js'
import {UdpNetwork, type ChannelDatagram, type ChannelUdpSocket} from '../../router/udp/channel.js'
import {createLogger, type Logger} from '../../router/log.js'
import {mceliece6960119} from '../../src/crypto/mceliece.js'
import {systemRng} from '../../src/crypto/rng.js'
import {sntrup761} from '../../src/crypto/sntrup.js'
import {x25519Keypair} from '../../src/crypto/x25519.js'
import type {Kem} from '../../src/crypto/interfaces.js'
import type {HandshakeCrypto} from '../../src/handshake/crypto.js'
import {defaultHandshakeCrypto} from '../../src/handshake/default-crypto.js'
import {buildMerkleTree, type MerkleTree} from '../../src/keys/merkle.js'
import {VirtualClock} from './virtual-clock.js'

export const CLIENT_REAL = '192.0.2.10'
export const CLIENT_PORT = 40000
export const SERVER_REAL = '198.51.100.20'
export const PQC_PORT = 624
export const KEY_PORT = 584
/** Lines of router log kept (oldest dropped). */
export const LOG_KEEP_LINES = 5000
/** Packets per write burst into a TUN host end (its queue holds CHANNEL_QUEUE_PACKETS). */
export const WRITE_CHUNK_PACKETS = 256
/** Settle rounds before the harness calls it a livelock. */
const SETTLE_MAX_ROUNDS = 1_000_000

export type ServerKeys = Awaited<ReturnType<typeof generateServerKeys>> & {tree: MerkleTree; keyHashHex: string}

/** The server's long-term keys (McEliece keygen: about 0.5 s); make them once per test file. */
export async function makeServerKeys(): Promise<ServerKeys> {
  const k = await generateServerKeys({skem: mceliece6960119, dhKeypair: () => x25519Keypair(systemRng), rng: systemRng})
  const tree = buildMerkleTree(k.mceliecePk, k.x25519Pk)
  await sntrup761.keypair() // loads the WASM module now, not in the middle of virtual time
  return {...k, tree, keyHashHex: Buffer.from(tree.root).toString('hex')}
}

/** Counts KEM calls in flight, so virtual time waits for real work (decapsulation ~70 ms). */
export class InFlight {
  count = 0
  #waiters: Array<() => void> = []
  track<T>(p: Promise<T>): Promise<T> {
    this.count++
    return p.finally(() => {
      if (--this.count === 0) for (const w of this.#waiters.splice(0)) w()
    })
  }
  idle(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((resolve) => this.#waiters.push(resolve))
  }
  kem(k: Kem): Kem {
    return {...k, keypair: () => this.track(k.keypair()), encapsulate: (pk) => this.track(k.encapsulate(pk)),
      decapsulate: (ct, sk) => this.track(k.decapsulate(ct, sk))}
  }
}

export type Direction = 'c2s' | 's2c'
/** What the tap does with one datagram: deliver now, lose it, or deliver after `delayS`. */
export type TapVerdict = 'pass' | 'drop' | {delayS: number}
export type DatagramKind = 'init' | 'tunnel' | 'keepalive' | 'static-req' | 'static-resp' | 'eph-req' | 'eph-resp' | 'other'

export interface TapInfo {
  dir: Direction
  kind: DatagramKind
  at: number
}

const KINDS: Record<number, DatagramKind> = {0x01: 'init', 0x02: 'tunnel', 0xf0: 'static-req', 0xf1: 'static-resp', 0xf2: 'eph-req', 0xf3: 'eph-resp'}

export function kindOf(d: Uint8Array): DatagramKind {
  const k = d[1] === 0x00 ? KINDS[d[0]!] ?? 'other' : 'other'
  return k === 'tunnel' && d.length === 56 ? 'keepalive' : k // 40-byte header + 16-byte tag: empty payload
}

type Counts = Record<`${Direction}:${DatagramKind}`, number>

/** Per-direction receive bookkeeping on a TUN host end. */
export class Arrivals {
  readonly seqs: number[] = []
  readonly bad: string[] = []
  readonly icmp: Buffer[] = []
  expect: {src: number; dst: number} | undefined
  on(p: Uint8Array): void {
    if (p[9] === 1) {
      this.icmp.push(Buffer.from(p))
      return
    }
    const r: PacketCheck = checkPacket(p)
    if (!r.ok) this.bad.push(r.reason)
    else if (this.expect !== undefined && (r.src !== this.expect.src || r.dst !== this.expect.dst)) {
      this.bad.push(`addresses ${r.src.toString(16)} -> ${r.dst.toString(16)}`)
    } else this.seqs.push(r.seq)
  }
}

export interface RouterPairOptions {
  /** One-way delay of every datagram (virtual seconds); 0 delivers at the same instant. */
  latencyS?: number
}

export class RouterPair {
  readonly clock = new VirtualClock()
  readonly net: UdpNetwork
  readonly inflight = new InFlight()
  readonly logs: string[] = []
  readonly counts = {} as Counts
  /** Datagrams the tap lost, by direction and kind. */
  readonly lost = {} as Counts
  readonly toServerApp = new Arrivals()
  readonly toClientApp = new Arrivals()
  /** Optional per-datagram policy (loss, reordering, capture); default delivers. */
  tap: ((d: ChannelDatagram, info: TapInfo) => TapVerdict) | undefined
  latencyS: number
  client!: ClientRouter
  server!: ServerRouter
  keyServer!: KeyServer
  clientTun!: {device: TunChannelEnd; host: TunChannelEnd}
  serverTun!: {device: TunChannelEnd; host: TunChannelEnd}
  clientSock!: ChannelUdpSocket
  serverSock!: ChannelUdpSocket
  keySock!: ChannelUdpSocket
  readonly keys: ServerKeys
  readonly #sockets = new Map<string, ChannelUdpSocket>()
  #reinjecting = false
  readonly #crypto: HandshakeCrypto

  private constructor(keys: ServerKeys, o: RouterPairOptions) {
    this.keys = keys
    this.latencyS = o.latencyS ?? 0
    this.net = new UdpNetwork({delivery: 'manual', filter: (d) => this.#filter(d)})
    const c = defaultHandshakeCrypto(systemRng)
    this.#crypto = {...c, skem: this.inflight.kem(c.skem), ekem: this.inflight.kem(c.ekem)}
  }

  static async create(keys: ServerKeys, o: RouterPairOptions = {}): Promise<RouterPair> {
    const pair = new RouterPair(keys, o)
    pair.keySock = pair.bind(SERVER_REAL, KEY_PORT)
    pair.keyServer = new KeyServer({sock: pair.keySock, tree: keys.tree, clock: pair.clock, rng: systemRng,
      log: pair.logger('keyserver'), timers: pair.clock})
    await pair.keyServer.start()
    pair.startServer()
    pair.clientSock = pair.bind(CLIENT_REAL, CLIENT_PORT)
    pair.clientTun = createTunChannelPair({name: 'pqccli0', delivery: 'manual'})
    pair.clientTun.host.start((b) => {
      for (let i = 0; i < b.count; i++) pair.toClientApp.on(packetAt(b, i))
    })
    pair.client = new ClientRouter({tun: pair.clientTun.device, sock: pair.clientSock, crypto: pair.#crypto, clock: pair.clock,
      log: pair.logger('router'), timers: pair.clock})
    pair.client.start()
    await pair.settle()
    return pair
  }

  bind(address: string, port: number): ChannelUdpSocket {
    const s = this.net.bind(address, port)
    this.#sockets.set(`${address}|${port}`, s)
    return s
  }

  logger(prefix: string): Logger {
    return createLogger(prefix, {verbose: true, write: (line) => {
      if (this.logs.length >= LOG_KEEP_LINES) this.logs.shift()
      this.logs.push(`[t=${this.clock.mono().toFixed(3)}] ${line}`)
    }})
  }

  /** A new ServerRouter (fresh TUN, socket on the same port, same long-term keys, same key server). */
  startServer(): void {
    this.serverSock = this.bind(SERVER_REAL, PQC_PORT)
    this.serverTun = createTunChannelPair({name: 'pqcsrv0', delivery: 'manual'})
    this.serverTun.host.start((b) => {
      for (let i = 0; i < b.count; i++) this.toServerApp.on(packetAt(b, i))
    })
    this.server = new ServerRouter({
      tun: this.serverTun.device, sock: this.serverSock, keyServer: this.keyServer, crypto: this.#crypto,
      staticKeys: {mcelieceSecret: Buffer.from(this.keys.mcelieceSk), x25519Secret: Buffer.from(this.keys.x25519Sk)},
      clock: this.clock, log: this.logger('server'), timers: this.clock,
    })
    this.server.start()
  }

  /** The resolver's announcement of our server; returns the internal (10.43) address. */
  announce(over: {realAddr?: string; keyHashHex?: string; name?: string} = {}): string {
    const addr = this.client.announce({name: over.name ?? 'www.test', keyHashHex: over.keyHashHex ?? this.keys.keyHashHex,
      realAddrs: [over.realAddr ?? SERVER_REAL], pqcPort: PQC_PORT, keyPort: KEY_PORT})
    if (addr === undefined) throw new Error('announcement refused')
    return addr
  }

  /** Lets everything that can happen at the current virtual instant happen. */
  async settle(): Promise<void> {
    for (let round = 0; round < SETTLE_MAX_ROUNDS; round++) {
      await realImmediate()
      if (this.inflight.count > 0) {
        await this.inflight.idle()
        continue
      }
      if (this.clock.runDue() + this.flush() === 0) return
    }
    throw new Error(`router pair: no quiescence after ${SETTLE_MAX_ROUNDS} rounds`)
  }

  /** Virtual time forward by `seconds`, firing every timer at its own due time. */
  async advance(seconds: number): Promise<void> {
    await this.advanceUntil(() => false, seconds)
  }

  /** Advance until `done()` holds (checked after each instant settles) or `maxSeconds` pass; returns the elapsed virtual seconds, or undefined. */
  async advanceUntil(done: () => boolean, maxSeconds: number): Promise<number | undefined> {
    const start = this.clock.mono()
    const end = start + maxSeconds
    await this.settle()
    if (done()) return 0
    while (this.clock.jumpToNextDue(end)) {
      await this.settle()
      if (done()) return this.clock.mono() - start
    }
    this.clock.setNow(end)
    await this.settle()
    return done() ? this.clock.mono() - start : undefined
  }

  /** Delivers everything queued in the doubles; returns packets moved. */
  flush(): number {
    let total = 0
    for (let n = -1; n !== 0; total += n) {
      n = this.net.flush()
      for (const t of [this.clientTun, this.serverTun]) n += t === undefined ? 0 : t.device.flush() + t.host.flush()
    }
    return total
  }

  /** Client application -> server application: `count` packets from `firstSeq`, written in chunks. */
  sendFromClientApp(internalAddr: number, firstSeq: number, count: number, payloadBytes = 64): void {
    this.#write(this.clientTun.host, ipv4('10.43.0.1'), internalAddr, firstSeq, count, payloadBytes)
  }

  /** Server application -> client application (to the client's 10.42 pool address). */
  sendFromServerApp(poolAddr: number, firstSeq: number, count: number, payloadBytes = 64): void {
    this.#write(this.serverTun.host, ipv4('10.42.0.1'), poolAddr, firstSeq, count, payloadBytes)
  }

  /** Sends raw bytes into the network as if from (address, port), past the tap. */
  inject(from: string, port: number, data: Uint8Array, to: string, toPort: number): void {
    const s = this.#sockets.get(`${from}|${port}`) ?? this.bind(from, port)
    this.#reinjecting = true
    try {
      s.send(data, parseAddress(to)!.bytes, toPort)
    } finally {
      this.#reinjecting = false
    }
  }

  count(dir: Direction, kind: DatagramKind): number {
    return this.counts[`${dir}:${kind}`] ?? 0
  }

  close(): void {
    this.client.close()
    this.server.close()
    this.keyServer.close()
  }

  #write(host: TunChannelEnd, src: number, dst: number, firstSeq: number, count: number, payloadBytes: number): void {
    for (let done = 0; done < count;) {
      const n = Math.min(WRITE_CHUNK_PACKETS, count - done)
      for (let i = 0; i < n; i++) {
        const seq = firstSeq + done + i // UDP and TCP alternate: both checksum paths of the rewrite
        if (!host.write(buildPacket(seq % 2 === 0 ? 17 : 6, src, dst, seq, payloadBytes))) throw new Error(`TUN ${host.name}: write refused at ${seq}`)
      }
      done += n
      this.flush()
    }
  }

  #filter(d: ChannelDatagram): boolean {
    if (this.#reinjecting) return true
    const dir: Direction = d.to.address === CLIENT_REAL ? 's2c' : 'c2s'
    const kind = kindOf(d.data)
    const key = `${dir}:${kind}` as const
    this.counts[key] = (this.counts[key] ?? 0) + 1
    let v: TapVerdict = this.tap?.(d, {dir, kind, at: this.clock.mono()}) ?? 'pass'
    if (v === 'pass' && this.latencyS > 0) v = {delayS: this.latencyS}
    if (v === 'pass') return true
    if (v === 'drop') {
      this.lost[key] = (this.lost[key] ?? 0) + 1
      return false
    }
    const [copy, from, to] = [Uint8Array.from(d.data), {...d.from}, {...d.to}] // the sender reuses its buffer
    this.clock.setTimeout(() => this.inject(from.address, from.port, copy, to.address, to.port), v.delayS * 1000)
    return false
  }
}

// ---- the applications' packets: IPv4 with UDP or TCP, checksums computed here independently ----

export const ipv4 = (text: string): number => text.split('.').reduce((v, o) => v * 256 + Number(o), 0)
export const ipv4Text = (v: number): string => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.')

/** RFC 1071 one's-complement sum of 16-bit big-endian words, folded, not inverted. */
function sum16(b: Uint8Array, start: number, end: number, acc = 0): number {
  let s = acc
  for (let i = start; i < end; i += 2) s += (b[i]! << 8) | (i + 1 < end ? b[i + 1]! : 0)
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16)
  return s
}

function l4Sum(p: Uint8Array, ihl: number, total: number): number {
  const pseudo = sum16(p, 12, 20) + p[9]! + (total - ihl)
  return sum16(p, ihl, total, pseudo)
}

/** Payload byte i of packet `seq`: corruption anywhere shows. */
const fill = (seq: number, i: number): number => (seq * 31 + i * 7) & 0xff

/** An IPv4 packet (no options) carrying UDP (17) or TCP (6) with `seq` in the payload; checksums valid. */
export function buildPacket(proto: 6 | 17, src: number, dst: number, seq: number, payloadBytes: number): Buffer {
  const l4h = proto === 17 ? 8 : 20
  const total = 20 + l4h + 4 + payloadBytes
  const p = Buffer.alloc(total)
  p.writeUInt32BE(0x45000000 | total, 0)
  p.writeUInt32BE(((seq & 0xffff) << 16 | 0x4000) >>> 0, 4) // identification, DF
  p.writeUInt16BE(64 << 8 | proto, 8) // TTL, protocol
  p.writeUInt32BE(src >>> 0, 12)
  p.writeUInt32BE(dst >>> 0, 16)
  p.writeUInt16BE(~sum16(p, 0, 20) & 0xffff, 10)
  p.writeUInt32BE((40000 + (seq % 1000)) * 65536 + (proto === 17 ? 5353 : 22), 20) // ports
  if (proto === 17) p.writeUInt16BE(total - 20, 24)
  else {
    p.writeUInt32BE(seq >>> 0, 24) // sequence number
    p.writeUInt32BE(0x5018ffff, 32) // data offset 5 words, PSH ACK, window 65535
  }
  p.writeUInt32BE(seq >>> 0, 20 + l4h)
  for (let i = 0; i < payloadBytes; i++) p[20 + l4h + 4 + i] = fill(seq, i)
  const c = ~l4Sum(p, 20, total) & 0xffff
  p.writeUInt16BE(proto === 17 && c === 0 ? 0xffff : c, 20 + (proto === 17 ? 6 : 16))
  return p
}

export type PacketCheck = {ok: true; src: number; dst: number; seq: number; proto: number} | {ok: false; reason: string}

/** Header and L4 checksums verified from scratch, payload pattern intact. */
export function checkPacket(p: Uint8Array): PacketCheck {
  if (p.length < 20 || p[0] !== 0x45) return {ok: false, reason: 'not IPv4 without options'}
  const total = (p[2]! << 8) | p[3]!
  if (total !== p.length) return {ok: false, reason: `length ${p.length}, header says ${total}`}
  if (sum16(p, 0, 20) !== 0xffff) return {ok: false, reason: 'IPv4 header checksum'}
  const proto = p[9]!
  if (proto !== 6 && proto !== 17) return {ok: false, reason: `protocol ${proto}`}
  if (l4Sum(p, 20, total) !== 0xffff) return {ok: false, reason: `${proto === 6 ? 'TCP' : 'UDP'} checksum`}
  const l4h = proto === 17 ? 8 : 20
  const dv = new DataView(p.buffer, p.byteOffset, p.length)
  const seq = dv.getUint32(20 + l4h)
  for (let i = 0; i < total - 24 - l4h; i++) if (p[24 + l4h + i] !== fill(seq, i)) return {ok: false, reason: 'payload'}
  return {ok: true, src: dv.getUint32(12), dst: dv.getUint32(16), seq, proto}
}

/** A pair whose tunnel is up (confirmed by the server), with the applications' expected addresses set. */
export async function connectedPair(keys: ServerKeys, o: RouterPairOptions = {latencyS: 0.01}): Promise<{pair: RouterPair; internal: number; pool: number; upAfterS: number}> {
  const pair = await RouterPair.create(keys, o)
  const internal = ipv4(pair.announce())
  const upAfterS = await pair.advanceUntil(() => pair.client.peersByKey.get(keys.keyHashHex)?.lastConnectS !== undefined, 10)
  if (upAfterS === undefined || pair.server.peersByTid.size !== 1) throw new Error(`tunnel not up within 10 s:\n${pair.logs.join('\n')}`)
  const pool = [...pair.server.peersByTid.values()][0]!.poolAddr
  pair.toServerApp.expect = {src: pool, dst: ipv4('10.42.0.1')}
  pair.toClientApp.expect = {src: internal, dst: ipv4('10.43.0.1')}
  return {pair, internal, pool, upAfterS}
}

/** Positions where seqs differ from first, first+1, ... (at most 10; -1 for a wrong count); empty when all arrived once, in order. */
export function outOfPlace(seqs: number[], first: number, count: number): number[] {
  const bad: number[] = []
  if (seqs.length !== count) bad.push(-1)
  for (let i = 0; i < seqs.length && bad.length < 10; i++) if (seqs[i] !== first + i) bad.push(i)
  return bad
}

/** An ICMP error checked from scratch (both checksums, quoting `original`'s header and 8 bytes). */
export function checkIcmp(p: Uint8Array, original: Uint8Array): {src: number; dst: number; type: number; code: number} | string {
  const total = (p[2]! << 8) | p[3]!
  if (p[0] !== 0x45 || p[9] !== 1 || total !== p.length) return 'not IPv4/ICMP'
  if (sum16(p, 0, 20) !== 0xffff) return 'IPv4 header checksum'
  if (sum16(p, 20, total) !== 0xffff) return 'ICMP checksum'
  if (!Buffer.from(p.subarray(28)).equals(Buffer.from(original.subarray(0, 28)))) return 'quoted packet'
  const dv = new DataView(p.buffer, p.byteOffset, p.length)
  return {src: dv.getUint32(12), dst: dv.getUint32(16), type: p[20]!, code: p[21]!}
}
