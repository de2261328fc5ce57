/**
 * The monitor's TUN device (architecture.md section 3): created and configured here, handed to
 * the router worker, and watched. If the device vanishes (an admin's `ip link delete`, a network
 * manager), it is recreated with the same name, address and MTU within TUN_WATCH_INTERVAL_MS plus
 * the set-up time, and the router is restarted on the new descriptor. nftables rules match the
 * device by name, so the table needs no change.
 */
import {existsSync} from 'node:fs'

import {TUN_WATCH_INTERVAL_MS} from '../src/constants.js'
import type {Logger} from '../router/log.js'
import type {NativeAddon} from '../router/native/addon.js'
import {configureLink} from '../router/net/link.js'

export class TunKeeper {
  #fd: number
  #timer: NodeJS.Timeout | undefined
  #busy = false
  recreated = 0
  /** Whether the kernel took the offloads when the device was (last) opened. */
  offloadActive: boolean

  private constructor(readonly addon: NativeAddon, readonly name: string, readonly cidr: string, readonly mtu: number,
    readonly offload: boolean, fd: number, offloadActive: boolean) {
    this.#fd = fd
    this.offloadActive = offloadActive
  }

  /** offload: open with virtio_net_hdr offloads (router/tun/linux.ts); the worker finds the mode with tunOffload. */
  static async open(addon: NativeAddon, name: string, cidr: string, mtu: number, offload = true): Promise<TunKeeper> {
    const tun = addon.tunOpen(name, false, offload)
    try {
      await configureLink(tun.name, {addresses: [cidr], mtu})
    } catch (error) {
      addon.closeFd(tun.fd)
      throw error
    }
    return new TunKeeper(addon, tun.name, cidr, mtu, offload, tun.fd, tun.offload)
  }

  get fd(): number {
    return this.#fd
  }

  /** Checks every TUN_WATCH_INTERVAL_MS; on a vanished device, recreates it and calls onNew(fd). */
  watch(log: Logger, onNew: (fd: number) => Promise<void>): void {
    this.#timer = setInterval(() => {
      if (this.#busy || existsSync(`/sys/class/net/${this.name}`)) return
      this.#busy = true
      void this.#recreate(log, onNew).finally(() => {
        this.#busy = false
      })
    }, TUN_WATCH_INTERVAL_MS)
    this.#timer.unref()
  }

  async #recreate(log: Logger, onNew: (fd: number) => Promise<void>): Promise<void> {
    log.error(`TUN device ${this.name} vanished; recreating it`)
    try {
      const tun = this.addon.tunOpen(this.name, false, this.offload)
      await configureLink(tun.name, {addresses: [this.cidr], mtu: this.mtu})
      const old = this.#fd
      this.#fd = tun.fd
      this.offloadActive = tun.offload
      await onNew(tun.fd)
      this.addon.closeFd(old)
      this.recreated++
      log.info(`TUN device ${this.name} recreated (${this.cidr}, MTU ${this.mtu}); router restarted on it`)
    } catch (error) {
      log.limited('tun-recreate', `cannot recreate TUN device ${this.name}: ${(error as Error).message}`)
    }
  }

  close(): void {
    clearInterval(this.#timer)
    this.addon.closeFd(this.#fd)
  }
}
