/**
 * Cold and warm first contact (issue 8, figure 3) on REAL time: a real ClientRouter and a real
 * ServerRouter + KeyServer joined by the in-memory UDP/TUN doubles with immediate delivery, the
 * system clock and Node's timers (not test/helpers/router-pair.ts, whose clock is virtual).
 * Cold: announcement -> verified 1 MB static-key download -> ephemeral keys -> initiation ->
 * first application byte at the server's TUN. Warm: a new client whose key cache holds the key.
 * Each step is timed from the datagrams (a network tap) and the routers' log lines.
 * Run: node --import tsx test/bench/own/first-contact.ts [--runs 3] [--rtt-ms 0,20] [--out FILE]
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {performance} from 'node:perf_hooks'

import {ClientRouter} from '../../../router/client/client-router.js'
import {systemClock, systemTimers} from '../../../router/clock.js'
import {createTunChannelPair} from '../../../router/tun/channel.js'
import {packetAt} from '../../../router/tun/device.js'
import {parseAddress} from '../../../router/udp/address.js'
import {UdpNetwork, type ChannelDatagram} from '../../../router/udp/channel.js'
import {systemRng} from '../../../src/crypto/rng.js'
import {defaultHandshakeCrypto} from '../../../src/handshake/default-crypto.js'
import {buildPacket, ipv4, kindOf} from '../../helpers/router-pair.js'
import {
  BENCH_SOCKET_QUEUE_PACKETS, KEY_PORT, PQC_PORT, SERVER_REAL, emit, flag, load, makeServerKeys, median, progress, quietLogger, textFlag,
  waitFor, type BenchServer, type ServerKeys, startServer,
} from './common.js'

const RUNS = flag('--runs', 3)
const RTTS_MS = (textFlag('--rtt-ms') ?? '0,20').split(',').map(Number)
/** A contact not finished by then is reported as failed. */
const CONTACT_TIMEOUT_MS = 30_000

/** Milliseconds after the announcement at which each step was first seen. */
interface Timeline {
  announceCallMs: number
  keyVerifiedMs?: number
  ephRequestMs?: number
  ephResponseMs?: number
  initiationMs?: number
  serverSessionMs?: number
  clientUpMs?: number
  firstByteMs?: number
  cpuMs: number
}

class Bench {
  readonly net: UdpNetwork
  server!: BenchServer
  oneWayMs = 0
  /** Events of the contact in progress: step -> performance.now(). */
  events = new Map<string, number>()
  #reinjecting = false

