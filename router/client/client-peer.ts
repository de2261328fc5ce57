/**
 * What the client router keeps per PQConnect server: identity (key hash from DNS), where to reach
 * it, the internal address applications use, the tunnel, and the packets waiting for it.
 */
import {PEER_QUEUE_MAX_PACKETS} from '../../src/constants.js'
import type {StaticPublicKey} from '../../src/keys/merkle-assembler.js'
import type {TunnelSession} from '../../src/session/tunnel-session.js'

export type ClientPeerState = 'idle' | 'connecting' | 'up' | 'failed'

export interface ClientPeer {
  keyHashHex: string
  keyHash: Uint8Array
  name: string
  internalAddr: number
  realAddr: Uint8Array
  realAddrText: string
  pqcPort?: number
  keyPort?: number
  state: ClientPeerState
  session?: TunnelSession
  tidKey?: string
  /** Packets waiting for the tunnel, oldest first; bounded by PEER_QUEUE_MAX_PACKETS. */
  queue: Buffer[]
  staticKey?: StaticPublicKey
  connectStartedS: number
  /** The applications were told (ICMP) that this attempt is taking too long. */
  gaveUp: boolean
  failedAtS: number
  lastSendS: number
  /** When we first sent data that has had no authenticated answer yet (undefined: answered). */
  unansweredSinceS?: number
  /**
   * The server of the current tunnel sent an authenticated keepalive, so it answers data within
   * seconds (our servers do; a reference server never sends keepalives and answers only with
   * application data, so silence proves nothing there).
   */
  serverKeepsAlive?: boolean
  lastDataS: number
  lastUseMs: number
  handshakes: number
  bytesIn: number
  bytesOut: number
  lastError?: string
  /** Seconds from the start of the last connection attempt to the tunnel being confirmed. */
  lastConnectS?: number
}

/** Queue a packet for a peer whose tunnel is not up; the oldest is dropped beyond the bound. */
export function enqueue(peer: ClientPeer, packet: Uint8Array): void {
  if (peer.queue.length >= PEER_QUEUE_MAX_PACKETS) peer.queue.shift()
  peer.queue.push(Buffer.from(packet))
}
