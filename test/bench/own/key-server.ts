/**
 * Key-server requests per second (issue 8, figure 2): the real KeyServer answering static-node
 * requests (every node of the 1 MB key tree, as a download asks for them) and ephemeral-key
 * requests, three ways: the answer functions alone (CPU per request), the KeyServer on the
 * in-memory UDP double, and the KeyServer on a real loopback UDP socket (router/udp/batch.ts,
 * recvmmsg/sendmmsg) with a closed-loop client keeping a window of requests outstanding.
 * Run: node --import tsx test/bench/own/key-server.ts [--requests 20000] [--window 256] [--no-udp] [--out FILE]
 */
import {performance} from 'node:perf_hooks'

import {systemClock, systemTimers} from '../../../router/clock.js'
import {KeyServer} from '../../../router/server/key-server.js'
import {BatchUdpSocket} from '../../../router/udp/batch.js'
import {UdpNetwork} from '../../../router/udp/channel.js'
import {systemRng} from '../../../src/crypto/rng.js'
import {PQ1_MERKLE_SHAPE} from '../../../src/keys/merkle-shape.js'
import {answerEphemeralRequest, answerStaticRequest, encodeEphemeralRequest, encodeStaticRequest} from '../../../src/wire/keyserver.js'
import {KEY_PORT, SERVER_REAL, cores, emit, flag, ip, load, makeServerKeys, progress, quietLogger, timed, type ServerKeys} from './common.js'

const REQUESTS = flag('--requests', 20000)
const WINDOW = flag('--window', 256)
const WITH_UDP = !process.argv.includes('--no-udp')
/** A loopback run with no answer for this long refills its window (the kernel dropped some). */
const STALL_MS = 50
const BENCH_UDP_PORT_BASE = 0 // 0: the kernel picks free ports, so parallel runs never collide

/** Every node of the tree once: what one full static-key download requests. */
function staticRequests(): Buffer[] {
  const out: Buffer[] = []
  PQ1_MERKLE_SHAPE.structure.forEach((nodes, depth) => {
    for (let pos = 0; pos < nodes; pos++) out.push(encodeStaticRequest(depth, pos))
  })
  return out
}

function handlerOnly(keys: ServerKeys, ks: KeyServer, reqs: Buffer[], kind: string): void {
  const eph = ks.store.current(systemClock.wall())
  let bytes = 0
  const {wallMs, cpuMs} = syncTimed(() => {
    for (let i = 0; i < REQUESTS; i++) {
      const r = reqs[i % reqs.length]!
      const resp = r[0] === 0xf0 ? answerStaticRequest(keys.tree, r) : answerEphemeralRequest(eph, r)
      if (resp === undefined) throw new Error('request refused')
      bytes += resp.length
    }
  })
  emit(`keyserver_${kind}_answer_only_per_s`, REQUESTS / (wallMs / 1000), 'requests/s',
    `answer function alone (decode, node lookup, encode), one thread, ${(bytes / REQUESTS).toFixed(0)} B/answer, no I/O; ${perCpu(cpuMs)}`)
}

function syncTimed(fn: () => void): {wallMs: number; cpuMs: number} {
  const c0 = process.cpuUsage()
  const t = performance.now()
  fn()
  const c = process.cpuUsage(c0)
  return {wallMs: performance.now() - t, cpuMs: (c.user + c.system) / 1000}
}

/** Requests per CPU second: less sensitive than wall time to the other tenants of a shared machine. */
const perCpu = (cpuMs: number): string => `${Math.round(REQUESTS / (cpuMs / 1000))} per CPU-second of this process; ${load()}`

