/**
 * In-memory TUN double for unit tests: a pair of connected ends, `device` (the router's side) and
 * `host` (the applications' side); what one end writes, the other reads. Each end's inbound queue
 * holds at most CHANNEL_QUEUE_PACKETS packets and refuses more (like a full kernel queue), so
 * tests see real drops. Batches mimic the native reader: reused arrays, poisoned after the call.
 */
import {CHANNEL_QUEUE_PACKETS, PACKET_SLOT_BYTES, READ_BATCH_PACKETS} from '../../src/constants.js'
import {LocalError} from '../../src/errors.js'
import type {PacketBatch, TunCounters, TunDevice} from './device.js'

export interface TunChannelOptions {
  /** Name of the device end; the host end is `<name>-host`. */
  name?: string
  /** Inbound queue bound per end (packets). */
  queuePackets?: number
  /** Packets per delivered batch. */
  batchPackets?: number
  /**
   * 'immediate' (default): a write schedules delivery on setImmediate, like an fd becoming
   * readable. 'manual': nothing is delivered until flush(), for tests on a virtual clock.
   */
  delivery?: 'immediate' | 'manual'
}

interface MutableBatch extends PacketBatch {
  count: number
}

export class TunChannelEnd implements TunDevice {
  readonly name: string
  /** Packets refused because this end's inbound queue was full. */
  dropped = 0
  private peer: TunChannelEnd | undefined
  private readonly ring: (Uint8Array | undefined)[]
  private head = 0
  private size = 0
  private readonly batch: MutableBatch
  private readonly manual: boolean
  private onBatch: ((batch: PacketBatch) => void) | undefined
  private scheduled = false
  private delivering = false
  private closed = false
  private readonly stats = {rxPackets: 0, rxBatches: 0, txPackets: 0, txFailed: 0, txQueueFull: 0}

  constructor(name: string, options: TunChannelOptions) {
    const batchPackets = options.batchPackets ?? READ_BATCH_PACKETS
    this.name = name
    this.ring = new Array<Uint8Array | undefined>(options.queuePackets ?? CHANNEL_QUEUE_PACKETS)
    this.manual = options.delivery === 'manual'
    const offsets = new Uint32Array(batchPackets)
    for (let i = 0; i < batchPackets; i++) offsets[i] = i * PACKET_SLOT_BYTES
    this.batch = {data: new Uint8Array(batchPackets * PACKET_SLOT_BYTES), offsets, lengths: new Uint32Array(batchPackets), count: 0}
  }

  /** Joins two ends; used by createTunChannelPair. */
  connect(peer: TunChannelEnd): void {
    this.peer = peer
  }

  /** Packets waiting in this end's inbound queue. */
  pending(): number {
    return this.size
  }

  start(onBatch: (batch: PacketBatch) => void): void {
    if (this.closed) throw new LocalError('PQC_ERR_ARGUMENT', `TUN ${this.name} is closed`)
    this.onBatch = onBatch
    this.schedule()
  }

  stop(): void {
    this.onBatch = undefined
  }

  write(packet: Uint8Array): boolean {
    const peer = this.peer
    if (this.closed || peer === undefined || peer.closed || packet.length > PACKET_SLOT_BYTES) {
      this.stats.txFailed++
      return false
    }
    if (!peer.enqueue(packet)) {
      this.stats.txQueueFull++
      return false
    }
    this.stats.txPackets++
    return true
  }

  writeBatch(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): number {
    for (let i = 0; i < count; i++) {
      const off = offsets[i]!
      // A full queue stops the batch (like EAGAIN); a refused packet is consumed (like EINVAL).
      if (!this.write(data.subarray(off, off + lengths[i]!)) && this.peer !== undefined && this.peer.size === this.peer.ring.length) return i
    }
    return count
  }

  counters(): TunCounters {
    return {...this.stats, rxErrors: 0, lastErrno: 0}
  }

  /** Delivers everything queued (if started), in batches; returns packets delivered. */
  flush(): number {
    if (this.delivering) return 0
    this.delivering = true
    let delivered = 0
    try {
      while (this.onBatch !== undefined && this.size > 0) {
        const b = this.batch
        let n = 0
        while (n < b.offsets.length && this.size > 0) {
          const p = this.ring[this.head]!
          this.ring[this.head] = undefined
          this.head = (this.head + 1) % this.ring.length
          this.size--
          b.data.set(p, b.offsets[n]!)
          b.lengths[n] = p.length
          n++
        }
        b.count = n
        this.stats.rxPackets += n
        this.stats.rxBatches++
        delivered += n
        try {
          this.onBatch(b)
        } finally {
          // Poison what was delivered: a consumer that kept a view instead of a copy fails loudly.
          for (let i = 0; i < n; i++) b.data.fill(0, b.offsets[i]!, b.offsets[i]! + b.lengths[i]!)
          b.count = 0
        }
      }
    } finally {
      this.delivering = false
    }
    return delivered
  }

  close(): void {
    this.closed = true
    this.onBatch = undefined
    this.ring.fill(undefined)
    this.size = 0
  }

  private enqueue(packet: Uint8Array): boolean {
    if (this.size === this.ring.length) {
      this.dropped++
      return false
    }
    this.ring[(this.head + this.size) % this.ring.length] = Uint8Array.from(packet)
    this.size++
    this.schedule()
    return true
  }

  private schedule(): void {
    if (this.manual || this.scheduled || this.onBatch === undefined || this.size === 0) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      this.flush()
    })
  }
}

/** A connected pair: the router uses `device`, the test plays the applications through `host`. */
export function createTunChannelPair(options: TunChannelOptions = {}): {device: TunChannelEnd; host: TunChannelEnd} {
  const name = options.name ?? 'pqctun0'
  const device = new TunChannelEnd(name, options)
  const host = new TunChannelEnd(`${name}-host`, options)
  device.connect(host)
  host.connect(device)
  return {device, host}
}
