/**
 * In-memory UDP double for unit tests: a UdpNetwork on which sockets bind to (address, port)
 * and send to each other; no kernel, no loopback. Each socket's inbound queue holds at most
 * CHANNEL_QUEUE_PACKETS datagrams and silently drops beyond (counted, as rxKernelDrops). A `filter` hook lets tests lose,
 * reorder or duplicate datagrams. Batches mimic the native reader: reused arrays, poisoned after.
 */
import {CHANNEL_QUEUE_PACKETS, PACKET_SLOT_BYTES, READ_BATCH_PACKETS} from '../../src/constants.js'
import {LocalError} from '../../src/errors.js'
import {formatAddress, parseAddress} from './address.js'
import type {DatagramBatch, UdpBind, UdpCounters} from './bind.js'

/** One datagram in flight: what the filter sees. */
export interface ChannelDatagram {
  readonly from: {readonly address: string; readonly port: number}
  readonly to: {readonly address: string; readonly port: number}
  readonly data: Uint8Array
}

export interface UdpNetworkOptions {
  /** Inbound queue bound per socket (datagrams). */
  queuePackets?: number
  /** Datagrams per delivered batch. */
  batchPackets?: number
  /** 'immediate' (default): deliver on setImmediate; 'manual': only flush() delivers. */
  delivery?: 'immediate' | 'manual'
  /** Return false to lose the datagram (counted in `network.filtered`). */
  filter?: (d: ChannelDatagram) => boolean
}

interface Queued {
  data: Uint8Array
  from: Uint8Array
  port: number
}

interface MutableBatch extends DatagramBatch {
  count: number
}

export class UdpNetwork {
  /** Datagrams sent to an address and port nobody bound. */
  unroutable = 0
  /** Datagrams the filter lost. */
  filtered = 0
  readonly options: UdpNetworkOptions
  private readonly sockets = new Map<string, ChannelUdpSocket>()
  private nextPort = 49152

  constructor(options: UdpNetworkOptions = {}) {
    this.options = options
  }

  /** Binds a socket; port 0 picks a free one. Throws LocalError if taken or malformed. */
  bind(address: string, port: number): ChannelUdpSocket {
    const packed = parseAddress(address)
    if (packed === undefined) throw new LocalError('PQC_ERR_ARGUMENT', `not an IP address: ${address}`)
    const text = formatAddress(packed.bytes)
    let p = port
    while (p === 0 && this.sockets.has(`${text}|${this.nextPort}`)) this.nextPort++
    if (p === 0) p = this.nextPort++
    const key = `${text}|${p}`
    if (this.sockets.has(key)) throw new LocalError('PQC_ERR_IO', `address in use: ${text} port ${p}`)
    const socket = new ChannelUdpSocket(this, packed.family, packed.bytes, text, p)
    this.sockets.set(key, socket)
    return socket
  }

  /** Delivers everything queued on every socket; returns datagrams delivered. */
  flush(): number {
    let total = 0
    for (let n = -1; n !== 0; total += n) {
      n = 0
      for (const s of this.sockets.values()) n += s.flush()
    }
    return total
  }

  /** @internal routing used by ChannelUdpSocket.send. */
  route(from: ChannelUdpSocket, data: Uint8Array, address: Uint8Array, port: number): void {
    const toText = formatAddress(address)
    const target = this.sockets.get(`${toText}|${port}`)
    const filter = this.options.filter
    if (filter !== undefined && !filter({from: from.local, to: {address: toText, port}, data})) {
      this.filtered++
      return
    }
    if (target === undefined) {
      this.unroutable++
      return // UDP: the sender does not learn about it
    }
    target.enqueue({data: Uint8Array.from(data), from: from.addressBytes, port: from.local.port})
  }

  /** @internal */
  unbind(socket: ChannelUdpSocket): void {
    this.sockets.delete(`${socket.local.address}|${socket.local.port}`)
  }
}

