/**
 * Server mode of the router (pq1-protocol.md sections 3, 6.4, 7): the crypto port takes
 * initiations (to the handshake pipeline) and tunnel datagrams (demultiplexed by tid, opened,
 * rewritten to the client's pool address, written to the TUN); the TUN's packets to a pool
 * address are sealed and sent to that client's latest authenticated endpoint. Right after a
 * handshake the server sends one keepalive, so the client knows at once that it worked (a
 * reference client accepts and ignores it, section 13.1 item 8).
 */
import {
  EARLY_DATAGRAM_MAX_AGE_S, EARLY_DATAGRAMS_MAX, HANDSHAKE_CONFIRM_S, KEEPALIVE_INTERVAL_S, PASSIVE_KEEPALIVE_S,
  ROUTER_MAX_PEERS, SERVER_TUN_ADDR,
} from '../../src/constants.js'
import {chacha20Poly1305} from '../../src/crypto/aead.js'
import {wipe} from '../../src/crypto/wipe.js'
import {AddressPool} from '../../src/dns/address-pool.js'
import type {HandshakeCrypto, SessionSecrets} from '../../src/handshake/crypto.js'
import type {ServerStaticKeys} from '../../src/handshake/responder.js'
import {formatIpv4, ipv4Destination, parseIpv4, rewriteIpv4Addresses} from '../../src/net/ipv4.js'
import {TunnelSession} from '../../src/session/tunnel-session.js'
import {tunnelTidKey} from '../../src/wire/tunnel.js'
import {systemTimers, type Clock, type TimerHandle, type Timers} from '../clock.js'
import {shortHex, type Logger} from '../log.js'
import {flushTunCounted, OutBatch} from '../out-batch.js'
import {packetAt, type TunDevice} from '../tun/device.js'
import {addressAt, formatAddress} from '../udp/address.js'
import type {UdpBind} from '../udp/bind.js'
import {HandshakePipeline, type HandshakeSource} from './handshakes.js'
import type {KeyServer} from './key-server.js'

export interface ServerPeer {
  tidKey: string
  session: TunnelSession
  poolAddr: number
  endpoint: Uint8Array
  port: number
  lastSendS: number
  lastReceiveS: number
  /** Set by the first authenticated tunnel datagram (a session nobody uses is recycled first). */
  usedSinceS?: number
  /** Since when data from the client waits for anything from us (undefined: nothing owed). */
  owesAnswerSinceS?: number
  bytesIn: number
  bytesOut: number
}

export interface ServerRouterOptions {
  tun: TunDevice
  sock: UdpBind
  keyServer: KeyServer
  crypto: HandshakeCrypto
  staticKeys: ServerStaticKeys
  clock: Clock
  log: Logger
  /** Pool for clients, e.g. 10.42.0.0/16; the TUN address is reserved in it. */
  poolCidr?: string
  tunAddr?: string
  /** Inner destination of decrypted packets (server-in-a-bottle), else the TUN address. */
  hostIp?: string
  /** Timer functions (default Node's); unit tests inject virtual ones matching `clock`. */
  timers?: Timers
}

/** Housekeeping period: expiry of receive epochs, dead tunnels, keepalives. */
export const SERVER_TICK_MS = 1000

export class ServerRouter {
  readonly peersByTid = new Map<string, ServerPeer>()
  readonly peersByAddr = new Map<number, ServerPeer>()
  readonly handshakes: HandshakePipeline
  readonly counters = {tunnelIn: 0, tunnelDropped: 0, tunOut: 0, tunIn: 0, tunDropped: 0, sessionsRefused: 0}
  readonly #o: ServerRouterOptions
  readonly #pool: AddressPool
  readonly #innerDst: number
  /** Sealed datagrams and opened packets of the current event, sent/written in one call each. */
  readonly #udpOut: OutBatch
  readonly #tunOut: OutBatch
  #timer: TimerHandle | undefined
  /**
   * Tunnel datagrams for tids we do not know yet, kept while handshakes are in flight: a client
   * sends its queued packets right behind the initiation, before our decapsulation finishes.
   * Unauthenticated, so bounded (EARLY_DATAGRAMS_MAX, oldest first out) and short-lived.
   */
  readonly #early: Array<{tidKey: string; datagram: Buffer; address: Buffer; port: number; at: number}> = []

