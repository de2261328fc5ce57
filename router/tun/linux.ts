/**
 * The kernel's TUN device (IFF_TUN | IFF_NO_PI) through the router/native addon: batched reads
 * driven by libuv's poll on the JS thread (no threadpool, so exit never hangs on a blocked read),
 * one write(2) per packet. With offload (IFF_VNET_HDR, the default) the kernel hands over
 * TCP/IPv4 super-packets that the addon splits before JS sees them, and batch writes merge
 * same-flow TCP segments into one write: fewer trips through the kernel's stack, same packets
 * for JS. Address, MTU and link state are router/net/link.ts's job.
 */
import {PACKET_SLOT_BYTES, READ_BATCH_PACKETS} from '../../src/constants.js'
import {LocalError} from '../../src/errors.js'
import {READER_COUNTER, TUN_WRITER_COUNTER, TUN_WRITER_COUNTER_SLOTS, WRITER_COUNTER, loadAddon} from '../native/addon.js'
import type {NativeAddon, NativeBatchReader} from '../native/addon.js'
import type {PacketBatch, TunCounters, TunDevice} from './device.js'

export interface LinuxTunOptions {
  /** Interface name; '' lets the kernel choose (tunN). At most 15 bytes. */
  name: string
  /** Open one more queue of a multi-queue device (all queues of a device must agree). */
  multiQueue?: boolean
  /** Packets per read batch, at most the addon's MAX_BATCH (1024). */
  batchPackets?: number
  /**
   * Checksum and TCP/IPv4 segmentation offload (virtio_net_hdr), default true; falls back to a
   * plain device when the kernel refuses it (see `offload`). All queues of a device must agree.
   */
  offload?: boolean
}

/** Offload statistics of a LinuxTun (beyond TunCounters). */
export interface LinuxTunOffloadCounters {
  /** Super-packets read from the kernel and split, and the segments they became. */
  readonly rxSuperPackets: number
  readonly rxSegments: number
  /** Writes that carried several packets merged, and the packets they carried. */
  readonly txMergedWrites: number
  readonly txMergedPackets: number
}

/** A mutable PacketBatch over the reader's arrays: allocated once, count updated per batch. */
interface ReaderBatch extends PacketBatch {
  count: number
}

export class LinuxTun implements TunDevice {
  readonly name: string
  readonly fd: number
  /** The fd carries virtio_net_hdr: reads are split and batch writes merged (see the file comment). */
  readonly offload: boolean
  private readonly addon: NativeAddon
  private readonly reader: NativeBatchReader
  private readonly batch: ReaderBatch
  private readonly writeCounters = new Float64Array(TUN_WRITER_COUNTER_SLOTS)
  private onBatch: ((batch: PacketBatch) => void) | undefined
  private closed = false

  /** Opens (creates) the device; throws LocalError with the errno name (EPERM without CAP_NET_ADMIN). */
  static open(options: LinuxTunOptions): LinuxTun {
    const addon = loadAddon()
    let opened: {fd: number; name: string; offload: boolean}
    try {
      opened = addon.tunOpen(options.name, options.multiQueue ?? false, options.offload ?? true)
    } catch (error) {
      throw new LocalError('PQC_ERR_IO', `cannot open TUN device '${options.name}': ${(error as Error).message}`,
        {cause: error, hint: 'needs root or CAP_NET_ADMIN, and /dev/net/tun'})
    }
    return new LinuxTun(addon, opened.fd, opened.name, opened.offload, options.batchPackets ?? READ_BATCH_PACKETS)
  }

  /**
   * Adopts a TUN fd opened by the root monitor and handed to this worker (architecture.md
   * section 3): the worker cannot open /dev/net/tun itself. The offload mode is the device's, asked
   * of the kernel.
   */
  static fromFd(fd: number, name: string, batchPackets = READ_BATCH_PACKETS): LinuxTun {
    const addon = loadAddon()
    let offload: boolean
    try {
      offload = addon.tunOffload(fd)
    } catch (error) {
      addon.closeFd(fd) // ours from here, as when the reader cannot be made
      throw new LocalError('PQC_ERR_IO', `descriptor ${fd} is not the TUN device '${name}': ${(error as Error).message}`,
        {cause: error})
    }
    return new LinuxTun(addon, fd, name, offload, batchPackets)
  }

  private constructor(addon: NativeAddon, fd: number, name: string, offload: boolean, batchPackets: number) {
    this.addon = addon
    this.fd = fd
    this.name = name
    this.offload = offload
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
    const r = this.addon.tunWrite(this.fd, packet, 0, packet.length, this.offload)
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
    return this.addon.tunWriteBatch(this.fd, data, offsets, lengths, count, this.writeCounters, this.offload)
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

  offloadCounters(): LinuxTunOffloadCounters {
    const r = this.reader.counters
    const w = this.writeCounters
    return {
      rxSuperPackets: r[READER_COUNTER.gsoPackets]!,
      rxSegments: r[READER_COUNTER.gsoSegments]!,
      txMergedWrites: w[TUN_WRITER_COUNTER.mergedWrites]!,
      txMergedPackets: w[TUN_WRITER_COUNTER.mergedPackets]!,
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
