/**
 * Child of tun-offload.netns.test.ts, run as root in namespace A; argv: namespace B, port.
 * Opens two offload TUNs here (htuna, and htunb moved into B), relays packets between them in JS
 * (read batch on one, writeBatch on the other, both ways), and moves bytes over TCP through the
 * relay: `size` random bytes A -> B (a server in B answers their SHA-256) and `size` bytes back.
 * Also a ping through the relay, the mode of a plain TUN, and a probe: a TSO super-packet injected
 * into a third offload TUN (batches of 4) through an AF_PACKET socket with PACKET_VNET_HDR
 * (python3: Node has no packet sockets), whose segments are reported with the event-loop turn
 * they were delivered in. Prints one JSON report, with the transfer's wall and CPU time (argv[4]
 * 'plain': the two relay devices without offload, to compare by hand; no timing is asserted).
 */
import {execFile} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {connect} from 'node:net'
import {promisify} from 'node:util'

import {TunKeeper} from '../../monitor/tun-keeper.js'
import {loadAddon} from '../../router/native/addon.js'
import {LinuxTun} from '../../router/tun/linux.js'
import {packetAt} from '../../router/tun/device.js'
import type {PacketBatch} from '../../router/tun/device.js'
import {ACK, CWR, FIN, PSH, superPacket} from '../helpers/tcp4-packets.js'

const run = promisify(execFile)
const [nsB, portText, sizeText, modeText] = process.argv.slice(2)
/** 'plain' opens the relay's two devices without offload (for a by-hand comparison; the test never does). */
const OFFLOAD = modeText !== 'plain'
const PORT = Number(portText)
const SIZE = Number(sizeText ?? 4 * 1024 * 1024)
const A = '10.201.0.1'
const B = '10.201.0.2'

/** The server in B: reads SIZE bytes, answers their SHA-256 (64 hex chars), then sends SIZE bytes of its own. */
const SERVER = `
const net = require('node:net'), crypto = require('node:crypto')
const size = ${SIZE}
const srv = net.createServer((s) => {
  const h = crypto.createHash('sha256'); let got = 0
  s.on('data', (d) => {
    h.update(d); got += d.length
    if (got === size) {
      const mine = crypto.randomBytes(size)
      s.write(h.digest('hex') + crypto.createHash('sha256').update(mine).digest('hex'))
      s.end(mine)
    }
  })
  s.on('close', () => srv.close())
})
srv.listen(${PORT}, '${B}', () => console.log('listening'))
`

/** Sends each hex argument (virtio_net_hdr + IPv4 packet) out of device argv[1] (SOL_PACKET 263, PACKET_VNET_HDR 15). */
const INJECT = `
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
s.setsockopt(263, 15, 1)
s.bind((sys.argv[1], 0x0800))
for h in sys.argv[2:]:
    s.send(bytes.fromhex(h))
`
const PROBE_PAYLOAD_BYTES = 10 * 1000 + 337
const PROBE_GSO_SIZE = 1000

/**
 * The probe: what the reader delivers for one injected super-packet, and in which loop turns.
 * stopFirst: the callback stops the device after the first batch and starts it again 50 ms later
 * (no more traffic comes meanwhile: the rest must still be delivered).
 */
async function probe(name: string, stopFirst: boolean): Promise<{segments: string[]; turns: number[]; superPackets: number}> {
  const d = LinuxTun.open({name, batchPackets: 4})
  await run('ip', ['link', 'set', name, 'mtu', '1280', 'up'])
  const segments: string[] = []
  const turns: number[] = []
  let turn = 0
  let spinning = true
  const spin = (): void => {
    turn++
    if (spinning) setImmediate(spin)
  }
  const onBatch = (batch: PacketBatch): void => {
    for (let i = 0; i < batch.count; i++) {
      const p = packetAt(batch, i)
      if (p[0] === 0x45 && p[9] === 6) {
        segments.push(Buffer.from(p).toString('hex'))
        turns.push(turn)
      }
    }
    if (stopFirst && segments.length > 0 && segments.length < 11) {
      stopFirst = false
      d.stop()
      setTimeout(() => d.start(onBatch), 50)
    }
  }
  d.start(onBatch)
  const payload = Uint8Array.from({length: PROBE_PAYLOAD_BYTES}, (_, i) => (i * 7) & 0xff)
  const input = superPacket(payload, PROBE_GSO_SIZE, ACK | PSH | FIN | CWR)
  setImmediate(spin)
  await run('python3', ['-c', INJECT, name, Buffer.from(input).toString('hex')])
  for (let i = 0; i < 100 && segments.length < 11; i++) await new Promise((r) => setTimeout(r, 20))
  spinning = false
  const superPackets = d.offloadCounters().rxSuperPackets
  d.close()
  return {segments, turns, superPackets}
}

