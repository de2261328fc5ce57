/**
 * Typed entry to the data-path addon built from router/native/*.c by node-gyp into
 * build/Release/pqc_native.node (binding.gyp at the repository root). Only router/tun/linux.ts
 * and router/udp/batch.ts use it; everything else sees the TunDevice / UdpBind interfaces.
 */
import {existsSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {LocalError} from '../../src/errors.js'

/** Indexes into BatchReader.counters (Float64Array, accumulated by C). Mirrors common.h. */
export const READER_COUNTER = {
  batches: 0, packets: 1, errors: 2, truncated: 3, kernelDrops: 4, lastErrno: 5,
  /** Offload TUN: super-packets read and split, and the segments they became. */
  gsoPackets: 6, gsoSegments: 7,
} as const
export const READER_COUNTER_SLOTS = 8
/** Indexes into the counters array given to tunWriteBatch / udpSendBatch. Mirrors common.h. */
export const WRITER_COUNTER = {sent: 0, failed: 1, wouldBlock: 2, lastErrno: 3} as const
export const WRITER_COUNTER_SLOTS = 4
/** udpSendBatch, given UDP_WRITER_COUNTER_SLOTS: gsoRefused = 1 once the kernel refused UDP GSO. */
export const UDP_WRITER_COUNTER = {...WRITER_COUNTER, gsoRefused: 4} as const
export const UDP_WRITER_COUNTER_SLOTS = 5
/** tunWriteBatch on an offload TUN, given TUN_WRITER_COUNTER_SLOTS: merged (GSO) writes and their packets. */
export const TUN_WRITER_COUNTER = {...WRITER_COUNTER, mergedWrites: 4, mergedPackets: 5} as const
export const TUN_WRITER_COUNTER_SLOTS = 6

/**
 * A batch reader on a non-blocking fd, driven by libuv's poll on the JS thread. On readability it
 * drains up to `batch` packets into `buffer` (packet i at offset i * slotBytes, `lengths[i]` bytes)
 * and calls onBatch(count) once. UDP readers also fill `addresses` (4 or 16 bytes per datagram,
 * network order) and `ports`. The arrays are reused for the next batch: copy what you keep.
 */
export interface NativeBatchReader {
  readonly buffer: Buffer
  readonly lengths: Uint32Array
  readonly counters: Float64Array
  readonly addresses?: Uint8Array
  readonly ports?: Uint16Array
  start(): void
  stop(): void
  /** Stops and releases the poll handle; close the fd only after this. */
  close(): void
  ref(): void
  unref(): void
}

export interface NativeAddon {
  readonly MAX_BATCH: number
  BatchReader: new (fd: number, family: 0 | 4 | 6, batch: number, slotBytes: number,
    onBatch: (count: number) => void) => NativeBatchReader
  closeFd(fd: number): void
  /**
   * Opens /dev/net/tun with IFF_TUN | IFF_NO_PI [| IFF_MULTI_QUEUE] [| IFF_VNET_HDR with the
   * checksum and TCP/IPv4 segmentation offloads], non-blocking. `offload` in the answer is false
   * when the kernel refused the offloads (the device is then a plain one). Throws with code EPERM...
   */
  tunOpen(name: string, multiQueue: boolean, offload?: boolean): {fd: number; name: string; offload: boolean}
  /** Whether a TUN fd carries virtio_net_hdr (IFF_VNET_HDR), e.g. one handed over by the monitor. */
  tunOffload(fd: number): boolean
  /** Bytes written, 0 when the queue is full, or -errno. `offload`: the fd's mode (tunOffload). */
  tunWrite(fd: number, buf: Uint8Array, offset: number, length: number, offload?: boolean): number
  /**
   * Packets consumed (written or failed); stops at the first EAGAIN. With `offload`, same-flow
   * TCP/IPv4 segments are merged into one write; counters of TUN_WRITER_COUNTER_SLOTS count them.
   */
  tunWriteBatch(fd: number, buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number,
    counters: Float64Array, offload?: boolean): number
  /** Test hook: the packets the offload reader delivers for one virtio_net_hdr + packet ([] = dropped). */
  tunSegmentForTest(input: Uint8Array, maxOut?: number): Buffer[]
  /** Test hook: the writes an offload tunWriteBatch makes for these packets (header zero = a single packet). */
  tunCoalesceForTest(packets: Uint8Array[]): {header: Buffer; packet: Buffer}[]
  udpOpen(family: 4 | 6, bindAddress: string, port: number, reusePort: boolean, bufferBytes: number): number
  /** A listening TCP socket (SO_REUSEADDR, non-blocking, close-on-exec), for the monitor to hand to a worker. */
  tcpListen(family: 4 | 6, bindAddress: string, port: number, backlog: number): number
  /** prctl(PR_SET_NO_NEW_PRIVS, 1): no exec of this process or its children can gain privilege. */
  noNewPrivs(): void
  udpLocalAddress(fd: number): {family: 4 | 6; address: string; port: number}
  /** Bytes sent, 0 when the socket buffer is full, or -errno. */
  udpSend(fd: number, family: 4 | 6, buf: Uint8Array, offset: number, length: number, address: Uint8Array,
    port: number): number
  /**
   * Datagrams consumed (sent or failed); stops at the first EAGAIN/ENOBUFS. With `gso`, runs to one
   * destination of one size go out as UDP GSO messages (counters[gsoRefused] = 1 if the kernel
   * refused GSO on this socket; the datagrams were then sent one by one).
   */
  udpSendBatch(fd: number, family: 4 | 6, buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array,
    addresses: Uint8Array, ports: Uint16Array, count: number, counters: Float64Array, gso?: boolean): number
}

const ADDON_FILE = 'pqc_native.node'

/** The repository (or installed package) root: the first ancestor with a package.json. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir)
    if (up === dir) break
    dir = up
  }
  return dir
}

let cached: NativeAddon | undefined

/** Loads the addon once; a missing build is a LocalError that says how to build it. */
export function loadAddon(): NativeAddon {
  if (cached !== undefined) return cached
  const root = packageRoot()
  const candidates = [join(root, 'build', 'Release', ADDON_FILE), join(root, 'build', 'Debug', ADDON_FILE)]
  const path = candidates.find((p) => existsSync(p))
  if (path === undefined) {
    throw new LocalError('PQC_ERR_IO', `the data-path addon is not built (looked for ${candidates[0]})`,
      {hint: 'run `npm ci` (or `npx node-gyp rebuild`) in the repository root; it needs a C compiler and python3'})
  }
  cached = createRequire(import.meta.url)(path) as NativeAddon
  return cached
}
