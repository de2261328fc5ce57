/**
 * Child of udp.netns.test.ts, run as root inside one of two namespaces joined by a veth pair.
 * `recv`: binds batched sockets (IPv4 and IPv6), prints {"ready"...}, counts and checks datagrams
 * until all arrived or the flow went idle, prints its report. `send`: sends N datagrams with
 * udpSendBatch (sendmmsg; runs of one size to one address as UDP GSO messages), a few with the
 * single-datagram send, over IPv4 and IPv6, and reports.
 */
import {readFileSync} from 'node:fs'

import {addressAt, formatAddress, parseAddress} from '../../router/udp/address.js'
import {BatchUdpSocket} from '../../router/udp/batch.js'
import type {DatagramBatch} from '../../router/udp/bind.js'

const BULK_BYTES = 1400
const SINGLE_BYTES = 100
const SINGLE_COUNT = 10
const V6_COUNT = 1000
const BATCH = 64
const IDLE_MS = 1500
const DEADLINE_MS = 30_000

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const now = (): number => Number(process.hrtime.bigint()) / 1e6

/** The kernel's UDP counters of this namespace (/proc/net/snmp is per network namespace). */
function udpSnmp(): Record<string, number> {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'))
  const names = lines[0]!.split(/\s+/).slice(1)
  const values = lines[1]!.split(/\s+/).slice(1).map(Number)
  return Object.fromEntries(names.map((n, i) => [n, values[i]!]))
}

function fill(data: Uint8Array, offset: number, length: number, seq: number): void {
  const v = new DataView(data.buffer, data.byteOffset + offset, length)
  v.setUint32(0, seq)
  data.fill(seq & 0xff, offset + 4, offset + length)
}

function intact(b: DatagramBatch, i: number): number | undefined {
  const off = b.offsets[i]!
  const len = b.lengths[i]!
  if (len < 5) return undefined
  const seq = new DataView(b.data.buffer, b.data.byteOffset + off, len).getUint32(0)
  for (let k = 4; k < len; k += 97) if (b.data[off + k] !== (seq & 0xff)) return undefined
  if (b.data[off + len - 1] !== (seq & 0xff)) return undefined
  return seq
}

async function receive(total: number, bufferBytes: number): Promise<void> {
  const v4 = BatchUdpSocket.open({family: 4, address: '0.0.0.0', port: 0, bufferBytes})
  const v6 = BatchUdpSocket.open({family: 6, address: '::', port: 0, bufferBytes})
  const seen = new Uint8Array(total)
  let bulk = 0
  let duplicates = 0
  let bad = 0
  let singles = 0
  let v6Count = 0
  let firstMs = 0
  let lastMs = 0
  const sources = new Set<string>()
  v4.start((b) => {
    lastMs = now()
    if (firstMs === 0) firstMs = lastMs
    for (let i = 0; i < b.count; i++) {
      sources.add(formatAddress(addressAt(b, i)))
      const seq = intact(b, i)
      if (seq === undefined || seq >= total) bad++
      else if (b.lengths[i] === SINGLE_BYTES) singles++
      else if (b.lengths[i] !== BULK_BYTES) bad++
      else if (seen[seq] === 1) duplicates++
      else {
        seen[seq] = 1
        bulk++
      }
    }
  })
  v6.start((b) => {
    for (let i = 0; i < b.count; i++) {
      sources.add(formatAddress(addressAt(b, i)))
      if (intact(b, i) === undefined) bad++
      else v6Count++
    }
  })
  process.stdout.write(`${JSON.stringify({ready: true, port4: v4.local.port, port6: v6.local.port})}\n`)
  const start = now()
  while (now() - start < DEADLINE_MS) {
    await sleep(20)
    const done = bulk >= total && singles >= SINGLE_COUNT && v6Count >= V6_COUNT
    if (done || (lastMs !== 0 && now() - lastMs > IDLE_MS)) break
  }
  const c4 = v4.counters()
  const c6 = v6.counters()
  v4.close()
  v6.close()
  process.stdout.write(`${JSON.stringify({
    received: bulk, duplicates, bad, singles, v6: v6Count, v6KernelDrops: c6.rxKernelDrops, sources: [...sources].sort(),
    perSecond: Math.round(bulk / Math.max(1e-3, (lastMs - firstMs) / 1000)),
    kernelDrops: c4.rxKernelDrops, rxBatches: c4.rxBatches, rxErrors: c4.rxErrors, snmp: udpSnmp(),
  })}\n`)
}