/** KeyServer on the UDP double, manual delivery: send a window, flush, repeat. */
async function onDouble(keys: ServerKeys, reqs: Buffer[], kind: string): Promise<void> {
  const net = new UdpNetwork({delivery: 'manual', queuePackets: WINDOW * 2})
  const ksSock = net.bind(SERVER_REAL, KEY_PORT)
  const ks = new KeyServer({sock: ksSock, tree: keys.tree, clock: systemClock, rng: systemRng, log: quietLogger('keyserver'), timers: systemTimers})
  await ks.start()
  const client = net.bind('192.0.2.10', 40000)
  let answers = 0
  client.start((b) => {
    answers += b.count
  })
  const dst = ip(SERVER_REAL)
  const {wallMs, cpuMs} = await timed(async () => {
    for (let sent = 0; sent < REQUESTS;) {
      for (let i = 0; i < WINDOW && sent < REQUESTS; i++, sent++) client.send(reqs[sent % reqs.length]!, dst, KEY_PORT)
      net.flush()
    }
  })
  ks.close()
  client.close()
  if (answers !== REQUESTS) throw new Error(`double: ${answers} answers to ${REQUESTS} requests`)
  emit(`keyserver_${kind}_double_per_s`, REQUESTS / (wallMs / 1000), 'requests/s',
    `KeyServer on the in-memory UDP double (includes the double's copies), windows of ${WINDOW}; ${perCpu(cpuMs)}`)
}

/** KeyServer on a real loopback socket; client keeps WINDOW requests outstanding (sendmmsg). */
async function onLoopback(keys: ServerKeys, reqs: Buffer[], kind: string): Promise<void> {
  const ksSock = BatchUdpSocket.open({family: 4, address: '127.0.0.1', port: BENCH_UDP_PORT_BASE})
  const ks = new KeyServer({sock: ksSock, tree: keys.tree, clock: systemClock, rng: systemRng, log: quietLogger('keyserver'), timers: systemTimers})
  await ks.start()
  const client = BatchUdpSocket.open({family: 4, address: '127.0.0.1', port: 0})
  const dst = ip('127.0.0.1')
  const port = ksSock.local.port
  let answers = 0
  let sent = 0
  let lastProgress = performance.now()
  let resolveDone: () => void = () => {}
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve
  })
  const top = (): void => {
    while (sent < REQUESTS && sent - answers - lost < WINDOW) {
      if (!client.send(reqs[sent % reqs.length]!, dst, port)) break // socket buffer full: wait for answers
      sent++
    }
  }
  let lost = 0
  client.start((b) => {
    answers += b.count
    lastProgress = performance.now()
    if (answers + lost >= REQUESTS) resolveDone()
    else top()
  })
  const stall = setInterval(() => {
    if (performance.now() - lastProgress < STALL_MS) return
    lost += sent - answers - lost // outstanding for too long: count as lost, refill
    lastProgress = performance.now()
    if (answers + lost >= REQUESTS) resolveDone()
    else top()
  }, STALL_MS)
  const {wallMs, cpuMs} = await timed(async () => {
    top()
    await done
  })
  clearInterval(stall)
  const c = ksSock.counters()
  ks.close()
  client.close()
  emit(`keyserver_${kind}_loopback_per_s`, answers / (wallMs / 1000), 'requests/s',
    `KeyServer on a real 127.0.0.1 UDP socket (recvmmsg/sendmmsg addon), client and server in one process on ${cores()} cores, window ${WINDOW}; `
    + `${answers}/${REQUESTS} answered, ${lost} lost (kernel drops ${c.rxKernelDrops}); ${perCpu(cpuMs)}`)
}

async function main(): Promise<void> {
  progress('server keys (McEliece keygen) ...')
  const keys = await makeServerKeys()
  const kinds: Array<[string, Buffer[]]> = [['static', staticRequests()], ['ephemeral', [encodeEphemeralRequest()]]]
  const net = new UdpNetwork({delivery: 'manual'})
  const ks = new KeyServer({sock: net.bind(SERVER_REAL, KEY_PORT), tree: keys.tree, clock: systemClock, rng: systemRng, log: quietLogger('keyserver'), timers: systemTimers})
  await ks.start()
  for (const [kind, reqs] of kinds) {
    progress(`${kind}: ${REQUESTS} requests (answer function, double${WITH_UDP ? ', loopback UDP' : ''}) ...`)
    handlerOnly(keys, ks, reqs, kind)
    await onDouble(keys, reqs, kind)
    if (WITH_UDP) {
      try {
        await onLoopback(keys, reqs, kind)
      } catch (error) {
        emit(`keyserver_${kind}_loopback_per_s`, Number.NaN, 'requests/s', `not measured: ${(error as Error).message}`)
      }
    }
  }
  ks.close()
}

await main()
process.exit(0)
