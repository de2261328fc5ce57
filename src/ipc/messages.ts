/**
 * The vocabulary of the control channels (architecture.md section 3) and its validation. The
 * resolver tells the router about each announced server ("peer-announced") and gets its internal
 * address back ("peer-address") or a refusal; either side may say a peer is gone. The CLI asks
 * the resolver for its status. decodeMessage never throws: anything malformed is undefined.
 */
import {IPC_MAX_FRAME_BYTES, PQ1_MAX_A_RECORDS} from '../constants.js'

export interface PeerAnnounced {
  type: 'peer-announced'
  /** Request id, echoed in the reply. */
  id: number
  /** The pq1 name (owner of the A records, or the chain name carrying the label). */
  name: string
  /** Hex of the 32-byte key hash. */
  keyHash: string
  realAddrs: string[]
  pqcPort?: number
  keyPort?: number
}
export interface PeerAddress { type: 'peer-address'; id: number; internalAddr: string }
export interface PeerRefused { type: 'peer-refused'; id: number; reason: string }
export interface PeerGone { type: 'peer-gone'; keyHash: string }
export interface StatusRequest { type: 'status-request'; id: number }

export interface ServerInfo {
  name: string
  keyHash: string
  realAddrs: string[]
  internalAddr: string
  pqcPort?: number
  keyPort?: number
  /** Wall-clock milliseconds of the last answer that used this server. */
  lastUseMs: number
  /** 'router' when the router gave the address, 'local' from the resolver's allocator, 'gone'. */
  state: string
}
export interface UpstreamInfo { address: string; srttMs: number; timeouts: number; down: boolean }
export interface ResolverStatus {
  listen: string
  routerConnected: boolean
  counters: Record<string, number>
  upstreams: UpstreamInfo[]
  servers: ServerInfo[]
}
export interface Status { type: 'status'; id: number; status: ResolverStatus }

/** `pqc status` asks a router (client or server) what it is doing. */
export interface RouterStatusRequest { type: 'router-status-request'; id: number }
export interface RouterStatusBody {
  mode: 'client' | 'server'
  pid: number
  startedMs: number
  /** One record per peer: plain values only (names, addresses, states, byte counts, seconds). */
  peers: Array<Record<string, string | number | boolean | null>>
  counters: Record<string, number>
}
export interface RouterStatus { type: 'router-status'; id: number; status: RouterStatusBody }

export type IpcMessage = PeerAnnounced | PeerAddress | PeerRefused | PeerGone | StatusRequest | Status | RouterStatusRequest | RouterStatus

const isPlain = (v: unknown): boolean => v === null || ['string', 'number', 'boolean'].includes(typeof v)
function isRouterStatus(v: unknown): v is RouterStatusBody {
  return isObj(v) && (v.mode === 'client' || v.mode === 'server') && isId(v.pid) && typeof v.startedMs === 'number'
    && Array.isArray(v.peers) && v.peers.length <= IPC_MAX_FRAME_BYTES / 64
    && v.peers.every((p) => isObj(p) && Object.values(p).every(isPlain))
    && isObj(v.counters) && Object.values(v.counters).every((c) => typeof c === 'number')
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isId = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff
const isPort = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 0xffff
const isStr = (v: unknown, max = 1024): v is string => typeof v === 'string' && v.length <= max
const isKeyHash = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v)
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/
export const isIpv4 = (v: unknown): v is string => typeof v === 'string' && IPV4.test(v)
const optPort = (v: unknown): boolean => v === undefined || isPort(v)

function isServerInfo(v: unknown): v is ServerInfo {
  return isObj(v) && isStr(v.name, 255) && isKeyHash(v.keyHash) && Array.isArray(v.realAddrs) && v.realAddrs.every(isIpv4)
    && isIpv4(v.internalAddr) && optPort(v.pqcPort) && optPort(v.keyPort) && typeof v.lastUseMs === 'number' && isStr(v.state, 32)
}

function isStatus(v: unknown): v is ResolverStatus {
  return isObj(v) && isStr(v.listen) && typeof v.routerConnected === 'boolean' && isObj(v.counters)
    && Object.values(v.counters).every((c) => typeof c === 'number')
    && Array.isArray(v.upstreams) && v.upstreams.every((u) => isObj(u) && isStr(u.address) && typeof u.srttMs === 'number'
      && typeof u.timeouts === 'number' && typeof u.down === 'boolean')
    && Array.isArray(v.servers) && v.servers.length <= IPC_MAX_FRAME_BYTES / 64 && v.servers.every(isServerInfo)
}

export function decodeMessage(v: unknown): IpcMessage | undefined {
  if (!isObj(v)) return undefined
  switch (v.type) {
    case 'peer-announced':
      if (isId(v.id) && isStr(v.name, 255) && isKeyHash(v.keyHash) && Array.isArray(v.realAddrs)
        && v.realAddrs.length <= PQ1_MAX_A_RECORDS && v.realAddrs.every(isIpv4) && optPort(v.pqcPort) && optPort(v.keyPort)) {
        const m: PeerAnnounced = {type: v.type, id: v.id, name: v.name, keyHash: v.keyHash, realAddrs: [...v.realAddrs]}
        if (v.pqcPort !== undefined) m.pqcPort = v.pqcPort as number
        if (v.keyPort !== undefined) m.keyPort = v.keyPort as number
        return m
      }
      return undefined
    case 'peer-address':
      return isId(v.id) && isIpv4(v.internalAddr) ? {type: v.type, id: v.id, internalAddr: v.internalAddr} : undefined
    case 'peer-refused':
      return isId(v.id) && isStr(v.reason, 256) ? {type: v.type, id: v.id, reason: v.reason} : undefined
    case 'peer-gone':
      return isKeyHash(v.keyHash) ? {type: v.type, keyHash: v.keyHash} : undefined
    case 'status-request':
      return isId(v.id) ? {type: v.type, id: v.id} : undefined
    case 'router-status-request':
      return isId(v.id) ? {type: v.type, id: v.id} : undefined
    case 'router-status':
      return isId(v.id) && isRouterStatus(v.status) ? {type: v.type, id: v.id, status: v.status} : undefined
    case 'status':
      return isId(v.id) && isStatus(v.status) ? {type: v.type, id: v.id, status: v.status} : undefined
    default:
      return undefined
  }
}
