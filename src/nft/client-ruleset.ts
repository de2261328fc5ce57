/**
 * The client's table `inet pqconnect`, rendered whole from config + the servers the router knows
 * (architecture.md section 4): steering of flows to a server's real address into its internal
 * address, optional capture of local DNS, masquerade of what enters the TUN with a foreign source,
 * and no new inbound connections from the tunnel. Pure: values in, one nft JSON batch out.
 */
import {
  DNS_PORT, NFT_MAX_ALLOWED_PORTS, NFT_MAX_EXEMPT_ELEMENTS, NFT_MAX_STEERED_SERVERS,
} from '../constants.js'
import {LocalError} from '../errors.js'
import {
  type NftBatch, type NftExpr, type NftObject, accept, anonSet, baseChain, concat, counter, ct, dnatIpByMap, dnatTo,
  drop, jump, masquerade, match, meta, namedMap, namedSet, payload, prefix, regularChain, replaceTableBatch, ret, rule,
  setRef,
} from './json.js'
import {
  checkIfname, checkIpv4, checkIpv4Cidr, checkIpv6, checkPort, checkPorts, checkU32, ipv4InCidr, ipv4Number,
} from './validate.js'

export interface ClientNftConfig {
  /** required: the client TUN (architecture.md section 5: pqccli0). */
  tunName: string
  /** required: the TUN's address (10.43.0.1); what leaves through the TUN gets this source. */
  tunAddr: string
  /** required: the internal pool (10.43.0.0/16); internal addresses lie inside, real ones never. */
  poolCidr: string
  /** optional: SO_MARK of the router's outer sockets; such packets are never steered. Not 0. */
  routerMark?: number
  /** optional (default false): steer forwarded traffic too (client-in-a-bottle gateway). */
  steerForwarded?: boolean
  /** optional: ports that new connections from the tunnel may reach (default: none). */
  inboundAllow?: {tcp?: number[]; udp?: number[]}
  /** optional: --capture-dns, local applications' port-53 traffic to our resolver. */
  captureDns?: CaptureDnsConfig
}

export interface CaptureDnsConfig {
  /** required: the resolver's IPv4 listen address and port (127.0.0.53:53). */
  address: string
  port: number
  /** optional: an IPv6 listen address; without it, IPv6 DNS is left alone. */
  address6?: string
  /** The resolver's own upstream queries must not loop back: its uid, its SO_MARK, or both. */
  exemptUid?: number
  exemptMark?: number
}

/** One PQConnect server the client knows (filled as the resolver learns servers). */
export interface SteeredServer {
  /** The server's real IPv4 address, as in its A record. */
  realAddr: string
  /** Its address in our pool (10.43.x.y), where the router tunnels it. */
  internalAddr: string
  /** Its crypto and key ports: our own outer UDP to them is never steered. */
  pqcPort: number
  keyPort: number
}

// Chain priorities: dstnat (-100), srcnat (100), filter (0), as `nft` names them.
const PRIO_DSTNAT = -100
const PRIO_SRCNAT = 100
const PRIO_FILTER = 0

/** Addresses that are never a server's real address: 0/8, 127/8, 224/4 (multicast), 240/4. */
const NEVER_REAL: [string, number][] = [['0.0.0.0', 8], ['127.0.0.0', 8], ['224.0.0.0', 4], ['240.0.0.0', 4]]

function checkServers(servers: readonly SteeredServer[], pool: [string, number]): {
  steer: [string, string][]
  exempt: [string, number][]
} {
  if (servers.length > NFT_MAX_STEERED_SERVERS) {
    throw new LocalError('PQC_ERR_CONFIG_INVALID', `nft: ${servers.length} servers, at most ${NFT_MAX_STEERED_SERVERS}`)
  }
  const byReal = new Map<string, string>()
  const exempt = new Map<string, [string, number]>()
  for (const s of servers) {
    const real = checkIpv4(s.realAddr, 'server real address')
    const internal = checkIpv4(s.internalAddr, 'server internal address')
    if (!ipv4InCidr(internal, ...pool)) throw new LocalError('PQC_ERR_CONFIG_INVALID', `nft: internal address ${internal} outside the pool`)
    if (ipv4InCidr(real, ...pool) || NEVER_REAL.some(([n, l]) => ipv4InCidr(real, n, l))) {
      throw new LocalError('PQC_ERR_CONFIG_INVALID', `nft: ${real} cannot be a server's real address`)
    }
    // Two servers behind one real address: steering can pick only one; the lowest internal
    // address wins, so the result does not depend on the order the router lists them in.
    const prev = byReal.get(real)
    if (prev === undefined || ipv4Number(internal) < ipv4Number(prev)) byReal.set(real, internal)
    for (const port of [checkPort(s.pqcPort, 'crypto port'), checkPort(s.keyPort, 'key port')]) exempt.set(`${real}.${port}`, [real, port])
  }
  const byAddr = (a: string, b: string): number => ipv4Number(a) - ipv4Number(b)
  return {
    steer: [...byReal].sort((a, b) => byAddr(a[0], b[0])),
    exempt: [...exempt.values()].sort((a, b) => byAddr(a[0], b[0]) || a[1] - b[1]),
  }
}

