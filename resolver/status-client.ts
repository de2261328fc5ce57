/**
 * Client side of the resolver's status socket for `pqc servers list/show`: fetch with a clear
 * error when the resolver is not running, and the table row of one server.
 */
import {LocalError} from '../src/errors.js'
import type {ResolverStatus, ServerInfo} from '../src/ipc/messages.js'
import {requestStatus} from './control.js'

export async function fetchStatus(path: string): Promise<ResolverStatus> {
  try {
    return await requestStatus(path)
  } catch (err) {
    throw new LocalError('PQC_ERR_IO', `cannot reach the resolver at ${path}: ${(err as Error).message}`, {
      cause: err, hint: 'is `pqc resolver start` running? pass --control-socket if it uses another path',
    })
  }
}

export const shortHash = (h: string): string => h.slice(0, 12)

export function formatServer(s: ServerInfo): string[] {
  const ports = s.pqcPort === undefined ? '-' : `${s.pqcPort}/${s.keyPort ?? '-'}`
  const last = new Date(s.lastUseMs).toISOString()
  return [s.name, shortHash(s.keyHash), s.realAddrs.join(','), s.internalAddr, ports, s.state, last]
}
