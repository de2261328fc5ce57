/**
 * The kernel's TUN device (IFF_TUN | IFF_NO_PI) through the router/native addon: batched reads
 * driven by libuv's poll on the JS thread (no threadpool, so exit never hangs on a blocked read),
 * one write(2) per packet. Address, MTU and link state are router/net/link.ts's job.
 */
import {PACKET_SLOT_BYTES, READ_BATCH_PACKETS} from '../../src/constants.js'
import {LocalError} from '../../src/errors.js'
import {READER_COUNTER, WRITER_COUNTER, WRITER_COUNTER_SLOTS, loadAddon} from '../native/addon.js'
import type {NativeAddon, NativeBatchReader} from '../native/addon.js'
import type {PacketBatch, TunCounters, TunDevice} from './device.js'

export interface LinuxTunOptions {
  /** Interface name; '' lets the kernel choose (tunN). At most 15 bytes. */
  name: string
  /** Open one more queue of a multi-queue device (all queues of a device must agree). */
  multiQueue?: boolean
  /** Packets per read batch, at most the addon's MAX_BATCH (1024). */
  batchPackets?: number
}

/** A mutable PacketBatch over the reader's arrays: allocated once, count updated per batch. */
interface ReaderBatch extends PacketBatch {
  count: number
}

export class LinuxTun implements TunDevice {
  readonly name: string
  readonly fd: number
  private readonly addon: NativeAddon
  private readonly reader: NativeBatchReader
  private readonly batch: ReaderBatch
  private readonly writeCounters = new Float64Array(WRITER_COUNTER_SLOTS)
  private onBatch: ((batch: PacketBatch) => void) | undefined
  private closed = false

  /** Opens (creates) the device; throws LocalError with the errno name (EPERM without CAP_NET_ADMIN). */
  static open(options: LinuxTunOptions): LinuxTun {
    const addon = loadAddon()
    let opened: {fd: number; name: string}
    try {
      opened = addon.tunOpen(options.name, options.multiQueue ?? false)
    } catch (error) {
      throw new LocalError('PQC_ERR_IO', `cannot open TUN device '${options.name}': ${(error as Error).message}`,
        {cause: error, hint: 'needs root or CAP_NET_ADMIN, and /dev/net/tun'})
    }
    return new LinuxTun(addon, opened.fd, opened.name, options.batchPackets ?? READ_BATCH_PACKETS)
  }

  /**
   * Adopts a TUN fd opened by the root monitor and handed to this worker (architecture.md
   * section 3): the worker cannot open /dev/net/tun itself.
   */
  static fromFd(fd: number, name: string, batchPackets = READ_BATCH_PACKETS): LinuxTun {
    return new LinuxTun(loadAddon(), fd, name, batchPackets)
  }

  private constructor(addon: NativeAddon, fd: number, name: string, batchPackets: number) {
    this.addon = addon
    this.fd = fd
    this.name = name
    try {
      this.reader = new addon.BatchReader(fd, 0, batchPackets, PACKET_SLOT_BYTES, (count) => this.deliver(count))
    } catch (error) {
      addon.closeFd(fd)
      throw error
    }
    const offsets = new Uint32Array(batchPackets)
    for (let i = 0; i < batchPackets; i++) offsets[i] = i * PACKET_SLOT_BYTES
    this.batch = {data: this.reader.buffer, offsets, lengths: this.reader.lengths, count: 0}
  }

  private deliver(count: number): void {
    this.batch.count = count
    this.onBatch?.(this.batch)
  }

  start(onBatch: (batch: PacketBatch) => void): void {
    if (this.closed) throw new LocalError('PQC_ERR_ARGUMENT', `TUN ${this.name} is closed`)
    this.onBatch = onBatch
    this.reader.start()
  }

  stop(): void {
    if (!this.closed) this.reader.stop()
  }

  /** Let the process exit while this device is still reading (like socket.unref()). */
  unref(): void {
    if (!this.closed) this.reader.unref()
  }

  write(packet: Uint8Array): boolean {
    if (this.closed) return false
    const r = this.addon.tunWrite(this.fd, packet, 0, packet.length)
    if (r > 0) {
      this.writeCounters[WRITER_COUNTER.sent]! += 1
      return true
    }
    if (r === 0) this.writeCounters[WRITER_COUNTER.wouldBlock]! += 1
    else {
      this.writeCounters[WRITER_COUNTER.failed]! += 1
      this.writeCounters[WRITER_COUNTER.lastErrno] = -r
    }
    return false
  }

  writeBatch(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): number {
    if (this.closed) return 0
    return this.addon.tunWriteBatch(this.fd, data, offsets, lengths, count, this.writeCounters)
  }

  counters(): TunCounters {
    const r = this.reader.counters
    const w = this.writeCounters
    return {
      rxPackets: r[READER_COUNTER.packets]!,
      rxBatches: r[READER_COUNTER.batches]!,
      rxErrors: r[READER_COUNTER.errors]!,
      txPackets: w[WRITER_COUNTER.sent]!,
      txFailed: w[WRITER_COUNTER.failed]!,
      txQueueFull: w[WRITER_COUNTER.wouldBlock]!,
      lastErrno: w[WRITER_COUNTER.lastErrno]! || r[READER_COUNTER.lastErrno]!,
    }
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.onBatch = undefined
    this.reader.close() // releases the poll handle first: the fd must outlive its watcher
    this.addon.closeFd(this.fd)
  }
}