const IPV4_DADDR = payload('ip', 'daddr')
const TCP_UDP = anonSet(['tcp', 'udp'])

/** `iifname TUN ct state invalid drop; ... allowed ports accept; ct state new counter drop`. */
function inboundRules(chain: string, tun: string, allow: boolean): NftObject[] {
  const fromTun = match(meta('iifname'), tun)
  const isNew = match(ct('state'), 'new', 'in')
  const out: NftObject[] = [rule(chain, [fromTun, match(ct('state'), 'invalid', 'in'), drop()])]
  if (allow) {
    out.push(rule(chain, [fromTun, isNew, match(payload('tcp', 'dport'), setRef('inbound_tcp')), accept()]))
    out.push(rule(chain, [fromTun, isNew, match(payload('udp', 'dport'), setRef('inbound_udp')), accept()]))
  }
  out.push(rule(chain, [fromTun, isNew, counter(), drop()], 'pqc: no new connections from the tunnel'))
  return out
}

function dnsCaptureRules(c: CaptureDnsConfig): NftObject[] {
  const address = checkIpv4(c.address, 'DNS capture address')
  const port = checkPort(c.port, 'DNS capture port')
  if (c.exemptUid === undefined && c.exemptMark === undefined) {
    throw new LocalError('PQC_ERR_CONFIG_INVALID', 'nft: --capture-dns needs the resolver exempt by uid or mark, or its upstream queries loop',
      {hint: 'run the resolver as its own user, or give its sockets a mark'})
  }
  const out: NftObject[] = []
  if (c.exemptUid !== undefined) out.push(rule('dns_capture', [match(meta('skuid'), checkU32(c.exemptUid, 'resolver uid')), ret()]))
  if (c.exemptMark !== undefined) out.push(rule('dns_capture', [match(meta('mark'), checkMark(c.exemptMark, 'resolver mark')), ret()]))
  // Already going to a local resolver (ours, or a stub): leave it.
  out.push(rule('dns_capture', [match(IPV4_DADDR, prefix('127.0.0.0', 8)), ret()]))
  out.push(rule('dns_capture', [match(meta('nfproto'), 'ipv4'), match(meta('l4proto'), TCP_UDP), dnatTo('ip', address, port)],
    'pqc: --capture-dns'))
  if (c.address6 !== undefined) {
    const address6 = checkIpv6(c.address6, 'DNS capture IPv6 address')
    out.push(rule('dns_capture', [match(payload('ip6', 'daddr'), '::1'), ret()]))
    out.push(rule('dns_capture', [match(meta('nfproto'), 'ipv6'), match(meta('l4proto'), TCP_UDP), dnatTo('ip6', address6, port)],
      'pqc: --capture-dns'))
  }
  return out
}

function checkMark(value: number, what: string): number {
  const mark = checkU32(value, what)
  // Mark 0 is every unmarked packet: exempting it would exempt everything.
  if (mark === 0) throw new LocalError('PQC_ERR_CONFIG_INVALID', `nft: ${what} must not be 0`)
  return mark
}

/**
 * Renders the client table. Why the exemption is by destination: our own outer UDP goes to a
 * server's real address and its crypto or key port, so the set `exempt4` of (real address . port)
 * pairs keeps exactly those flows direct, whichever socket, uid or process sends them, and needs
 * no privilege (SO_MARK needs CAP_NET_ADMIN, and a uid match cannot tell the router from other
 * root processes while everything runs as root). An application's own UDP to those two ports stays
 * direct as well, which is harmless: they carry only pq1. `routerMark` adds a mark match on top.
 * The map and the set change in the same transaction, so there is never a moment when a server
 * is steered but its ports are not exempt (F-9). Rule count does not grow with servers (F-6).
 */
