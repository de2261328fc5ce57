/**
 * The TUN device as the router sees it: batches of raw IP packets in (what applications sent to
 * the tunnel's addresses), single or batched packets out (what the kernel should deliver to them).
 * Two implementations: linux.ts (the kernel's TUN through router/native) and channel.ts (an
 * in-memory pair for unit tests). Nothing here throws on the per-packet path.
 */

/**
 * Packets handed over in one call. Packet i is `data[offsets[i] .. offsets[i] + lengths[i])`.
 * The arrays belong to the device and are overwritten by the next batch: a consumer copies
 * what it keeps before returning from the callback (no per-packet allocation on the hot path).
 */
export interface PacketBatch {
  readonly data: Uint8Array
  readonly offsets: Uint32Array
  readonly lengths: Uint32Array
  readonly count: number
}

/** A view of packet i of a batch (no copy: valid only during the callback). */
export function packetAt(batch: PacketBatch, i: number): Uint8Array {
  const off = batch.offsets[i]!
  return batch.data.subarray(off, off + batch.lengths[i]!)
}

/** Monotonic counters of one device. `txQueueFull`: times a write found the queue full (rest not written). */
export interface TunCounters {
  readonly rxPackets: number
  readonly rxBatches: number
  readonly rxErrors: number
  readonly txPackets: number
  readonly txFailed: number
  readonly txQueueFull: number
  /** errno of the last failure (0 when none), for logs. */
  readonly lastErrno: number
}

export interface TunDevice {
  /** Interface name (e.g. `pqccli0`). */
  readonly name: string
  /** Deliver inbound packets to `onBatch` until stop() or close(); calling again replaces it. */
  start(onBatch: (batch: PacketBatch) => void): void
  /** Pause delivery; packets wait in the (bounded) queue meanwhile. */
  stop(): void
  /** Write one packet; false if it was not accepted (queue full or refused: counted). */
  write(packet: Uint8Array): boolean
  /**
   * Write `count` packets described like a PacketBatch; returns how many were consumed (written
   * or refused). Fewer than `count` means the queue is full: the caller drops or retries the rest.
   */
  writeBatch(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): number
  counters(): TunCounters
  /** Stop and release the device; idempotent. A Linux TUN disappears with its last fd. */
  close(): void
}
