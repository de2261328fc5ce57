/**
 * The keys of pqc's one configuration file (pqc.conf(5), default /etc/pqconnect/pqc.json): for
 * each, its section, the flag of `pqc client start` / `pqc server start` that overrides it, its
 * built-in default and a validator that turns a JSON value into the typed value or says, in a few
 * words, what is wrong. The keys are spelt like the flags. No file reading here (config-file.ts).
 */
import {isIP} from 'node:net'

import {parseHostPort} from '../resolver/config.js'
import {DEFAULT_CONFIG_DIR} from '../router/keys/config-dir.js'
import {DEFAULT_KEYDIR} from '../router/keys/keydir.js'
import {
  KEYPORT_PQC_DEFAULT, NFT_MAX_ALLOWED_PORTS, PQCPORT_CLIENT, PQCPORT_PQC_DEFAULT, RESOLVER_LISTEN_DEFAULT,
} from '../src/constants.js'

export interface InboundAllow {
  tcp: number[]
  udp: number[]
}

export interface ClientSettings {
  'listen': string
  'upstreams': string[]
  'tun': string
  'tun-addr': string
  'port': number
  'mtu': number
  'cache-dir': string
  'capture-dns': boolean
  'inbound-allow': InboundAllow
}

export interface ServerSettings {
  'keydir': string
  'config-dir': string
  'pqcport': number
  'keyport': number
  'bind': string
  'tun': string
  'tun-addr': string
  'mtu': number
  'host-ip': string | undefined
}

export interface Settings {
  client: ClientSettings
  server: ServerSettings
}

export type SectionName = keyof Settings

/** A validator gives the typed value, or says in a few words what the value must be. */
export type CheckResult<T> = {ok: true; value: T} | {ok: false; error: string}
type Check<T> = (v: unknown) => CheckResult<T>

export interface KeySpec<T> {
  /** The flag that overrides the key (without dashes). */
  flag: string
  default: T
  check: Check<T>
  /** One line for `pqc config show` and the man page. */
  description: string
}

const bad = (error: string): {ok: false; error: string} => ({ok: false, error})
const good = <T>(value: T): {ok: true; value: T} => ({ok: true, value})

const int = (min: number, max: number): Check<number> => (v) =>
  Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? good(v as number) : bad(`an integer in ${min}..${max}`)

const port: Check<number> = int(1, 65535)

const str = (what: string, ok: (s: string) => boolean): Check<string> => (v) =>
  typeof v === 'string' && ok(v) ? good(v) : bad(what)

const hostPort: Check<string> = (v) => {
  if (typeof v !== 'string') return bad('a string ADDR[:PORT]')
  try {
    parseHostPort(v, 53, 0)
    return good(v)
  } catch {
    return bad('a literal IP address with an optional port, e.g. 127.0.0.53:53 or [::1]:53')
  }
}

const ipv4 = str('an IPv4 address', (s) => isIP(s) === 4)

const cidr4 = str('an IPv4 address with a prefix length 8..30, e.g. 10.43.0.1/16', (s) => {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(s)
  return m !== null && isIP(m[1]!) === 4 && Number(m[2]) >= 8 && Number(m[2]) <= 30
})

/** Linux interface names: at most IFNAMSIZ - 1 = 15 bytes, no slash or white space. */
const ifname = str('an interface name of 1 to 15 letters, digits, -, _ or .', (s) => /^[A-Za-z0-9_.-]{1,15}$/.test(s))

const path = str('a non-empty path', (s) => s.length > 0 && !s.includes('\0'))

const bool: Check<boolean> = (v) => (typeof v === 'boolean' ? good(v) : bad('true or false'))

const mtu = int(576, 9000)

const upstreamList: Check<string[]> = (v) => {
  if (!Array.isArray(v)) return bad('a list of ADDR[:PORT] strings')
  for (const u of v) {
    if (!hostPort(u).ok) return bad(`a list of ADDR[:PORT] strings; ${JSON.stringify(u)} is not one`)
  }
  return good([...v] as string[])
}