export function renderClientRuleset(cfg: ClientNftConfig, servers: readonly SteeredServer[]): NftBatch {
  const tun = checkIfname(cfg.tunName, 'TUN name')
  const tunAddr = checkIpv4(cfg.tunAddr, 'TUN address')
  const pool = checkIpv4Cidr(cfg.poolCidr, 'pool')
  if (!ipv4InCidr(tunAddr, ...pool)) throw new LocalError('PQC_ERR_CONFIG_INVALID', `nft: TUN address ${tunAddr} outside the pool`)
  const {steer, exempt} = checkServers(servers, pool)
  const allowTcp = checkPorts(cfg.inboundAllow?.tcp ?? [], 'inbound TCP port', NFT_MAX_ALLOWED_PORTS)
  const allowUdp = checkPorts(cfg.inboundAllow?.udp ?? [], 'inbound UDP port', NFT_MAX_ALLOWED_PORTS)
  const exemptMatch = match(concat([IPV4_DADDR, payload('udp', 'dport')]), setRef('exempt4'))

  const objects: NftObject[] = [
    namedMap('steer4', 'ipv4_addr', 'ipv4_addr', NFT_MAX_STEERED_SERVERS, steer),
    namedSet('exempt4', ['ipv4_addr', 'inet_service'], NFT_MAX_EXEMPT_ELEMENTS,
      exempt.map(([a, p]): NftExpr => concat([a, p]))),
    namedSet('inbound_tcp', 'inet_service', NFT_MAX_ALLOWED_PORTS, allowTcp),
    namedSet('inbound_udp', 'inet_service', NFT_MAX_ALLOWED_PORTS, allowUdp),
    baseChain('nat_output', 'nat', 'output', PRIO_DSTNAT),
  ]
  if (cfg.captureDns !== undefined) objects.push(regularChain('dns_capture'))
  if (cfg.steerForwarded === true) objects.push(baseChain('nat_prerouting', 'nat', 'prerouting', PRIO_DSTNAT))
  objects.push(
    baseChain('nat_postrouting', 'nat', 'postrouting', PRIO_SRCNAT),
    baseChain('filter_input', 'filter', 'input', PRIO_FILTER),
    baseChain('filter_forward', 'filter', 'forward', PRIO_FILTER),
  )

  // nat_output: locally generated flows; DNAT decides on a flow's first packet only (conntrack).
  if (cfg.routerMark !== undefined) objects.push(rule('nat_output', [match(meta('mark'), checkMark(cfg.routerMark, 'router mark')), ret()]))
  if (cfg.captureDns !== undefined) {
    objects.push(rule('nat_output', [match(meta('l4proto'), TCP_UDP), match(payload('th', 'dport'), DNS_PORT), jump('dns_capture')]))
    objects.push(...dnsCaptureRules(cfg.captureDns))
  }
  objects.push(rule('nat_output', [exemptMatch, ret()], 'pqc: our outer UDP is never steered'))
  objects.push(rule('nat_output', [dnatIpByMap(IPV4_DADDR, 'steer4')], 'pqc: real address -> internal address'))

  if (cfg.steerForwarded === true) {
    objects.push(rule('nat_prerouting', [match(meta('iifname'), tun), ret()]))
    objects.push(rule('nat_prerouting', [exemptMatch, ret()]))
    objects.push(rule('nat_prerouting', [dnatIpByMap(IPV4_DADDR, 'steer4')], 'pqc: real address -> internal address'))
  }

  // The router rewrites a reply's destination to the TUN address (pq1-protocol.md section 3.3),
  // so a steered flow (source: the uplink's address) or a forwarded one must carry that source
  // for conntrack to match the reply.
  objects.push(rule('nat_postrouting', [match(meta('oifname'), tun), match(payload('ip', 'saddr'), tunAddr, '!='), masquerade()]))

  objects.push(...inboundRules('filter_input', tun, true))
  objects.push(...inboundRules('filter_forward', tun, false))
  return replaceTableBatch(objects)
}