  constructor(readonly keys: ServerKeys) {
    this.net = new UdpNetwork({queuePackets: BENCH_SOCKET_QUEUE_PACKETS, filter: (d) => this.#tap(d)})
  }

  mark(step: string, at = performance.now()): void {
    if (!this.events.has(step)) this.events.set(step, at)
  }

  async start(): Promise<void> {
    this.server = await startServer(this.keys, {net: this.net, onLog: (line, at) => {
      if (line.includes('server: handshake from')) this.mark('serverSession', at)
    }})
    this.server.tun.host.start((b) => {
      for (let i = 0; i < b.count; i++) if (packetAt(b, i).length > 0) this.mark('firstByte')
    })
  }

  /** One contact from a new client at `clientIp`; the key cache in `cacheDir` (empty: cold). */
  async contact(clientIp: string, cacheDir: string, name: string): Promise<Timeline | undefined> {
    this.events = new Map()
    const sock = this.net.bind(clientIp, 40000)
    const tun = createTunChannelPair({name: `h2c${name}`})
    tun.host.start(() => {})
    const client = new ClientRouter({tun: tun.device, sock, crypto: defaultHandshakeCrypto(systemRng), clock: systemClock, timers: systemTimers,
      cacheDir, log: quietLogger('router', (line, at) => {
        if (line.includes('downloaded and verified')) this.mark('keyVerified', at)
        if (/tunnel \S+ to \S+ up in/.test(line)) this.mark('clientUp', at)
      })})
    client.start()
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    // The resolver's announcement, then at once the application's first packet (queued until the tunnel is up).
    const internal = client.announce({name: `www${name}.test`, keyHashHex: this.keys.keyHashHex, realAddrs: [SERVER_REAL], pqcPort: PQC_PORT, keyPort: KEY_PORT})
    const announceCallMs = performance.now() - t0
    if (internal === undefined) throw new Error('announcement refused')
    tun.host.write(buildPacket(17, ipv4('10.43.0.1'), ipv4(internal), 1, 64))
    const ok = await waitFor(() => this.events.has('firstByte') && this.events.has('clientUp'), CONTACT_TIMEOUT_MS, 1)
    const c = process.cpuUsage(c0)
    client.close()
    if (!ok) return undefined
    const at = (k: string): number | undefined => (this.events.has(k) ? this.events.get(k)! - t0 : undefined)
    return {
      announceCallMs, keyVerifiedMs: at('keyVerified'), ephRequestMs: at('ephRequest'), ephResponseMs: at('ephResponse'), initiationMs: at('initiation'),
      serverSessionMs: at('serverSession'), clientUpMs: at('clientUp'), firstByteMs: at('firstByte'), cpuMs: (c.user + c.system) / 1000,
    }
  }

  /** Marks each step when its datagram reaches the receiver (after the one-way delay, if any). */
  #tap(d: ChannelDatagram): boolean {
    if (this.#reinjecting) return true
    const kind = kindOf(d.data)
    const arrived = (): void => {
      if (kind === 'eph-req') this.mark('ephRequest')
      if (kind === 'eph-resp') this.mark('ephResponse')
      if (kind === 'init') this.mark('initiation')
    }
    if (this.oneWayMs === 0) {
      arrived()
      return true
    }
    const [copy, from, to] = [Uint8Array.from(d.data), {...d.from}, {...d.to}]
    setTimeout(() => {
      arrived()
      this.#reinjecting = true
      try {
        this.net.route(this.#socketOf(from.address, from.port), copy, parseAddress(to.address)!.bytes, to.port)
      } finally {
        this.#reinjecting = false
      }
    }, this.oneWayMs)
    return false
  }

  #socketOf(address: string, port: number): Parameters<UdpNetwork['route']>[0] {
    // route() needs the sending socket only for its address and port.
    return {local: {address, port}, addressBytes: parseAddress(address)!.bytes} as Parameters<UdpNetwork['route']>[0]
  }
}

type Step = [label: string, from: keyof Timeline | undefined, to: keyof Timeline]

function report(kind: 'cold' | 'warm', rttMs: number, runs: Timeline[], failed: number): void {
  const where = `RTT ${rttMs} ms (in-memory doubles, real time, ${runs.length} runs, median${failed > 0 ? `, ${failed} failed` : ''}); ${load()}`
  const total = median(runs.map((r) => r.firstByteMs!))
  emit(`first_contact_${kind}_ms_rtt${rttMs}`, total, 'ms', `announcement -> first application byte at the server's TUN; ${where}; CPU of the whole process ${median(runs.map((r) => r.cpuMs)).toFixed(0)} ms`)
  const steps: Step[] = kind === 'cold'
    ? [['key_download', undefined, 'keyVerifiedMs'], ['ephemeral_keys', 'keyVerifiedMs', 'ephResponseMs'], ['initiation', 'ephResponseMs', 'initiationMs'],
      ['server_handshake', 'initiationMs', 'serverSessionMs'], ['first_byte', 'serverSessionMs', 'firstByteMs']]
    : [['announce_call_with_cache_load', undefined, 'announceCallMs'], ['ephemeral_keys', 'announceCallMs', 'ephResponseMs'], ['initiation', 'ephResponseMs', 'initiationMs'],
      ['server_handshake', 'initiationMs', 'serverSessionMs'], ['first_byte', 'serverSessionMs', 'firstByteMs']]
  const notes: Record<string, string> = {
    key_download: '1 MB static key, paced Merkle-node requests, verified against the announced hash, stored in the key cache',
    announce_call_with_cache_load: 'synchronous part of announce(): key cache file read and its Merkle root recomputed',
    ephemeral_keys: 'ephemeral-key request and answer (1196 B each), until the answer reaches the client',
    initiation: 'client builds the initiation (McEliece encapsulation, sntrup761 encapsulation, X25519) and it reaches the server',
    server_handshake: 'server: McEliece + sntrup761 decapsulation, session set up',
    first_byte: 'held early tunnel datagram opened and written to the TUN',
  }
  for (const [label, from, to] of steps) {
    const v = median(runs.map((r) => (r[to] as number) - (from === undefined ? 0 : (r[from] as number))))
    emit(`first_contact_${kind}_${label}_ms_rtt${rttMs}`, v, 'ms', `${notes[label]}; ${where}`)
  }
}

async function main(): Promise<void> {
  progress('server keys (McEliece keygen) ...')
  const keys = await makeServerKeys()
  const bench = new Bench(keys)
  await bench.start()
  let client = 0
  for (const rtt of RTTS_MS) {
    bench.oneWayMs = rtt / 2
    const cold: Timeline[] = []
    const warm: Timeline[] = []
    let coldFailed = 0
    let warmFailed = 0
    for (let run = 0; run < RUNS; run++) {
      const dir = mkdtempSync(join(tmpdir(), 'h2-keycache-'))
      try {
        progress(`RTT ${rtt} ms, run ${run + 1}/${RUNS}: cold contact ...`)
        const c = await bench.contact(`192.0.2.${10 + (client++ % 200)}`, dir, String(client))
        if (c === undefined || c.keyVerifiedMs === undefined) coldFailed++
        else cold.push(c)
        progress(`RTT ${rtt} ms, run ${run + 1}/${RUNS}: warm contact ...`)
        const w = await bench.contact(`192.0.2.${10 + (client++ % 200)}`, dir, String(client))
        if (w === undefined || w.keyVerifiedMs !== undefined) warmFailed++
        else warm.push(w)
      } finally {
        rmSync(dir, {recursive: true, force: true})
      }
    }
    if (cold.length > 0) report('cold', rtt, cold, coldFailed)
    else emit(`first_contact_cold_ms_rtt${rtt}`, Number.NaN, 'ms', `all ${RUNS} cold contacts failed`)
    if (warm.length > 0) report('warm', rtt, warm, warmFailed)
    else emit(`first_contact_warm_ms_rtt${rtt}`, Number.NaN, 'ms', `all ${RUNS} warm contacts failed`)
  }
  bench.server.close()
}

await main()
process.exit(0)
