/**
 * Client mode of the router (pq1-protocol.md sections 2, 3, 5, 6, 7): the resolver announces
 * servers; each gets an internal address (10.43.0.0/16, stable per key hash) and a connection is
 * started at once (key from cache or a verified download, ephemeral keys, initiation). Packets
 * from the TUN wait in a bounded queue until the tunnel exists, then travel sealed to the server;
 * tunnel packets from the server are opened and rewritten to the internal address. Fixes of the
 * reference: handshake retried when unconfirmed, ICMP unreachable instead of a blackhole,
 * keepalives so idle connections survive, re-handshake keeping the internal address.
 */
import {
  CLIENT_TUN_ADDR, CONNECT_GIVE_UP_S, DEAD_PEER_S, HANDSHAKE_CONFIRM_S, HANDSHAKE_MAX_ATTEMPTS, KEEPALIVE_IDLE_LIMIT_S,
  KEEPALIVE_INTERVAL_S, ROUTER_MAX_PEERS,
} from '../../src/constants.js'
import {chacha20Poly1305} from '../../src/crypto/aead.js'
import {isMcEliecePublicKeyWellFormed, mceliece6960119} from '../../src/crypto/mceliece.js'
import {AddressPool} from '../../src/dns/address-pool.js'
import type {HandshakeCrypto} from '../../src/handshake/crypto.js'
import {createInitiation} from '../../src/handshake/initiator.js'
import {icmpUnreachable} from '../../src/net/icmp.js'
import {formatIpv4, ipv4Destination, parseIpv4, rewriteIpv4Addresses} from '../../src/net/ipv4.js'
import {TunnelSession} from '../../src/session/tunnel-session.js'
import {tunnelTidKey} from '../../src/wire/tunnel.js'
import {systemTimers, type Clock, type TimerHandle, type Timers} from '../clock.js'
import {shortHex, type Logger} from '../log.js'
import {flushTunCounted, OutBatch} from '../out-batch.js'
import {packetAt, type TunDevice} from '../tun/device.js'
import {addressAt, formatAddress, parseAddress} from '../udp/address.js'
import type {UdpBind} from '../udp/bind.js'
import {enqueue, type ClientPeer} from './client-peer.js'
import {KeyCache} from './key-cache.js'
import {downloadStaticKey, fetchEphemeralKeys, FetchSlots, type KeyChannel} from './key-fetch.js'
import {withKeyProgress} from './key-progress.js'

export interface ClientRouterOptions {
  tun: TunDevice
  sock: UdpBind
  crypto: HandshakeCrypto
  clock: Clock
  log: Logger
  cacheDir?: string
  tunAddr?: string
  poolCidr?: string
  /** Timer functions (default Node's); unit tests inject virtual ones matching `clock`. */
  timers?: Timers
  /** Called when the set of servers (real address, internal address, ports) changes: nftables steering follows it. */
  onPeersChanged?: () => void
}

/** One server as nftables steering needs it (src/nft/client-ruleset.ts SteeredServer). */
export interface SteeredPeer {
  realAddr: string
  internalAddr: string
  pqcPort: number
  keyPort: number
}

export interface Announcement {
  name: string
  keyHashHex: string
  realAddrs: string[]
  pqcPort?: number
  keyPort?: number
}

/** After a failed connection, packets get ICMP at once for this long before a new attempt. */
export const CONNECT_RETRY_BACKOFF_S = 10
export const CLIENT_TICK_MS = 1000

export class ClientRouter {
  readonly peersByKey = new Map<string, ClientPeer>()
  readonly peersByAddr = new Map<number, ClientPeer>()
  readonly peersByTid = new Map<string, ClientPeer>()
  readonly counters = {tunIn: 0, tunOut: 0, tunDropped: 0, tunnelIn: 0, tunnelDropped: 0, queued: 0, icmpSent: 0, keyDownloads: 0}
  /** Bounds the static-key downloads running at once (security-tests.md M-2, A-3). */
  readonly fetchSlots = new FetchSlots()
  /** Announcements refused because every address belongs to a server in use (M-3: fail-open). */
  poolRefused = 0
  readonly #o: ClientRouterOptions
  readonly #pool: AddressPool
  readonly #tunAddr: number
  readonly #cache: KeyCache
  readonly #keyListeners = new Map<string, (d: Uint8Array) => void>()
  /** Sealed datagrams and opened packets of the current event, sent/written in one call each. */
  readonly #udpOut: OutBatch
  readonly #tunOut: OutBatch
  readonly #confirmWaiters = new Map<ClientPeer, () => void>()
  readonly #timers: Timers
  #timer: TimerHandle | undefined

