/**
 * What the resolver does with a pq1 announcement found on a CNAME chain (pq1-protocol.md
 * sections 2.2-2.6): gathers the real addresses and ports (TXT `p=` and `ks.` records when the
 * label has none), gets the internal address from the router when one is connected, else from
 * its own allocator, and remembers the server for `pqc servers list` (bounded table).
 */
import {PQ1_MAX_A_RECORDS, RESOLVER_MAX_SERVERS, ROUTER_CONNECT_WAIT_MS, ROUTER_MAX_PENDING} from '../src/constants.js'
import type {AddressPool} from '../src/dns/address-pool.js'
import type {ChainInfo} from '../src/dns/chain.js'
import {parseCryptoPortTxt, parseKeyPortTxt} from '../src/dns/txt-ports.js'
import type {ServerInfo} from '../src/ipc/messages.js'
import type {RouterLink} from './router-link.js'

export type AnnounceResult = {kind: 'rewrite'; internalAddr: string} | {kind: 'pass'} | {kind: 'servfail'}

export interface AnnouncerDeps {
  router: RouterLink | undefined
  pool: AddressPool
  /** Wall clock in ms (servers list "last use"). */
  now: () => number
  /** TXT texts owned by a name, through the resolver's own cache and upstreams. */
  lookupTxt: (name: string) => Promise<string[]>
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

export class Announcer {
  readonly #d: AnnouncerDeps
  /** key hash hex -> server; Map order is least recently used first. */
  readonly #servers = new Map<string, ServerInfo>()
  readonly #inflight = new Map<string, Promise<AnnounceResult>>()

  constructor(deps: AnnouncerDeps) {
    this.#d = deps
  }

  servers(): ServerInfo[] {
    return [...this.#servers.values()].reverse()
  }

  /**
   * The router (re)connected: tell it every server it had from us, so a restarted router knows
   * the internal addresses applications already hold (its pool is seeded by key hash, so each
   * gets the same address back unless two collide). Replies that differ are taken over.
   */
  reannounce(): void {
    const router = this.#d.router
    if (router === undefined) return
    for (const s of [...this.#servers.values()]) {
      if (s.state !== 'router') continue
      const m: Parameters<RouterLink['announce']>[0] = {name: s.name, keyHash: s.keyHash, realAddrs: s.realAddrs}
      if (s.pqcPort !== undefined) m.pqcPort = s.pqcPort
      if (s.keyPort !== undefined) m.keyPort = s.keyPort
      void router.announce(m).then((r) => {
        if (r.kind === 'address') s.internalAddr = r.internalAddr
      })
    }
  }

  /** The router (or the pool owner) says the peer is gone: forget its address. */
  peerGone(keyHex: string): void {
    const s = this.#servers.get(keyHex)
    if (s !== undefined) s.state = 'gone'
    this.#d.pool.release(keyHex)
  }

  /** Decide the A answer for a chain carrying an announcement. */
  addressFor(chain: ChainInfo): Promise<AnnounceResult> {
    const ann = chain.announcement
    const addrs = chain.addresses
    // Section 2.3 steps 6-7: no A records or too many -> unchanged; an address already in our
    // pool means a local stub forwarded an already rewritten answer -> unchanged.
    if (ann === undefined || addrs.length === 0 || addrs.length > PQ1_MAX_A_RECORDS || this.#d.pool.contains(addrs[0]!)) {
      return Promise.resolve({kind: 'pass'})
    }
    const keyHex = hex(ann.value.keyHash)
    const running = this.#inflight.get(keyHex)
    if (running !== undefined) return running
    if (this.#inflight.size >= ROUTER_MAX_PENDING) return Promise.resolve({kind: 'servfail'})
    const p = this.#resolve(keyHex, ann.name, chain).finally(() => this.#inflight.delete(keyHex))
    this.#inflight.set(keyHex, p)
    return p
  }

  async #resolve(keyHex: string, name: string, chain: ChainInfo): Promise<AnnounceResult> {
    const ann = chain.announcement!.value
    let pqcPort = ann.pqcPort
    let keyPort = ann.keyPort
    if (pqcPort === undefined || keyPort === undefined) {
      // Section 2.2: ports from `TXT <pq1 name>` and `TXT ks.<pq1 name>`.
      const [p, ks] = await Promise.all([this.#d.lookupTxt(name), this.#d.lookupTxt(`ks.${name}`)])
      pqcPort = parseCryptoPortTxt(p)
      keyPort = parseKeyPortTxt(ks)
    }
    const realAddrs = chain.addresses
    let internalAddr: string
    let state: string
    const router = this.#d.router
    // A router is configured but not (yet, or again) connected: an address from our own pool
    // would be one it does not know. Wait for it a little (ROUTER_CONNECT_WAIT_MS), then SERVFAIL.
    if (router !== undefined && !(await router.waitConnected(ROUTER_CONNECT_WAIT_MS))) return {kind: 'servfail'}
    if (router !== undefined) {
      const m: Parameters<RouterLink['announce']>[0] = {name, keyHash: keyHex, realAddrs}
      if (pqcPort !== undefined) m.pqcPort = pqcPort
      if (keyPort !== undefined) m.keyPort = keyPort
      const r = await router.announce(m)
      if (r.kind === 'refused') return {kind: 'pass'}
      if (r.kind === 'unavailable') return {kind: 'servfail'}
      internalAddr = r.internalAddr
      state = 'router'
    } else {
      internalAddr = this.#d.pool.allocate(keyHex, this.#d.now())
      state = 'local'
    }
    const info: ServerInfo = {name, keyHash: keyHex, realAddrs, internalAddr, lastUseMs: this.#d.now(), state}
    if (pqcPort !== undefined) info.pqcPort = pqcPort
    if (keyPort !== undefined) info.keyPort = keyPort
    this.#servers.delete(keyHex)
    if (this.#servers.size >= RESOLVER_MAX_SERVERS) this.#servers.delete(this.#servers.keys().next().value!)
    this.#servers.set(keyHex, info)
    return {kind: 'rewrite', internalAddr}
  }
}
