/**
 * A UDP socket as the router sees it: batches of datagrams in (with packed source addresses),
 * single or batched datagrams out. Two implementations: batch.ts (recvmmsg/sendmmsg through
 * router/native) and channel.ts (an in-memory network for unit tests). Addresses are packed
 * bytes (4 for IPv4, 16 for IPv6, network order; see address.ts), ports are numbers.
 */
import type {PacketBatch} from '../tun/device.js'

/** Datagrams of one call; datagram i came from `addresses[i*addressBytes ..]`, port `ports[i]`. */
export interface DatagramBatch extends PacketBatch {
  readonly family: 4 | 6
  /** 4 or 16. */
  readonly addressBytes: number
  readonly addresses: Uint8Array
  readonly ports: Uint16Array
}

/** Monotonic counters of one socket. */
export interface UdpCounters {
  readonly rxDatagrams: number
  readonly rxBatches: number
  readonly rxErrors: number
  /** Datagrams longer than a receive slot (cut, to be dropped by the parser). */
  readonly rxTruncated: number
  /** Datagrams the kernel dropped because our receive buffer was full (SO_RXQ_OVFL). */
  readonly rxKernelDrops: number
  readonly txDatagrams: number
  readonly txFailed: number
  /** Times a send found the socket buffer full (EAGAIN/ENOBUFS): the rest was not sent. */
  readonly txQueueFull: number
  readonly lastErrno: number
}

export interface UdpBind {
  readonly family: 4 | 6
  /** The bound address and port (port resolved when 0 was asked for). */
  readonly local: {readonly address: string; readonly port: number}
  /** Deliver inbound datagrams to `onBatch` until stop() or close(); calling again replaces it. */
  start(onBatch: (batch: DatagramBatch) => void): void
  stop(): void
  /** Send one datagram to a packed address; false if not sent (buffer full or refused: counted). */
  send(data: Uint8Array, address: Uint8Array, port: number): boolean
  /**
   * Send `count` datagrams; datagram i goes to `addresses[i*addressBytes ..]`, `ports[i]`.
   * Returns how many were consumed (sent or refused); fewer means the socket buffer is full.
   */
  sendBatch(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, addresses: Uint8Array,
    ports: Uint16Array, count: number): number
  counters(): UdpCounters
  /** Stop and close the socket; idempotent. */
  close(): void
}
