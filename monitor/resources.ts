/**
 * What a root monitor holds and must give back (architecture.md section 3), shared by the client
 * and the server monitor: the worker user's ids (NoNewPrivs set for every child once they are
 * known), the descriptors it opened, its TUN device, its workers and whether our nftables table is
 * applied. release() undoes all of it in order (workers, table, TUN, descriptors), after a failed
 * start as after a stop.
 */
import {formatIpv4, parseIpv4} from '../src/net/ipv4.js'
import type {NftBatch} from '../src/nft/json.js'
import {type Logger, createLogger} from '../router/log.js'
import {type NativeAddon, loadAddon} from '../router/native/addon.js'
import {applyRuleset, removeTable} from '../router/nft/apply.js'
import {type WorkerIds, lookupUser} from './host.js'
import type {Supervisor} from './supervisor.js'
import {TunKeeper} from './tun-keeper.js'

/** 10.43.0.1/16 -> 10.43.0.0/16 (the nftables renderers want the network). */
export function networkOf(cidr: string): string {
  const [addr, bits] = cidr.split('/')
  const len = Number(bits)
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0
  return `${formatIpv4(((parseIpv4(addr ?? '') ?? 0) & mask) >>> 0)}/${len}`
}

export class MonitorResources {
  readonly log: Logger
  readonly addon: NativeAddon
  /** The worker user; undefined without privilege separation. */
  readonly ids: WorkerIds | undefined
  readonly supervisors: Supervisor[] = []
  #tun: TunKeeper | undefined
  readonly #fds: number[] = []
  #tableApplied = false

  constructor(user: string | undefined, verbose: boolean) {
    this.log = createLogger('monitor', {verbose})
    this.addon = loadAddon()
    this.ids = user === undefined ? undefined : lookupUser(user)
    // Inherited by every worker: no exec can gain privilege back (setuid binaries, file caps).
    if (this.ids !== undefined) this.addon.noNewPrivs()
  }

  /** {uid, gid} for the workers to drop to, or undefined. */
  get drop(): {uid: number; gid: number} | undefined {
    return this.ids === undefined ? undefined : {uid: this.ids.uid, gid: this.ids.gid}
  }

  /** Records a descriptor to close on release; returns it. */
  fd(fd: number): number {
    this.#fds.push(fd)
    return fd
  }

  /** offload: virtio_net_hdr offloads on the TUN (router/tun/linux.ts); the router finds the mode itself. */
  async openTun(name: string, cidr: string, mtu: number, offload = true): Promise<TunKeeper> {
    this.#tun = await TunKeeper.open(this.addon, name, cidr, mtu, offload)
    const mode = !offload ? 'off (--no-offload)'
      : this.#tun.offloadActive ? 'on (checksum, TCP/IPv4 segmentation)' : 'refused by the kernel; plain device (one packet per read and write)'
    this.log.info(`TUN ${this.#tun.name}: offload ${mode}`)
    return this.#tun
  }

  /** Replaces our table atomically with the batch (router/nft/apply.ts). */
  applyTable(batch: NftBatch): void {
    applyRuleset(batch)
    this.#tableApplied = true
  }

  /** Workers first (newest first), then the table, the TUN device and the descriptors. */
  async release(): Promise<void> {
    for (const s of [...this.supervisors].reverse()) await s.stop()
    if (this.#tableApplied) {
      try {
        removeTable()
      } catch (error) {
        this.log.error((error as Error).message)
      }
    }
    this.#tun?.close()
    for (const fd of this.#fds) this.addon.closeFd(fd)
  }
}
