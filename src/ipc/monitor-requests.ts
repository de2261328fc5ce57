/**
 * The request vocabulary between the root monitor and its unprivileged workers (architecture.md
 * section 3; security-tests.md P-1, P-2): three requests, each checked field by field before the
 * monitor acts. Anything else gets a typed refusal; nothing a worker sends is ever interpolated
 * into a command line (the monitor renders nftables JSON from validated values only).
 */
import {MONITOR_MAX_REQUEST_BYTES, NFT_MAX_STEERED_SERVERS} from '../constants.js'
import {isIpv4} from './messages.js'

/** The worker is up and serving (its sockets adopted, its control socket listening). */
export interface ReadyRequest { t: 'ready'; id: number }
/** The client router's full set of servers to steer (replaces the previous set). */
export interface SteerRequest {
  t: 'steer'
  id: number
  servers: Array<{realAddr: string; internalAddr: string; pqcPort: number; keyPort: number}>
}
/** Liveness probe; answered with ok. */
export interface PingRequest { t: 'ping'; id: number }
export type MonitorRequest = ReadyRequest | SteerRequest | PingRequest

export type MonitorReplyCode = 'bad-request' | 'not-allowed' | 'refused' | 'failed'
export type MonitorReply = {t: 'ok'; id: number} | {t: 'error'; id: number; code: MonitorReplyCode; message: string}

export type WorkerRole = 'client-router' | 'resolver' | 'server-router'

/** Which requests each worker may make (the resolver may never touch nftables). */
const ALLOWED: Record<WorkerRole, ReadonlyArray<MonitorRequest['t']>> = {
  'client-router': ['ready', 'steer', 'ping'],
  'resolver': ['ready', 'ping'],
  'server-router': ['ready', 'ping'],
}

export type ParsedRequest = {ok: true; request: MonitorRequest} | {ok: false; reply: MonitorReply}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isId = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff
const isPort = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 0xffff
const hasExactly = (o: Record<string, unknown>, keys: string[]): boolean => {
  const k = Object.keys(o)
  return k.length === keys.length && keys.every((x) => Object.hasOwn(o, x))
}

function isSteerEntry(v: unknown): boolean {
  return isObj(v) && hasExactly(v, ['realAddr', 'internalAddr', 'pqcPort', 'keyPort'])
    && isIpv4(v.realAddr) && isIpv4(v.internalAddr) && isPort(v.pqcPort) && isPort(v.keyPort)
}

/**
 * Checks one message from a worker of the given role. Never throws. `sizeBytes` is the message's
 * serialized size when known (the IPC channel has already parsed it): oversized is refused too.
 */
export function parseMonitorRequest(v: unknown, role: WorkerRole, sizeBytes = 0): ParsedRequest {
  const id = isObj(v) && isId(v.id) ? v.id : 0
  const refuse = (code: MonitorReplyCode, message: string): ParsedRequest => ({ok: false, reply: {t: 'error', id, code, message}})
  if (sizeBytes > MONITOR_MAX_REQUEST_BYTES) return refuse('bad-request', `request of ${sizeBytes} bytes, at most ${MONITOR_MAX_REQUEST_BYTES}`)
  if (!isObj(v) || !isId(v.id) || typeof v.t !== 'string') return refuse('bad-request', 'not a request object with t and id')
  const t = v.t
  if (!['ready', 'steer', 'ping'].includes(t)) return refuse('bad-request', `unknown request '${t.slice(0, 32)}'`)
  if (!ALLOWED[role].includes(t as MonitorRequest['t'])) return refuse('not-allowed', `'${t}' is not allowed for the ${role} worker`)
  if (t === 'ready' || t === 'ping') {
    return hasExactly(v, ['t', 'id']) ? {ok: true, request: {t, id: v.id}} : refuse('bad-request', `'${t}' takes no fields`)
  }
  const servers = v.servers
  if (!hasExactly(v, ['t', 'id', 'servers']) || !Array.isArray(servers)) return refuse('bad-request', "'steer' takes servers: []")
  if (servers.length > NFT_MAX_STEERED_SERVERS) return refuse('bad-request', `${servers.length} servers, at most ${NFT_MAX_STEERED_SERVERS}`)
  const bad = servers.findIndex((s) => !isSteerEntry(s))
  if (bad >= 0) return refuse('bad-request', `servers[${bad}] is not {realAddr, internalAddr, pqcPort, keyPort}`)
  const copy = (servers as SteerRequest['servers']).map((s) => ({realAddr: s.realAddr, internalAddr: s.internalAddr, pqcPort: s.pqcPort, keyPort: s.keyPort}))
  return {ok: true, request: {t: 'steer', id: v.id, servers: copy}}
}
