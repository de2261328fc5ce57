/**
 * Child of tun.netns.test.ts, run as root inside a fresh namespace: opens a real TUN through the
 * addon, configures it through router/net/link.ts, and reports raw observations as one JSON line
 * (the parent asserts): UDP datagrams read from the TUN, ICMP echo replies the kernel wrote back,
 * and measured packets/s for batched reads and writes.
 */
import {createSocket} from 'node:dgram'

import {readLink, configureLink} from '../../router/net/link.js'
import {packetAt} from '../../router/tun/device.js'
import type {PacketBatch} from '../../router/tun/device.js'
import {LinuxTun} from '../../router/tun/linux.js'
import {BatchUdpSocket} from '../../router/udp/batch.js'
import {parseAddress} from '../../router/udp/address.js'
import {icmpEchoRequest, internetChecksum, parseIpv4} from './tun-packets.js'
import {LAB_IF_PREFIX} from '../helpers/netns.js'

const TUN_NAME = `${LAB_IF_PREFIX}test0`
const PEER = [10, 99, 0, 2]
const SELF = [10, 99, 0, 1]
const UDP_COUNT = 5
const ECHO_IDENT = 0x5051
const MEASURE_MS = 1000
const PACKET_BYTES = 1400
/** Datagrams queued toward the TUN per read round, and rounds (txqueuelen is raised above it). */
const READ_ROUND = 8192
const READ_ROUNDS = 12

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms
  while (!cond() && Date.now() < end) await sleep(5)
}

const udpTemplate = (n: number, dst: number[], dstPort: number): Uint8Array => {
  const data = new Uint8Array(n * PACKET_BYTES)
  for (let i = 0; i < n; i++) {
    const p = data.subarray(i * PACKET_BYTES, (i + 1) * PACKET_BYTES)
    const v = new DataView(p.buffer, p.byteOffset, p.length)
    p[0] = 0x45
    v.setUint16(2, PACKET_BYTES)
    p[8] = 64
    p[9] = 17
    p.set(PEER, 12)
    p.set(dst, 16)
    v.setUint16(10, internetChecksum(p.subarray(0, 20)))
    v.setUint16(20, 4000)
    v.setUint16(22, dstPort)
    v.setUint16(24, PACKET_BYTES - 20) // UDP checksum 0: none (IPv4)
  }
  return data
}

/**
 * Read rate: the kernel queues READ_ROUND datagrams toward the stopped TUN (txqueuelen raised),
 * then the reader drains them; only the draining is timed.
 */
async function measureReads(tun: LinuxTun): Promise<{packets: number; perSecond: number}> {
  const sock = BatchUdpSocket.open({family: 4, address: '10.99.0.1', port: 0})
  const n = 64
  const data = new Uint8Array(n * PACKET_BYTES)
  const offsets = Uint32Array.from({length: n}, (_, i) => i * PACKET_BYTES)
  const lengths = new Uint32Array(n).fill(PACKET_BYTES - 28)
  const addrs = new Uint8Array(n * 4)
  for (let i = 0; i < n; i++) addrs.set(PEER, i * 4)
  const ports = new Uint16Array(n).fill(9)
  let total = 0
  let ns = 0n
  for (let round = 0; round < READ_ROUNDS; round++) {
    for (let sent = 0; sent < READ_ROUND; sent += n) sock.sendBatch(data, offsets, lengths, addrs, ports, n)
    let read = 0
    let last = 0n
    const t0 = process.hrtime.bigint()
    tun.start((b) => {
      read += b.count
      last = process.hrtime.bigint()
    })
    await until(() => read >= READ_ROUND, 2000)
    tun.stop()
    total += read
    ns += last - t0
  }
  sock.close()
  return {packets: total, perSecond: Math.round(total / (Number(ns) / 1e9))}
}

/**
 * Write rate through tunWriteBatch: to a local socket (the stack delivers each packet inside
 * write(2); the socket drains in the same thread), or to an unrouted address (dropped by the stack).
 */
