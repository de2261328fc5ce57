/**
 * The real UDP socket of the data path, through router/native: recvmmsg(2) drains up to a batch
 * per wakeup into reused slots and calls JS once; sendmmsg(2) sends a batch in one crossing
 * (architecture.md section 2: node:dgram's one syscall per datagram was 3-4.4 us of 7-10).
 * Runtime errors are counted, not thrown; only opening (bind) throws.
 */
import {PACKET_SLOT_BYTES, READ_BATCH_PACKETS, UDP_SOCKET_BUFFER_BYTES} from '../../src/constants.js'
import {LocalError} from '../../src/errors.js'
import {READER_COUNTER, UDP_WRITER_COUNTER as WRITER_COUNTER, UDP_WRITER_COUNTER_SLOTS, loadAddon} from '../native/addon.js'
import type {NativeAddon, NativeBatchReader} from '../native/addon.js'
import type {DatagramBatch, UdpBind, UdpCounters} from './bind.js'

export interface BatchUdpOptions {
  family: 4 | 6
  /** Local address to bind ('0.0.0.0', '::', or one of ours). */
  address: string
  /** 0 picks a free port (see `local.port`). */
  port: number
  /** SO_REUSEPORT, for one socket per worker on the same port. */
  reusePort?: boolean
  /** SO_RCVBUF and SO_SNDBUF (forced past the sysctl limits when root). */
  bufferBytes?: number
  /** Datagrams per receive batch, at most the addon's MAX_BATCH (1024). */
  batchPackets?: number
}

interface ReaderBatch extends DatagramBatch {
  count: number
}

export class BatchUdpSocket implements UdpBind {
  readonly family: 4 | 6
  readonly local: {readonly address: string; readonly port: number}
  readonly fd: number
  private readonly addon: NativeAddon
  private readonly reader: NativeBatchReader
  private readonly batch: ReaderBatch
  private readonly sendCounters = new Float64Array(UDP_WRITER_COUNTER_SLOTS)
  private onBatch: ((batch: DatagramBatch) => void) | undefined
  private closed = false
  /** UDP GSO for runs of a batch; off for good once the kernel refuses it on this socket. */
  private gso = true

  /** Opens and binds; throws LocalError carrying the errno name (EADDRINUSE, EACCES...). */
  static open(options: BatchUdpOptions): BatchUdpSocket {
    const addon = loadAddon()
    let fd: number
    try {
      fd = addon.udpOpen(options.family, options.address, options.port, options.reusePort ?? false,
        options.bufferBytes ?? UDP_SOCKET_BUFFER_BYTES)
    } catch (error) {
      throw new LocalError('PQC_ERR_IO', `cannot bind UDP ${options.address} port ${options.port}: ${(error as Error).message}`,
        {cause: error})
    }
    try {
      return new BatchUdpSocket(addon, fd, options.family, options.batchPackets ?? READ_BATCH_PACKETS)
    } catch (error) {
      addon.closeFd(fd)
      throw error
    }
  }

  /** Adopts a bound UDP socket handed over by the root monitor (a port below 1024, say). */
  static fromFd(fd: number, family: 4 | 6, batchPackets = READ_BATCH_PACKETS): BatchUdpSocket {
    return new BatchUdpSocket(loadAddon(), fd, family, batchPackets)
  }

  private constructor(addon: NativeAddon, fd: number, family: 4 | 6, batchPackets: number) {
    this.addon = addon
    this.fd = fd
    this.family = family
    const local = addon.udpLocalAddress(fd)
    this.local = {address: local.address, port: local.port}
    this.reader = new addon.BatchReader(fd, family, batchPackets, PACKET_SLOT_BYTES, (count) => this.deliver(count))
    const offsets = new Uint32Array(batchPackets)
    for (let i = 0; i < batchPackets; i++) offsets[i] = i * PACKET_SLOT_BYTES
    this.batch = {
      data: this.reader.buffer, offsets, lengths: this.reader.lengths, count: 0, family,
      addressBytes: family === 4 ? 4 : 16, addresses: this.reader.addresses!, ports: this.reader.ports!,
    }
  }

  private deliver(count: number): void {
    this.batch.count = count
    this.onBatch?.(this.batch)
  }

  start(onBatch: (batch: DatagramBatch) => void): void {
    if (this.closed) throw new LocalError('PQC_ERR_ARGUMENT', 'UDP socket is closed')
    this.onBatch = onBatch
    this.reader.start()
  }

  stop(): void {
    if (!this.closed) this.reader.stop()
  }

  /** Let the process exit while this socket is still receiving (like socket.unref()). */
  unref(): void {
    if (!this.closed) this.reader.unref()
  }

  send(data: Uint8Array, address: Uint8Array, port: number): boolean {
    if (this.closed) return false
    const r = this.addon.udpSend(this.fd, this.family, data, 0, data.length, address, port)
    if (r > 0 || (r === 0 && data.length === 0)) {
      this.sendCounters[WRITER_COUNTER.sent]! += 1
      return true
    }
    if (r === 0) this.sendCounters[WRITER_COUNTER.wouldBlock]! += 1
    else {
      this.sendCounters[WRITER_COUNTER.failed]! += 1
      this.sendCounters[WRITER_COUNTER.lastErrno] = -r
    }
    return false
  }

  sendBatch(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, addresses: Uint8Array,
    ports: Uint16Array, count: number): number {
    if (this.closed) return 0
    const n = this.addon.udpSendBatch(this.fd, this.family, data, offsets, lengths, addresses, ports, count,
      this.sendCounters, this.gso)
    if (this.sendCounters[WRITER_COUNTER.gsoRefused] === 1) this.gso = false
    return n
  }

  /** Whether batches still go out as UDP GSO runs (false once the kernel refused it). */
  get segmentation(): boolean {
    return this.gso
  }

  counters(): UdpCounters {
    const r = this.reader.counters
    const w = this.sendCounters
    return {
      rxDatagrams: r[READER_COUNTER.packets]!,
      rxBatches: r[READER_COUNTER.batches]!,
      rxErrors: r[READER_COUNTER.errors]!,
      rxTruncated: r[READER_COUNTER.truncated]!,
      rxKernelDrops: r[READER_COUNTER.kernelDrops]!,
      txDatagrams: w[WRITER_COUNTER.sent]!,
      txFailed: w[WRITER_COUNTER.failed]!,
      txQueueFull: w[WRITER_COUNTER.wouldBlock]!,
      lastErrno: w[WRITER_COUNTER.lastErrno]! || r[READER_COUNTER.lastErrno]!,
    }
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.onBatch = undefined
    this.reader.close() // the poll handle goes before the fd it watches
    this.addon.closeFd(this.fd)
  }
}
