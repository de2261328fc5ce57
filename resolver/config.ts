/**
 * Resolver configuration: defaults, `ADDR[:PORT]` parsing, the optional JSON config file, and
 * loop safety (dns-anchors.md row 17): an upstream that is our own listen address is refused,
 * since users point resolv.conf at us and reading upstreams from it would forward to ourselves.
 */
import {readFileSync} from 'node:fs'
import {isIP} from 'node:net'

import {CLIENT_POOL_CIDR, DNS_CACHE_MAX_ENTRIES, RESOLVER_LISTEN_DEFAULT} from '../src/constants.js'
import {LocalError} from '../src/errors.js'

export interface HostPort {
  host: string
  port: number
}

export interface ResolverConfig {
  listen: HostPort
  upstreams: HostPort[]
  /** Unix socket of the router (control channel); without it the resolver allocates addresses itself. */
  routerSocket?: string
  /** Unix socket where the resolver serves its status (counters, servers seen) to the CLI. */
  controlSocket?: string
  cacheEntries: number
  pool: string
  /** Log each query to stderr (off by default: privacy, dns-anchors.md row 16). */
  logQueries: boolean
  /** Sockets already bound by the root monitor (privilege separation), instead of binding `listen`. */
  listenFds?: {udp: number; tcp: number}
}

export const DEFAULT_CONTROL_SOCKET = '/run/pqc/resolver.sock'

/**
 * dgram's `lookup` option for the resolver's sockets, which only ever see literal addresses (the
 * listen address, each client's rinfo.address, upstreams: parseHostPort takes literals only). The
 * default, dns.lookup, passes literals through too, but on the next tick, which every send waits for.
 */
export function literalLookup(address: string, options: unknown, cb: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  // Node passes the socket's family (4 or 6) as a number; the type allows lookup options.
  const family = typeof options === 'number' ? options : (options as {family?: unknown} | null)?.family
  cb(null, address, family === 6 ? 6 : 4)
}

export function formatHostPort(h: HostPort): string {
  return isIP(h.host) === 6 ? `[${h.host}]:${h.port}` : `${h.host}:${h.port}`
}

/** Parse `1.2.3.4`, `1.2.3.4:5353`, `::1`, `[::1]:5353`. Only literal addresses. */
export function parseHostPort(text: string, defaultPort = 53, minPort = 1): HostPort {
  const bad = (): never => {
    throw new LocalError('PQC_ERR_ARGUMENT', `not an address[:port]: ${text}`)
  }
  let host = text.trim()
  let port = defaultPort
  const br = /^\[([^\]]+)\](?::(\d+))?$/.exec(host)
  if (br !== null) {
    host = br[1]!
    if (br[2] !== undefined) port = Number(br[2])
  } else if (isIP(host) !== 6) {
    const i = host.lastIndexOf(':')
    if (i >= 0) {
      port = Number(host.slice(i + 1))
      host = host.slice(0, i)
    }
  }
  if (isIP(host) === 0 || !Number.isInteger(port) || port < minPort || port > 65535) bad()
  return {host, port}
}

const isAny = (h: string): boolean => h === '0.0.0.0' || h === '::'
const isLoopback = (h: string): boolean => h.startsWith('127.') || h === '::1'

/** Would a query to `up` come back to the listener at `listen`? */
export function isSelf(up: HostPort, listen: HostPort): boolean {
  if (up.port !== listen.port) return false
  if (up.host === listen.host) return true
  return isAny(listen.host) && (isLoopback(up.host) || isAny(up.host))
}

export function resolveConfig(input: {
  listen?: string; upstreams?: string[]; config?: string; routerSocket?: string; controlSocket?: string; logQueries?: boolean
}): ResolverConfig {
  let file: Record<string, unknown> = {}
  if (input.config !== undefined) {
    try {
      const v = JSON.parse(readFileSync(input.config, 'utf8')) as unknown
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object')
      file = v as Record<string, unknown>
    } catch (err) {
      throw new LocalError('PQC_ERR_CONFIG_INVALID', `cannot read ${input.config}: ${(err as Error).message}`, {cause: err})
    }
  }
  const str = (k: string): string | undefined => {
    const v = file[k]
    if (v === undefined) return undefined
    if (typeof v !== 'string') throw new LocalError('PQC_ERR_CONFIG_INVALID', `config: ${k} must be a string`)
    return v
  }
  const fileUps = file.upstreams
  if (fileUps !== undefined && !(Array.isArray(fileUps) && fileUps.every((u) => typeof u === 'string'))) {
    throw new LocalError('PQC_ERR_CONFIG_INVALID', 'config: upstreams must be a list of strings')
  }
  const listen = parseHostPort(input.listen ?? str('listen') ?? RESOLVER_LISTEN_DEFAULT, 53, 0)
  const upTexts = input.upstreams !== undefined && input.upstreams.length > 0 ? input.upstreams : (fileUps as string[] | undefined) ?? []
  const upstreams = upTexts.map((u) => parseHostPort(u))
  if (upstreams.length === 0) {
    throw new LocalError('PQC_ERR_CONFIG_INVALID', 'no upstream DNS servers configured', {hint: 'pass --upstream ADDR[:PORT] or set "upstreams" in the config file'})
  }
  for (const u of upstreams) {
    if (isSelf(u, listen)) {
      throw new LocalError('PQC_ERR_CONFIG_INVALID', `upstream ${formatHostPort(u)} is this resolver's own listen address (forwarding loop)`)
    }
  }
  const cacheEntries = file.cacheEntries ?? DNS_CACHE_MAX_ENTRIES
  if (!Number.isInteger(cacheEntries) || (cacheEntries as number) < 1 || (cacheEntries as number) > 1_000_000) {
    throw new LocalError('PQC_ERR_CONFIG_INVALID', 'config: cacheEntries must be an integer in 1..1000000')
  }
  const cfg: ResolverConfig = {
    listen, upstreams, cacheEntries: cacheEntries as number, pool: str('pool') ?? CLIENT_POOL_CIDR,
    logQueries: input.logQueries ?? file.logQueries === true,
  }
  const router = input.routerSocket ?? str('routerSocket')
  if (router !== undefined) cfg.routerSocket = router
  const control = input.controlSocket ?? str('controlSocket')
  if (control !== undefined) cfg.controlSocket = control
  return cfg
}
