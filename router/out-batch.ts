/**
 * The packets one router event produces (a TUN batch, a UDP batch, a tick), built straight into
 * preallocated slots and handed over in one call when the event ends: datagrams to the socket's
 * sendBatch (sendmmsg, UDP GSO runs), plaintext to the TUN's writeBatch. Nothing is allocated per
 * packet; a full batch is flushed before the next slot is handed out (bound OUT_BATCH_PACKETS).
 */
import {OUT_BATCH_PACKETS, ROUTER_MAX_PACKET_BYTES} from '../src/constants.js'
import type {TunDevice} from './tun/device.js'
import type {UdpBind} from './udp/bind.js'

export class OutBatch {
  readonly data: Buffer
  readonly offsets: Uint32Array
  readonly lengths: Uint32Array
  readonly addresses: Uint8Array
  readonly ports: Uint16Array
  count = 0
  /** Packets the device or socket did not take (queue full), over the batch's life. */
  dropped = 0
  readonly #slots: Buffer[] = []
  readonly #addressBytes: number
  readonly #flush: (b: OutBatch) => number
  /** Sends or writes one packet at once (one that fits no slot); false when it was not taken. */
  readonly #single: (packet: Uint8Array, address: Uint8Array | undefined, port: number) => boolean

  private constructor(flush: (b: OutBatch) => number,
    single: (packet: Uint8Array, address: Uint8Array | undefined, port: number) => boolean, addressBytes: number, capacity: number,
    slotBytes: number) {
    this.#flush = flush
    this.#single = single
    this.#addressBytes = addressBytes
    this.data = Buffer.alloc(capacity * slotBytes)
    this.offsets = new Uint32Array(capacity)
    this.lengths = new Uint32Array(capacity)
    this.addresses = new Uint8Array(capacity * addressBytes)
    this.ports = new Uint16Array(capacity)
    for (let i = 0; i < capacity; i++) {
      this.offsets[i] = i * slotBytes
      this.#slots.push(this.data.subarray(i * slotBytes, (i + 1) * slotBytes))
    }
  }

  /** Datagrams for `sock`: each with its destination address (sock.family's size) and port. */
  static forUdp(sock: UdpBind, capacity = OUT_BATCH_PACKETS, slotBytes = ROUTER_MAX_PACKET_BYTES): OutBatch {
    return new OutBatch((b) => sock.sendBatch(b.data, b.offsets, b.lengths, b.addresses, b.ports, b.count),
      (p, address, port) => address !== undefined && sock.send(p, address, port), sock.family === 4 ? 4 : 16, capacity, slotBytes)
  }

  /** Inner packets for `tun`. */
  static forTun(tun: TunDevice, capacity = OUT_BATCH_PACKETS, slotBytes = ROUTER_MAX_PACKET_BYTES): OutBatch {
    return new OutBatch((b) => tun.writeBatch(b.data, b.offsets, b.lengths, b.count), (p) => tun.write(p), 0, capacity, slotBytes)
  }

  /** The buffer the next packet is built in (valid until commit or flush); flushes a full batch first. */
  slot(): Buffer {
    if (this.count === this.#slots.length) this.flush()
    return this.#slots[this.count]!
  }

  /**
   * The packet in slot() is `length` bytes long (and goes to address:port, for a socket). Returns
   * false, taking nothing, when the address does not fit this batch's family.
   */
  commit(length: number, address?: Uint8Array, port = 0): boolean {
    const i = this.count
    if (this.#addressBytes > 0) {
      if (address === undefined || address.length !== this.#addressBytes) return false
      this.addresses.set(address, i * this.#addressBytes)
      this.ports[i] = port
    }
    this.lengths[i] = length
    this.count = i + 1
    return true
  }

  /**
   * Take `packet` (going to address:port, for a socket): in place when it was built in slot(),
   * else copied into a slot; one that fits no slot (larger than a slot, or an address of the
   * other family) is sent or written on its own at once. False only when that single one failed.
   */
  put(packet: Uint8Array, address?: Uint8Array, port = 0): boolean {
    const fits = this.#addressBytes === 0 || address?.length === this.#addressBytes
    if (!fits || (!this.inSlot(packet) && packet.length > this.#slots[0]!.length)) return this.#single(packet, address, port)
    if (!this.inSlot(packet)) this.slot().set(packet)
    return this.commit(packet.length, address, port)
  }

  /** Hand everything over; returns (and adds to `dropped`) how many the device or socket did not take. */
  flush(): number {
    if (this.count === 0) return 0
    const lost = this.count - this.#flush(this)
    this.dropped += lost
    this.count = 0
    return lost
  }

  /** Whether `view` is the slot handed out last (a result written there, not into a fresh buffer). */
  inSlot(view: Uint8Array): boolean {
    const s = this.#slots[this.count]
    return s !== undefined && view.buffer === s.buffer && view.byteOffset === s.byteOffset
  }
}

/** Flush a router's TUN batch: the packets the device did not take move from tunOut to tunDropped. */
export function flushTunCounted(batch: OutBatch, counters: {tunOut: number; tunDropped: number}): void {
  const lost = batch.flush()
  counters.tunOut -= lost
  counters.tunDropped += lost
}