function relay(from: LinuxTun, to: LinuxTun, stats: {batches: number; packets: number; dropped: number}): void {
  from.start((batch: PacketBatch) => {
    stats.batches++
    stats.packets += batch.count
    const n = to.writeBatch(batch.data, batch.offsets, batch.lengths, batch.count)
    stats.dropped += batch.count - n
  })
}

async function transfer(): Promise<{sentOk: boolean; receivedOk: boolean; received: number}> {
  const data = randomBytes(SIZE)
  const want = createHash('sha256').update(data).digest('hex')
  return new Promise((resolve, reject) => {
    const sock = connect(PORT, B)
    const chunks: Buffer[] = []
    sock.on('data', (d: Buffer) => chunks.push(d))
    sock.on('error', reject)
    sock.on('end', () => {
      const all = Buffer.concat(chunks)
      const theirs = all.subarray(128)
      resolve({
        sentOk: all.subarray(0, 64).toString() === want,
        receivedOk: theirs.length === SIZE && createHash('sha256').update(theirs).digest('hex') === all.subarray(64, 128).toString(),
        received: theirs.length,
      })
      sock.destroy()
    })
    sock.end(data)
  })
}

async function main(): Promise<void> {
  const addon = loadAddon()
  const a = LinuxTun.open({name: 'htuna', offload: OFFLOAD})
  const b = LinuxTun.open({name: 'htunb', offload: OFFLOAD})
  const plain = LinuxTun.open({name: 'htunc', offload: false})
  const modes = {a: a.offload, b: b.offload, plain: plain.offload, kernelA: addon.tunOffload(a.fd),
    kernelPlain: addon.tunOffload(plain.fd), handed: [] as boolean[]}
  plain.close()
  // The monitor's path: TunKeeper opens (and configures) the device, a worker adopts the fd.
  const handed = modes.handed
  for (const [i, offload] of [true, false].entries()) {
    const keeper = await TunKeeper.open(addon, `htune${i}`, `10.203.${i}.1/24`, 1280, offload)
    const adopted = LinuxTun.fromFd(keeper.fd, keeper.name)
    handed.push(adopted.offload)
    adopted.close() // closes the fd; the keeper never watched it
  }
  const injected = await probe('htund', false)
  const injectedStopped = await probe('htunf', true)
  await run('ip', ['link', 'set', 'htunb', 'netns', nsB!])
  await run('ip', ['address', 'add', `${A}/24`, 'dev', 'htuna'])
  await run('ip', ['link', 'set', 'htuna', 'mtu', '1280', 'up'])
  await run('ip', ['-n', nsB!, 'address', 'add', `${B}/24`, 'dev', 'htunb'])
  await run('ip', ['-n', nsB!, 'link', 'set', 'htunb', 'mtu', '1280', 'up'])
  const ab = {batches: 0, packets: 0, dropped: 0}
  const ba = {batches: 0, packets: 0, dropped: 0}
  relay(a, b, ab)
  relay(b, a, ba)

  const ping = await run('ping', ['-c', '3', '-i', '0.2', '-W', '2', B]).then((r) => r.stdout, (e: {stdout?: string}) => e.stdout ?? 'failed')
  const server = execFile('ip', ['netns', 'exec', nsB!, process.execPath, '-e', SERVER])
  await new Promise<void>((resolve, reject) => {
    server.stdout?.on('data', (d: Buffer) => {
      if (String(d).includes('listening')) resolve()
    })
    server.once('exit', () => reject(new Error('server exited')))
  })
  const started = process.hrtime.bigint()
  const cpu = process.cpuUsage()
  const result = await transfer()
  const used = process.cpuUsage(cpu)
  const timing = {wallMs: Number(process.hrtime.bigint() - started) / 1e6, cpuMs: (used.user + used.system) / 1000}
  const report = {
    modes,
    probe: injected,
    probeStopped: injectedStopped,
    ping: /3 received/.test(ping),
    ...result,
    timing,
    relay: {ab, ba},
    a: {...a.counters(), ...a.offloadCounters()},
    b: {...b.counters(), ...b.offloadCounters()},
  }
  a.close()
  b.close()
  console.log(JSON.stringify(report))
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