  constructor(o: ServerRouterOptions) {
    this.#o = o
    const tunAddr = o.tunAddr ?? SERVER_TUN_ADDR
    // The pool recycles only tunnels not in use (security-tests.md M-2: anyone can make genuine
    // sessions, they must not push out a client that is talking); what it forgets goes here too.
    this.#pool = new AddressPool(o.poolCidr ?? '10.42.0.0/16', [tunAddr], ROUTER_MAX_PEERS, (k) => {
      const evicted = this.peersByTid.get(Buffer.from(k, 'hex').toString('latin1'))
      if (evicted !== undefined) this.#remove(evicted, 'pool address recycled (idle)')
    })
    this.#innerDst = parseIpv4(o.hostIp ?? tunAddr)!
    this.#udpOut = OutBatch.forUdp(o.sock)
    this.#tunOut = OutBatch.forTun(o.tun)
    this.handshakes = new HandshakePipeline({
      crypto: o.crypto,
      keys: o.staticKeys,
      ephemeral: (wall) => o.keyServer.store.candidates(wall),
      mono: () => o.clock.mono(),
      wall: () => o.clock.wall(),
      hasTid: (tid) => this.peersByTid.has(Buffer.from(tid).toString('latin1')),
      onSession: (secrets, source) => this.#onSession(secrets, source),
    })
  }

  start(): void {
    this.#o.sock.start((batch) => {
      const now = this.#o.clock.mono()
      for (let i = 0; i < batch.count; i++) {
        const d = packetAt(batch, i)
        if (d[0] === 0x01 && d[1] === 0x00) {
          const address = addressAt(batch, i)
          this.handshakes.offer(d, {address, port: batch.ports[i]!, key: formatAddress(address)})
        } else if (d[0] === 0x02 && d[1] === 0x00) {
          this.#onTunnel(d, addressAt(batch, i), batch.ports[i]!, now)
        }
        // Anything else (03 00 included: unauthenticated teardown, section 14 item 3) is ignored.
      }
      this.#flushTun()
    })
    this.#o.tun.start((batch) => {
      const now = this.#o.clock.mono()
      for (let i = 0; i < batch.count; i++) this.#onTunPacket(packetAt(batch, i), now)
      this.#udpOut.flush()
    })
    this.#timer = (this.#o.timers ?? systemTimers).setInterval(() => this.tick(this.#o.clock.mono()), SERVER_TICK_MS)
    this.#timer.unref()
  }

  #onSession(secrets: SessionSecrets, source: HandshakeSource): void {
    const now = this.#o.clock.mono()
    const tidKey = Buffer.from(secrets.tid).toString('latin1')
    const allocated = this.#pool.allocate(Buffer.from(secrets.tid).toString('hex'), Date.now(),
      (k) => !this.#inUse(this.peersByTid.get(Buffer.from(k, 'hex').toString('latin1')), now))
    if (allocated === undefined) {
      this.counters.sessionsRefused++
      this.#o.log.limited('pool-full', `handshake from ${source.key}: every pool address belongs to a tunnel in use; refused`)
      wipe(secrets.tI, secrets.tR)
      return
    }
    const poolAddr = parseIpv4(allocated)!
    const old = this.peersByAddr.get(poolAddr)
    if (old !== undefined) this.#remove(old, 'pool address reused') // the pool evicted its LRU entry
    // The server sends with T_r and receives with T_i (section 6.4 step 8).
    const session = new TunnelSession({tid: secrets.tid, sendRoot: secrets.tR, recvRoot: secrets.tI, now, aead: chacha20Poly1305})
    const peer: ServerPeer = {tidKey, session, poolAddr, endpoint: source.address, port: source.port, lastSendS: now, lastReceiveS: now, bytesIn: 0, bytesOut: 0}
    this.peersByTid.set(tidKey, peer)
    this.peersByAddr.set(poolAddr, peer)
    this.#o.log.info(`handshake from ${source.key}:${source.port}: tunnel ${shortHex(secrets.tid)} -> ${formatIpv4(poolAddr)}`)
    this.#sendKeepalive(peer, now)
    this.#udpOut.flush()
    this.#releaseEarly(tidKey, now)
    this.#flushTun()
  }

  #holdEarly(tidKey: string, d: Uint8Array, address: Uint8Array, port: number, now: number): void {
    while (this.#early.length > 0 && now - this.#early[0]!.at > EARLY_DATAGRAM_MAX_AGE_S) this.#early.shift()
    if (this.#early.length >= EARLY_DATAGRAMS_MAX) {
      this.#early.shift()
      this.counters.tunnelDropped++
    }
    this.#early.push({tidKey, datagram: Buffer.from(d), address: Buffer.from(address), port, at: now})
  }

  /** Open the held datagrams of a tunnel that now exists, in arrival order. */
  #releaseEarly(tidKey: string, now: number): void {
    const mine = this.#early.filter((e) => e.tidKey === tidKey && now - e.at <= EARLY_DATAGRAM_MAX_AGE_S)
    if (mine.length === 0) return
    for (let i = this.#early.length - 1; i >= 0; i--) if (this.#early[i]!.tidKey === tidKey) this.#early.splice(i, 1)
    for (const e of mine) this.#onTunnel(e.datagram, e.address, e.port, now)
  }

  #onTunnel(d: Uint8Array, address: Uint8Array, port: number, now: number): void {
    const tidKey = tunnelTidKey(d)
    const peer = tidKey === undefined ? undefined : this.peersByTid.get(tidKey)
    if (peer === undefined) {
      if (tidKey !== undefined && this.handshakes.inFlight > 0) this.#holdEarly(tidKey, d, address, port, now)
      else this.counters.tunnelDropped++
      return
    }
    const r = peer.session.open(d, now, this.#tunOut.slot())
    if (r.kind === 'drop') {
      this.counters.tunnelDropped++
      return
    }
    // Roaming follows authenticated packets only (section 3.4).
    if (port !== peer.port || Buffer.compare(address, peer.endpoint) !== 0) peer.endpoint = Buffer.from(address)
    peer.port = port
    peer.lastReceiveS = now
    peer.usedSinceS ??= now
    this.counters.tunnelIn++
    if (r.kind !== 'data') return
    // Passive keepalive: data from the client is answered within PASSIVE_KEEPALIVE_S (by the
    // application or, from tick(), by a keepalive), so the client can tell us from a restarted
    // server that forgot the tunnel.
    peer.owesAnswerSinceS ??= now
    peer.bytesIn += r.payload.length
    // Inner source := the client's pool address, destination := ours; checksums recomputed (3.3).
    if (!rewriteIpv4Addresses(r.payload, peer.poolAddr, this.#innerDst)) {
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

  #onTunPacket(p: Uint8Array, now: number): void {
    this.counters.tunIn++
    const dst = ipv4Destination(p)
    const peer = dst === undefined ? undefined : this.peersByAddr.get(dst)
    if (peer === undefined) {
      this.counters.tunDropped++
      return
    }
    this.#seal(peer, p, now)
  }

  /** Seal into the event's datagram batch; the caller flushes it. */
  #seal(peer: ServerPeer, p: Uint8Array, now: number): void {
    const r = peer.session.seal(p, now, this.#udpOut.slot())
    if (r.kind !== 'datagram') {
      this.#remove(peer, `tunnel ended (${r.reason})`)
      return
    }
    peer.lastSendS = now
    peer.owesAnswerSinceS = undefined
    peer.bytesOut += p.length
    this.#udpOut.put(r.datagram, peer.endpoint, peer.port)
  }

  #sendKeepalive(peer: ServerPeer, now: number): void {
    this.#seal(peer, new Uint8Array(0), now)
  }

  /**
   * A tunnel whose client sent an authenticated packet lately (its keepalives come every 25 s), or
   * one just made whose first packet may still be on its way (the client retries after
   * HANDSHAKE_CONFIRM_S anyway).
   */
  #inUse(peer: ServerPeer | undefined, now: number): boolean {
    if (peer === undefined) return false
    return now - peer.lastReceiveS < (peer.usedSinceS === undefined ? HANDSHAKE_CONFIRM_S : 2 * KEEPALIVE_INTERVAL_S + 10)
  }

  /** Expire epochs, drop dead tunnels, keep live ones alive from our side too. */
  tick(now: number): void {
    for (const peer of [...this.peersByTid.values()]) {
      // Tunnels that carried packets since the last tick are the most recently used in the pool.
      if (now - peer.lastReceiveS < SERVER_TICK_MS / 1000) this.#pool.allocate(Buffer.from(peer.tidKey, 'latin1').toString('hex'), Date.now())
      peer.session.expire(now)
      if (!peer.session.isAlive(now)) {
        this.#remove(peer, 'no authenticated packet for 120 s')
        continue
      }
      if (peer.owesAnswerSinceS !== undefined && now - peer.owesAnswerSinceS >= PASSIVE_KEEPALIVE_S) {
        this.#sendKeepalive(peer, now)
        continue
      }
      // While the client keeps the tunnel up, make sure our direction has fresh epochs too.
      if (now - peer.lastSendS >= KEEPALIVE_INTERVAL_S && now - peer.lastReceiveS < 2 * KEEPALIVE_INTERVAL_S + 10) {
        this.#sendKeepalive(peer, now)
      }
    }
    this.#udpOut.flush()
  }

  #remove(peer: ServerPeer, why: string): void {
    if (this.peersByTid.get(peer.tidKey) !== peer) return
    this.peersByTid.delete(peer.tidKey)
    if (this.peersByAddr.get(peer.poolAddr) === peer) this.peersByAddr.delete(peer.poolAddr)
    this.#pool.release(Buffer.from(peer.tidKey, 'latin1').toString('hex'))
    this.#o.log.info(`tunnel ${shortHex(Buffer.from(peer.tidKey, 'latin1'))} (${formatIpv4(peer.poolAddr)}) closed: ${why}`)
    peer.session.destroy()
  }

  /** One plain record per tunnel, for `pqc status`. */
  status(): Array<Record<string, string | number | boolean | null>> {
    const now = this.#o.clock.mono()
    return [...this.peersByTid.values()].map((p) => ({
      tunnel: shortHex(Buffer.from(p.tidKey, 'latin1')), client: `${formatAddress(p.endpoint)}:${p.port}`, poolAddr: formatIpv4(p.poolAddr),
      bytesIn: p.bytesIn, bytesOut: p.bytesOut, lastActivityS: Number((now - Math.max(p.lastReceiveS, p.lastSendS)).toFixed(1)),
      sendEpoch: p.session.sendEpoch,
    }))
  }

  close(): void {
    if (this.#timer !== undefined) (this.#o.timers ?? systemTimers).clearInterval(this.#timer)
    for (const peer of [...this.peersByTid.values()]) this.#remove(peer, 'server stopping')
    this.#o.sock.close()
    this.#o.tun.close()
  }
}