async function send(total: number, dst4: string, port4: number, dst6: string, port6: number): Promise<void> {
  const v4 = BatchUdpSocket.open({family: 4, address: '0.0.0.0', port: 0})
  const v6 = BatchUdpSocket.open({family: 6, address: '::', port: 0})
  const a4 = parseAddress(dst4)!.bytes
  const a6 = parseAddress(dst6)!.bytes
  const data = new Uint8Array(BATCH * BULK_BYTES)
  const offsets = Uint32Array.from({length: BATCH}, (_, i) => i * BULK_BYTES)
  const lengths = new Uint32Array(BATCH).fill(BULK_BYTES)
  const addrs4 = new Uint8Array(BATCH * 4)
  const addrs6 = new Uint8Array(BATCH * 16)
  for (let i = 0; i < BATCH; i++) {
    addrs4.set(a4, i * 4)
    addrs6.set(a6, i * 16)
  }
  const ports4 = new Uint16Array(BATCH).fill(port4)
  const ports6 = new Uint16Array(BATCH).fill(port6)

  // Single sends first, so the receiver can tell them from bulk by length.
  let singlesSent = 0
  const single = new Uint8Array(SINGLE_BYTES)
  for (let s = 0; s < SINGLE_COUNT; s++) {
    fill(single, 0, SINGLE_BYTES, s)
    if (v4.send(single, a4, port4)) singlesSent++
  }

  let sent = 0
  let calls = 0
  const t0 = now()
  while (sent < total) {
    const n = Math.min(BATCH, total - sent)
    for (let i = 0; i < n; i++) fill(data, offsets[i]!, BULK_BYTES, sent + i)
    let done = 0
    while (done < n) {
      // Consumed fewer than asked: the socket buffer is full; retry the rest after a turn.
      done += v4.sendBatch(data, offsets.subarray(done), lengths.subarray(done), addrs4, ports4, n - done)
      calls++
      if (done < n) await new Promise((r) => setImmediate(r))
    }
    sent += n
  }
  const seconds = (now() - t0) / 1000
  // The first datagram to a new IPv6 neighbour waits for neighbour discovery, and the kernel
  // queues only a few packets meanwhile (unres_qlen): resolve the neighbour before the batches.
  v6.send(new Uint8Array(1), a6, 9) // discard port: nothing listens, the receiver counts nothing
  await new Promise((r) => setTimeout(r, 300))
  let v6Sent = 0
  for (let k = 0; k < V6_COUNT; k += BATCH) {
    const n = Math.min(BATCH, V6_COUNT - k)
    for (let i = 0; i < n; i++) fill(data, offsets[i]!, BULK_BYTES, k + i)
    let done = 0
    while (done < n) {
      // Like the IPv4 loop: a full socket buffer consumes fewer; retry the rest after a turn.
      done += v6.sendBatch(data, offsets.subarray(done), lengths.subarray(done), addrs6, ports6, n - done)
      if (done < n) await new Promise((r) => setImmediate(r))
    }
    v6Sent += done
    // Let the receiver drain between bursts: a veth's receive backlog (netdev_max_backlog) drops
    // silently when a burst arrives while the other core is busy, and this part checks addressing.
    await sleep(5)
  }
  const c4 = v4.counters()
  const c6 = v6.counters()
  v4.close()
  v6.close()
  process.stdout.write(`${JSON.stringify({
    sent, calls, singlesSent, v6Sent, perSecond: Math.round(sent / seconds), gso: v4.segmentation && v6.segmentation,
    txDatagrams: c4.txDatagrams, txFailed: c4.txFailed + c6.txFailed, txQueueFull: c4.txQueueFull,
  })}\n`)
}

const [mode, ...args] = process.argv.slice(2)
if (mode === 'recv') await receive(Number(args[0]), Number(args[1]))
else if (mode === 'send') await send(Number(args[0]), args[1]!, Number(args[2]), args[3]!, Number(args[4]))
else throw new Error(`usage: recv TOTAL BUFFER_BYTES | send TOTAL DST4 PORT4 DST6 PORT6 (got ${mode})`)