const inboundAllow: Check<InboundAllow> = (v) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad('an object {"tcp": [PORT...], "udp": [PORT...]}')
  const out: InboundAllow = {tcp: [], udp: []}
  for (const [k, list] of Object.entries(v)) {
    if (k !== 'tcp' && k !== 'udp') return bad(`an object with only "tcp" and "udp" lists; "${k}" is not one`)
    if (!Array.isArray(list) || list.length > NFT_MAX_ALLOWED_PORTS || !list.every((p) => port(p).ok)) {
      return bad(`an object whose "${k}" is a list of at most ${NFT_MAX_ALLOWED_PORTS} ports 1..65535`)
    }
    out[k] = [...list] as number[]
  }
  return good(out)
}

/** The flag form of inbound-allow: repeated PROTO/PORT, e.g. tcp/22 udp/5353. */
export function parseInboundAllow(items: string[]): CheckResult<InboundAllow> {
  const out: InboundAllow = {tcp: [], udp: []}
  for (const it of items) {
    const m = /^(tcp|udp)\/(\d{1,5})$/.exec(it.trim().toLowerCase())
    if (m === null || !port(Number(m[2])).ok) return bad(`PROTO/PORT like tcp/22 or udp/5353; ${JSON.stringify(it)} is not`)
    out[m[1] as 'tcp' | 'udp'].push(Number(m[2]))
  }
  return inboundAllow(out)
}

const optional = <T>(c: Check<T>): Check<T | undefined> => (v) => (v === undefined || v === null ? good(undefined) : c(v))

type Schema<T> = {[K in keyof T]-?: KeySpec<T[K]>}

export const CLIENT_KEYS: Schema<ClientSettings> = {
  'listen': {flag: 'listen', default: RESOLVER_LISTEN_DEFAULT, check: hostPort, description: 'address and port of the local DNS proxy'},
  'upstreams': {flag: 'upstream', default: [], check: upstreamList, description: 'upstream DNS resolvers, in failover order (at least one is needed)'},
  'tun': {flag: 'tun', default: 'pqccli0', check: ifname, description: 'TUN device name'},
  'tun-addr': {flag: 'tun-addr', default: '10.43.0.1/16', check: cidr4, description: 'TUN address and prefix; servers get addresses in that subnet'},
  'port': {flag: 'port', default: PQCPORT_CLIENT, check: port, description: 'local UDP port of the tunnels'},
  'mtu': {flag: 'mtu', default: 1280, check: mtu, description: 'TUN MTU'},
  'cache-dir': {flag: 'cache-dir', default: '/var/cache/pqconnect', check: path, description: 'where verified server keys are kept'},
  'capture-dns': {flag: 'capture-dns', default: false, check: bool, description: 'redirect every DNS query on port 53 to the local proxy'},
  'inbound-allow': {flag: 'inbound-allow', default: {tcp: [], udp: []}, check: inboundAllow, description: 'ports servers may open new connections to through the tunnel'},
}

export const SERVER_KEYS: Schema<ServerSettings> = {
  'keydir': {flag: 'keydir', default: DEFAULT_KEYDIR, check: path, description: 'key directory (reference format); $KEYPATH overrides the default'},
  'config-dir': {flag: 'config-dir', default: DEFAULT_CONFIG_DIR, check: path, description: 'the reference\'s config directory (pqcport, keyport, host files)'},
  'pqcport': {flag: 'pqcport', default: PQCPORT_PQC_DEFAULT, check: port, description: 'UDP port of the crypto (handshake and tunnel) server'},
  'keyport': {flag: 'keyport', default: KEYPORT_PQC_DEFAULT, check: port, description: 'UDP port of the key server'},
  'bind': {flag: 'bind', default: '0.0.0.0', check: ipv4, description: 'local IPv4 address of the two UDP sockets'},
  'tun': {flag: 'tun', default: 'pqcserv0', check: ifname, description: 'TUN device name'},
  'tun-addr': {flag: 'tun-addr', default: '10.42.0.1/16', check: cidr4, description: 'TUN address and prefix; the client pool is that subnet'},
  'mtu': {flag: 'mtu', default: 1280, check: mtu, description: 'TUN MTU'},
  'host-ip': {flag: 'host-ip', default: undefined, check: optional(ipv4), description: 'inner destination of decrypted packets (server-in-a-bottle); none: the TUN address'},
}

export const SCHEMA = {client: CLIENT_KEYS, server: SERVER_KEYS} as const
