/**
 * Wiring of the resolver process: counters, upstream pool, cache, announcer (router link or own
 * allocator), pipeline, listeners and control socket. `startResolver` returns a handle whose
 * close() releases every socket and timer it opened.
 */
import {AddressPool} from '../src/dns/address-pool.js'
import type {ResolverStatus} from '../src/ipc/messages.js'
import {Announcer} from './announce.js'
import {AnswerCache} from './cache.js'
import {type ResolverConfig, formatHostPort} from './config.js'
import {serveControl} from './control.js'
import {type Counters, newCounters} from './counters.js'
import {Resolver} from './resolve.js'
import {RouterLink} from './router-link.js'
import {listen} from './server.js'
import {UpstreamPool} from './upstream.js'

export interface RunningResolver {
  port: number
  counters: Counters
  status(): ResolverStatus
  close(): Promise<void>
}

export async function startResolver(cfg: ResolverConfig): Promise<RunningResolver> {
  const counters = newCounters()
  const upstreams = new UpstreamPool(cfg.upstreams, counters)
  const cache = new AnswerCache(cfg.cacheEntries)
  const pool = new AddressPool(cfg.pool)
  // The router's "peer gone" and the announcer's TXT lookups call objects made just below.
  const router = cfg.routerSocket === undefined ? undefined
    : new RouterLink(cfg.routerSocket, (m) => ann.peerGone(m.keyHash), () => ann.reannounce())
  const ann: Announcer = new Announcer({router, pool, now: () => Date.now(), lookupTxt: (name) => r.lookupTxt(name)})
  const r = new Resolver({upstreams, cache, counters, announcer: ann, logQueries: cfg.logQueries})
  const listeners = await listen(cfg.listen, (b, t) => r.handleNow(b, t), counters, cfg.listenFds).catch((err: unknown) => {
    upstreams.close()
    router?.close()
    throw err
  })
  const status = (): ResolverStatus => ({
    listen: formatHostPort({host: cfg.listen.host, port: listeners.udpPort}),
    routerConnected: router?.connected === true,
    counters: {...counters, cacheEntries: cache.size},
    upstreams: upstreams.upstreams.map((u) => ({
      address: u.label, srttMs: Math.round(u.srttMs * 10) / 10, timeouts: u.consecutiveTimeouts, down: u.downUntilMs > Date.now(),
    })),
    servers: ann.servers(),
  })
  const control = cfg.controlSocket === undefined ? undefined : await serveControl(cfg.controlSocket, status)
  return {
    port: listeners.udpPort,
    counters,
    status,
    close: async () => {
      control?.close()
      router?.close()
      upstreams.close()
      await listeners.close()
    },
  }
}