async function measureWrites(tun: LinuxTun, local: boolean): Promise<{written: number; received: number; perSecond: number}> {
  const sink = BatchUdpSocket.open({family: 4, address: '10.99.0.1', port: 0, bufferBytes: 64 << 20})
  let received = 0
  sink.start((b) => {
    received += b.count
  })
  const n = 64
  const data = udpTemplate(n, local ? SELF : [10, 98, 77, 1], sink.local.port)
  const offsets = Uint32Array.from({length: n}, (_, i) => i * PACKET_BYTES)
  const lengths = new Uint32Array(n).fill(PACKET_BYTES)
  let written = 0
  const start = process.hrtime.bigint()
  let elapsedMs = 0
  while (elapsedMs < MEASURE_MS) {
    written += tun.writeBatch(data, offsets, lengths, n)
    if (local) await new Promise((r) => setImmediate(r)) // let the sink drain
    elapsedMs = Number(process.hrtime.bigint() - start) / 1e6
  }
  if (local) await until(() => received >= written, 500)
  sink.close()
  return {written, received, perSecond: Math.round(written / (elapsedMs / 1000))}
}

async function main(): Promise<void> {
  const tun = LinuxTun.open({name: TUN_NAME})
  await configureLink(tun.name, {addresses: ['10.99.0.1/24'], txQueueLength: READ_ROUND + 64})
  const link = await readLink(tun.name)

  const udpPackets: string[] = []
  const icmpReplies: string[] = []
  const collect = (b: PacketBatch): void => {
    for (let i = 0; i < b.count; i++) {
      const p = packetAt(b, i)
      const ip = parseIpv4(p)
      if (ip.version !== 4) continue
      if (ip.protocol === 17 && ip.dst === '10.99.0.2') udpPackets.push(hex(p)) // hex() copies
      if (ip.protocol === 1 && ip.payload[0] === 0) icmpReplies.push(hex(p))
    }
  }
  tun.start(collect)

  // 1. UDP from an ordinary socket in this namespace, routed out through the TUN.
  const sock = createSocket('udp4')
  await new Promise<void>((r) => sock.bind(0, '10.99.0.1', () => r()))
  for (let i = 0; i < UDP_COUNT; i++) {
    await new Promise<void>((r) => sock.send(Buffer.from(`pqc-tun-test-${i}`), 5555, '10.99.0.2', () => r()))
  }
  await until(() => udpPackets.length >= UDP_COUNT, 3000)
  sock.close()

  // 2. ICMP echo requests written into the TUN: one by write(), three by writeBatch().
  const payload = (seq: number): Uint8Array => Buffer.from(`pqc-echo-${seq}-`.padEnd(48, 'x'))
  const single = icmpEchoRequest(PEER, SELF, ECHO_IDENT, 1, payload(1))
  const wroteSingle = tun.write(single)
  const batch = [2, 3, 4].map((s) => icmpEchoRequest(PEER, SELF, ECHO_IDENT, s, payload(s)))
  const data = Buffer.concat(batch)
  const offsets = Uint32Array.from([0, batch[0]!.length, batch[0]!.length + batch[1]!.length])
  const lengths = Uint32Array.from(batch.map((p) => p.length))
  const wroteBatch = tun.writeBatch(data, offsets, lengths, 3)
  await until(() => icmpReplies.length >= 4, 3000)
  tun.stop()

  const reads = await measureReads(tun)
  tun.stop()
  const writes = await measureWrites(tun, true)
  const writesDropped = await measureWrites(tun, false)
  const counters = tun.counters()
  tun.close()
  const stillThere = await readLink(TUN_NAME).then(() => true, () => false)
  process.stdout.write(`${JSON.stringify({
    name: tun.name, link, udpPackets, icmpReplies, wroteSingle, wroteBatch, reads, writes, writesDropped, counters, stillThere,
    peer: Array.from(parseAddress('10.99.0.2')!.bytes),
  })}\n`)
}

await main()
