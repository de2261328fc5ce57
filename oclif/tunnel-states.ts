/**
 * The tunnel state of each PQConnect server, from the client router's status (for `pqc servers
 * list|show`, which otherwise only know what the resolver saw): key hash -> state ('up',
 * 'connecting', 'failed', 'idle'), or nothing when no router runs.
 */
import {queryRouterStatus} from './router-status-client.js'

export const DEFAULT_ROUTER_SOCKET = '/run/pqconnect/router.sock'

export async function tunnelStates(routerSocket: string): Promise<Map<string, string>> {
  const st = await queryRouterStatus(routerSocket)
  const out = new Map<string, string>()
  for (const p of st?.peers ?? []) if (typeof p.keyHash === 'string' && typeof p.state === 'string') out.set(p.keyHash, p.state)
  return out
}