export class ChannelUdpSocket implements UdpBind {
  readonly family: 4 | 6
  readonly local: {readonly address: string; readonly port: number}
  readonly addressBytes: Uint8Array
  /** Datagrams dropped because this socket's inbound queue was full. */
  dropped = 0
  private readonly network: UdpNetwork
  private readonly queue: Queued[] = []
  private readonly bound: number
  private readonly batch: MutableBatch
  private onBatch: ((batch: DatagramBatch) => void) | undefined
  private scheduled = false
  private delivering = false
  private closed = false
  private readonly stats = {rxDatagrams: 0, rxBatches: 0, txDatagrams: 0, txFailed: 0}

  constructor(network: UdpNetwork, family: 4 | 6, bytes: Uint8Array, text: string, port: number) {
    this.network = network
    this.family = family
    this.addressBytes = bytes
    this.local = {address: text, port}
    this.bound = network.options.queuePackets ?? CHANNEL_QUEUE_PACKETS
    const n = network.options.batchPackets ?? READ_BATCH_PACKETS
    const offsets = new Uint32Array(n)
    for (let i = 0; i < n; i++) offsets[i] = i * PACKET_SLOT_BYTES
    const ab = family === 4 ? 4 : 16
    this.batch = {data: new Uint8Array(n * PACKET_SLOT_BYTES), offsets, lengths: new Uint32Array(n), count: 0,
      family, addressBytes: ab, addresses: new Uint8Array(n * ab), ports: new Uint16Array(n)}
  }

  start(onBatch: (batch: DatagramBatch) => void): void {
    if (this.closed) throw new LocalError('PQC_ERR_ARGUMENT', 'UDP socket is closed')
    this.onBatch = onBatch
    this.schedule()
  }

  stop(): void {
    this.onBatch = undefined
  }

  send(data: Uint8Array, address: Uint8Array, port: number): boolean {
    const ab = this.family === 4 ? 4 : 16
    if (this.closed || address.length !== ab || data.length > PACKET_SLOT_BYTES) {
      this.stats.txFailed++
      return false
    }
    this.network.route(this, data, address, port)
    this.stats.txDatagrams++
    return true
  }

  sendBatch(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, addresses: Uint8Array,
    ports: Uint16Array, count: number): number {
    const ab = this.family === 4 ? 4 : 16
    for (let i = 0; i < count; i++) {
      const off = offsets[i]!
      this.send(data.subarray(off, off + lengths[i]!), addresses.subarray(i * ab, (i + 1) * ab), ports[i]!)
    }
    return count
  }

  counters(): UdpCounters {
    return {...this.stats, rxErrors: 0, rxTruncated: 0, rxKernelDrops: this.dropped, txQueueFull: 0, lastErrno: 0}
  }

  /** Delivers everything queued (if started); returns datagrams delivered. */
  flush(): number {
    if (this.delivering) return 0
    this.delivering = true
    let delivered = 0
    try {
      while (this.onBatch !== undefined && this.queue.length > 0) {
        const b = this.batch
        const take = this.queue.splice(0, b.offsets.length)
        take.forEach((d, i) => {
          b.data.set(d.data, b.offsets[i]!)
          b.lengths[i] = d.data.length
          b.addresses.set(d.from, i * b.addressBytes)
          b.ports[i] = d.port
        })
        b.count = take.length
        this.stats.rxDatagrams += take.length
        this.stats.rxBatches++
        delivered += take.length
        try {
          this.onBatch(b)
        } finally {
          for (let i = 0; i < take.length; i++) b.data.fill(0, b.offsets[i]!, b.offsets[i]! + b.lengths[i]!)
          b.addresses.fill(0)
          b.count = 0
        }
      }
    } finally {
      this.delivering = false
    }
    return delivered
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.onBatch = undefined
    this.queue.length = 0
    this.network.unbind(this)
  }

  /** @internal A full queue drops silently, as the kernel does; the sender never learns. */
  enqueue(d: Queued): void {
    if (this.closed) return
    if (this.queue.length >= this.bound) {
      this.dropped++
      return
    }
    this.queue.push(d)
    this.schedule()
  }

  private schedule(): void {
    if (this.network.options.delivery === 'manual' || this.scheduled || this.onBatch === undefined ||
      this.queue.length === 0) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      this.flush()
    })
  }
}