  constructor(o: ClientRouterOptions) {
    this.#o = o
    this.#timers = o.timers ?? systemTimers
    const tunAddr = o.tunAddr ?? CLIENT_TUN_ADDR
    this.#tunAddr = parseIpv4(tunAddr)!
    // A server the pool forgets to make room is forgotten here too (else peers outgrow the bound).
    this.#pool = new AddressPool(o.poolCidr ?? '10.43.0.0/16', [tunAddr], ROUTER_MAX_PEERS, (k) => {
      const evicted = this.peersByKey.get(k)
      if (evicted !== undefined) this.#forget(evicted)
    })
    this.#cache = new KeyCache(o.cacheDir, o.log)
    this.#udpOut = OutBatch.forUdp(o.sock)
    this.#tunOut = OutBatch.forTun(o.tun)
  }

  start(): void {
    this.#o.sock.start((batch) => {
      const now = this.#o.clock.mono()
      for (let i = 0; i < batch.count; i++) {
        const d = packetAt(batch, i)
        if (d[0] === 0x02 && d[1] === 0x00) this.#onTunnel(d, addressAt(batch, i), batch.ports[i]!, now)
        else if ((d[0] === 0xf1 || d[0] === 0xf3) && d[1] === 0x00) {
          this.#keyListeners.get(`${formatAddress(addressAt(batch, i))}:${batch.ports[i]!}`)?.(d)
        }
      }
      this.#flushTun()
    })
    this.#o.tun.start((batch) => {
      const now = this.#o.clock.mono()
      for (let i = 0; i < batch.count; i++) this.#onTunPacket(packetAt(batch, i), now)
      this.#udpOut.flush()
    })
    this.#timer = this.#timers.setInterval(() => this.tick(this.#o.clock.mono()), CLIENT_TICK_MS)
    this.#timer.unref()
  }

  /** From the resolver: a server was announced. Returns the internal address to answer with. */
  announce(a: Announcement): string | undefined {
    const real = a.realAddrs.map((r) => parseAddress(r)).find((p) => p?.family === 4)
    if (real === undefined || !/^[0-9a-f]{64}$/.test(a.keyHashHex)) return undefined
    let peer = this.peersByKey.get(a.keyHashHex)
    const now = this.#o.clock.mono()
    const created = peer === undefined
    if (peer === undefined) {
      // A full pool recycles only servers not in use: an attacker's flood of pq1 names must not
      // take the address (and tunnel) of a server we talk to. Nothing free: the answer passes.
      const internalText = this.#pool.allocate(a.keyHashHex, Date.now(), (k) => !this.#inUse(this.peersByKey.get(k)))
      if (internalText === undefined) {
        this.poolRefused++
        this.#o.log.limited('pool-full', `address pool full of servers in use; ${a.name} passes unchanged`)
        return undefined
      }
      const internalAddr = parseIpv4(internalText)!
      const evicted = this.peersByAddr.get(internalAddr)
      if (evicted !== undefined) this.#forget(evicted)
      peer = {
        keyHashHex: a.keyHashHex, keyHash: Buffer.from(a.keyHashHex, 'hex'), name: a.name, internalAddr,
        realAddr: real.bytes, realAddrText: formatAddress(real.bytes), state: 'idle', queue: [],
        connectStartedS: 0, gaveUp: false, failedAtS: Number.NEGATIVE_INFINITY, lastSendS: now, lastDataS: now,
        lastUseMs: Date.now(), handshakes: 0, bytesIn: 0, bytesOut: 0,
      }
      this.peersByKey.set(a.keyHashHex, peer)
      this.peersByAddr.set(internalAddr, peer)
      this.#o.log.info(`server ${a.name} (key ${a.keyHashHex.slice(0, 8)}) at ${peer.realAddrText} -> ${internalText}`)
    } else {
      this.#pool.allocate(a.keyHashHex, Date.now()) // refresh its LRU position
      peer.lastUseMs = Date.now()
    }
    const portsBefore = `${peer.pqcPort}/${peer.keyPort}`
    if (a.pqcPort !== undefined) peer.pqcPort = a.pqcPort
    if (a.keyPort !== undefined) peer.keyPort = a.keyPort
    if (created || `${peer.pqcPort}/${peer.keyPort}` !== portsBefore) this.#o.onPeersChanged?.()
    // A new lookup while our data goes unanswered: the server may have restarted; do not wait
    // for the dead-peer timer.
    if (peer.state === 'up' && this.#deadPeer(peer, now)) {
      this.#o.log.info(`${peer.name} looked up again while silent for ${(now - (peer.unansweredSinceS ?? now)).toFixed(1)} s; handshaking again`)
      this.#dropSession(peer)
    }
    // Start now: the application will send as soon as it has the answer.
    if (peer.state === 'idle' || (peer.state === 'failed' && now - peer.failedAtS >= CONNECT_RETRY_BACKOFF_S)) void this.#connect(peer)
    return formatIpv4(peer.internalAddr)
  }

  #onTunPacket(p: Uint8Array, now: number): void {
    this.counters.tunIn++
    const dst = ipv4Destination(p)
    const peer = dst === undefined ? undefined : this.peersByAddr.get(dst)
    if (peer === undefined) {
      this.counters.tunDropped++
      return
    }
    peer.lastDataS = now
    peer.lastUseMs = Date.now()
    if (peer.state === 'up' && peer.session !== undefined) {
      if (this.#seal(peer, p, now)) return
    }
    if (peer.state === 'failed' && now - peer.failedAtS < CONNECT_RETRY_BACKOFF_S) {
      this.#unreachable(p)
      return
    }
    if (peer.state === 'connecting' && peer.gaveUp) {
      this.#unreachable(p)
      return
    }
    enqueue(peer, p)
    this.counters.queued++
    if (peer.state !== 'connecting') void this.#connect(peer)
  }

  /**
   * Seal into the event's datagram batch (the caller flushes it); false when the session is over
   * (the caller queues and reconnects).
   */
  #seal(peer: ClientPeer, p: Uint8Array, now: number): boolean {
    const r = peer.session!.seal(p, now, this.#udpOut.slot())
    if (r.kind !== 'datagram') {
      this.#o.log.info(`tunnel to ${peer.name} ended (${r.reason}); handshaking again`)
      this.#dropSession(peer)
      return false
    }
    peer.lastSendS = now
    peer.bytesOut += p.length
    if (p.length > 0) peer.unansweredSinceS ??= now
    this.#udpOut.put(r.datagram, peer.realAddr, peer.pqcPort!)
    return true
  }

  #onTunnel(d: Uint8Array, address: Uint8Array, port: number, now: number): void {
    const tidKey = tunnelTidKey(d)
    const peer = tidKey === undefined ? undefined : this.peersByTid.get(tidKey)
    if (peer?.session === undefined) {
      this.counters.tunnelDropped++
      return
    }
    const r = peer.session.open(d, now, this.#tunOut.slot())
    if (r.kind === 'drop') {
      this.counters.tunnelDropped++
      return
    }
    this.counters.tunnelIn++
    peer.unansweredSinceS = undefined
    // The server's address follows authenticated packets only (section 3.4).
    if (port === peer.pqcPort && Buffer.compare(address, peer.realAddr) !== 0) peer.realAddr = Buffer.from(address)
    this.#confirmWaiters.get(peer)?.()
    if (r.kind === 'keepalive') peer.serverKeepsAlive = true
    if (r.kind !== 'data') return
    peer.lastDataS = now
    peer.bytesIn += r.payload.length
    if (!rewriteIpv4Addresses(r.payload, peer.internalAddr, this.#tunAddr)) {
      this.counters.tunDropped++
      return
    }
    // In the slot it was opened into, or (larger than a slot, opened into a fresh buffer) on its own.
    if (!this.#tunOut.put(r.payload)) {
      this.counters.tunDropped++
      return
    }
    this.counters.tunOut++
  }

  /** Write the event's opened packets; those the TUN queue did not take count as dropped. */
  #flushTun(): void {
    flushTunCounted(this.#tunOut, this.counters)
  }

  /** The key channel of a static-key download, logging each quarter when verbose (issue 7). */
  #keyProgress(peer: ClientPeer): KeyChannel {
    return withKeyProgress(this.#keyChannel(peer), (pct, n, total) => this.#o.log.verbose(`key of ${peer.name}: ${pct}% (${n}/${total} nodes)`))
  }

  #keyChannel(peer: ClientPeer): KeyChannel {
    const id = `${peer.realAddrText}:${peer.keyPort!}`
    return {
      send: (d) => void this.#udpOut.put(d, peer.realAddr, peer.keyPort!),
      flush: () => this.#udpOut.flush(),
      listen: (fn) => {
        if (fn === undefined) this.#keyListeners.delete(id)
        else this.#keyListeners.set(id, fn)
      },
    }
  }

  async #connect(peer: ClientPeer): Promise<void> {
    const {clock, log} = this.#o
    peer.state = 'connecting'
    peer.gaveUp = false
    peer.connectStartedS = clock.mono()
    const giveUp = this.#timers.setTimeout(() => this.#giveUp(peer), CONNECT_GIVE_UP_S * 1000)
    try {
      if (peer.pqcPort === undefined || peer.keyPort === undefined) throw new Error('the announcement carries no ports (no p= / ks. TXT records)')
      let key = peer.staticKey ?? this.#cache.load(peer.keyHashHex)
      if (key === undefined) {
        const release = await this.fetchSlots.acquire()
        const got = await downloadStaticKey(this.#keyProgress(peer), peer.keyHash, clock, undefined, this.#timers).finally(release)
        this.counters.keyDownloads++
        log.info(`key of ${peer.name} downloaded and verified: ${got.requests} requests in ${got.seconds.toFixed(3)} s`)
        key = got.key
        this.#cache.store(peer.keyHashHex, key)
      }
      if (!isMcEliecePublicKeyWellFormed(key.mceliecePk)) throw new Error('the server key is malformed')
      peer.staticKey = key
      for (let attempt = 1; attempt <= HANDSHAKE_MAX_ATTEMPTS; attempt++) {
        const eph = await fetchEphemeralKeys(this.#keyChannel(peer), undefined, undefined, this.#timers)
        const init = await createInitiation(this.#o.crypto, {
          prekey: await mceliece6960119.encapsulate(key.mceliecePk),
          staticX25519: key.x25519Pk, ephemeralSntrup: eph.sntrupPublic, ephemeralX25519: eph.x25519Public,
        })
        this.#dropSession(peer)
        const now = clock.mono()
        // The client sends with T_i and receives with T_r (section 6.2).
        peer.session = new TunnelSession({tid: init.secrets.tid, sendRoot: init.secrets.tI, recvRoot: init.secrets.tR, now, aead: chacha20Poly1305})
        peer.tidKey = peer.session.tid.toString('latin1')
        this.peersByTid.set(peer.tidKey, peer)
        peer.handshakes++
        this.#o.sock.send(init.message, peer.realAddr, peer.pqcPort)
        peer.state = 'up'
        this.#flush(peer, now)
        this.#udpOut.flush()
        if (await this.#confirmed(peer)) {
          peer.lastConnectS = clock.mono() - peer.connectStartedS
          log.info(`tunnel ${shortHex(peer.session.tid)} to ${peer.name} up in ${peer.lastConnectS.toFixed(3)} s`)
          return
        }
        log.info(`no answer from ${peer.name} ${HANDSHAKE_CONFIRM_S} s after initiation ${attempt}`)
      }
      // A reference server stays silent until it has data for us: keep the last tunnel.
      log.info(`tunnel to ${peer.name} unconfirmed after ${HANDSHAKE_MAX_ATTEMPTS} initiations; keeping it`)
    } catch (error) {
      peer.lastError = (error as Error).message
      peer.state = 'failed'
      peer.failedAtS = clock.mono()
      log.error(`cannot reach ${peer.name} (${peer.realAddrText}): ${peer.lastError}`)
      this.#giveUp(peer)
    } finally {
      this.#timers.clearTimeout(giveUp)
    }
  }

  /** Resolves true at the first authenticated packet of the current session, false after the wait. */
  #confirmed(peer: ClientPeer): Promise<boolean> {
    if (peer.session?.lastAuthenticatedReceive !== undefined) return Promise.resolve(true)
    return new Promise((resolve) => {
      const t = this.#timers.setTimeout(() => {
        this.#confirmWaiters.delete(peer)
        resolve(false)
      }, HANDSHAKE_CONFIRM_S * 1000)
      this.#confirmWaiters.set(peer, () => {
        this.#timers.clearTimeout(t)
        this.#confirmWaiters.delete(peer)
        resolve(true)
      })
    })
  }

  #flush(peer: ClientPeer, now: number): void {
    const q = peer.queue
    peer.queue = []
    for (const p of q) if (!this.#seal(peer, p, now)) break
  }

  /** Tell the applications waiting on this peer: ICMP host unreachable for every queued packet. */
  #giveUp(peer: ClientPeer): void {
    if (peer.state === 'up') return
    peer.gaveUp = true
    for (const p of peer.queue) this.#unreachable(p)
    peer.queue = []
  }

  #unreachable(p: Uint8Array): void {
    // From the unreachable internal address, not from our TUN address: Linux drops a packet
    // arriving on an interface with one of its own addresses as source (martian, accept_local=0),
    // so an ICMP error from 10.43.0.1 would never reach the application.
    const icmp = icmpUnreachable(p, ipv4Destination(p) ?? this.#tunAddr)
    if (icmp !== undefined && this.#o.tun.write(icmp)) this.counters.icmpSent++
  }

  /** A server with a tunnel or a connection attempt: its address is not recycled. */
  #inUse(peer: ClientPeer | undefined): boolean {
    return peer !== undefined && (peer.state === 'connecting' || peer.state === 'up')
  }

  /** Our data has gone unanswered for DEAD_PEER_S by a server that always answers data. */
  #deadPeer(peer: ClientPeer, now: number): boolean {
    return peer.serverKeepsAlive === true && peer.unansweredSinceS !== undefined && now - peer.unansweredSinceS >= DEAD_PEER_S
  }

  #dropSession(peer: ClientPeer): void {
    peer.unansweredSinceS = undefined
    peer.serverKeepsAlive = false
    if (peer.tidKey !== undefined && this.peersByTid.get(peer.tidKey) === peer) this.peersByTid.delete(peer.tidKey)
    peer.session?.destroy()
    peer.session = undefined
    peer.tidKey = undefined
    if (peer.state === 'up') peer.state = 'idle'
  }

  #forget(peer: ClientPeer): void {
    this.#dropSession(peer)
    this.peersByKey.delete(peer.keyHashHex)
    if (this.peersByAddr.get(peer.internalAddr) === peer) this.peersByAddr.delete(peer.internalAddr)
    this.#o.onPeersChanged?.()
  }

  /** The servers nftables steers (those whose ports are known), by their announced real address. */
  steering(): SteeredPeer[] {
    const out: SteeredPeer[] = []
    for (const p of this.peersByKey.values()) {
      if (p.pqcPort === undefined || p.keyPort === undefined) continue
      out.push({realAddr: p.realAddrText, internalAddr: formatIpv4(p.internalAddr), pqcPort: p.pqcPort, keyPort: p.keyPort})
    }
    return out
  }

  /** Expire epochs, re-handshake dead tunnels lazily, keep used tunnels alive. */
  tick(now: number): void {
    for (const peer of this.peersByKey.values()) {
      const s = peer.session
      // Servers that carried data since the last tick are the most recently used in the pool.
      if (now - peer.lastDataS < CLIENT_TICK_MS / 1000) this.#pool.allocate(peer.keyHashHex, Date.now())
      if (s === undefined || peer.state !== 'up') continue
      s.expire(now)
      if (!s.isAlive(now) || s.rehandshakeDue) {
        this.#o.log.info(`tunnel to ${peer.name} expired; the next packet handshakes again`)
        this.#dropSession(peer)
        continue
      }
      // Dead peer: a server that keeps alive (it answers data within seconds) has left our data
      // unanswered for DEAD_PEER_S: it restarted and forgot the tunnel. Handshake again now
      // rather than after the 120 s epoch expiry.
      if (this.#deadPeer(peer, now)) {
        this.#o.log.info(`no answer from ${peer.name} for ${(now - (peer.unansweredSinceS ?? now)).toFixed(1)} s; handshaking again`)
        this.#dropSession(peer)
        void this.#connect(peer)
        continue
      }
      if (now - peer.lastSendS >= KEEPALIVE_INTERVAL_S && now - peer.lastDataS < KEEPALIVE_IDLE_LIMIT_S) this.#seal(peer, new Uint8Array(0), now)
    }
    this.#udpOut.flush()
  }

  /** One plain record per server, for `pqc status`. */
  status(): Array<Record<string, string | number | boolean | null>> {
    const now = this.#o.clock.mono()
    return [...this.peersByKey.values()].map((p) => ({
      name: p.name, keyHash: p.keyHashHex, realAddr: p.realAddrText, internalAddr: formatIpv4(p.internalAddr),
      pqcPort: p.pqcPort ?? null, keyPort: p.keyPort ?? null, state: p.state, tunnel: p.tidKey === undefined ? null : shortHex(Buffer.from(p.tidKey, 'latin1')),
      handshakes: p.handshakes, bytesIn: p.bytesIn, bytesOut: p.bytesOut,
      lastActivityS: Number((now - Math.max(p.lastDataS, p.lastSendS)).toFixed(1)), lastError: p.lastError ?? null, lastConnectS: p.lastConnectS ?? null,
    }))
  }

  close(): void {
    if (this.#timer !== undefined) this.#timers.clearInterval(this.#timer)
    for (const peer of [...this.peersByKey.values()]) this.#forget(peer)
    this.#o.sock.close()
    this.#o.tun.close()
  }
}
