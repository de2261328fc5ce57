/**
 * The server's table `inet pqconnect`, rendered whole from config (architecture.md section 4):
 * accept for the crypto and key ports, an optional allow list for new connections arriving from
 * the tunnel (security-tests.md X-2), and the masquerade that server-in-a-bottle needs, which the
 * reference leaves sysadmins to type by hand. Pure: config in, one nft JSON batch out.
 */
import {NFT_MAX_ALLOWED_PORTS} from '../constants.js'
import {LocalError} from '../errors.js'
import {
  type NftBatch, type NftObject, accept, anonSet, baseChain, counter, ct, drop, masquerade, match, meta, namedSet,
  payload, prefix, replaceTableBatch, rule, setRef,
} from './json.js'
import {checkIfname, checkIpv4, checkIpv4Cidr, checkPort, checkPorts, ipv4InCidr} from './validate.js'

export interface ServerNftConfig {
  /** required: the crypto and key ports (architecture.md section 5: 624 / 584, or 42424 / 42425). */
  pqcPort: number
  keyPort: number
  /** required: the server TUN (pqcserv0) and its pool of client addresses (10.42.0.0/16). */
  tunName: string
  poolCidr: string
  /**
   * optional: server-in-a-bottle. Decrypted packets go to this host instead of the TUN address
   * (router/server/server-router.ts), so they leave this machine with a pool source: masquerade.
   */
  hostIp?: string
  /** optional, with hostIp: the interface toward hostIp; the masquerade applies only there. */
  masqueradeIfname?: string
  /** optional: if set, new connections from the tunnel may reach only these ports (default: all). */
  inboundAllow?: {tcp?: number[]; udp?: number[]}
}

const PRIO_SRCNAT = 100
const PRIO_FILTER = 0

/** New connections from the tunnel, in input (services here) and forward (bottle: services on hostIp). */
function allowListRules(chain: string, tun: string): NftObject[] {
  const fromTun = match(meta('iifname'), tun)
  const isNew = match(ct('state'), 'new', 'in')
  return [
    rule(chain, [fromTun, isNew, match(payload('tcp', 'dport'), setRef('inbound_tcp')), accept()]),
    rule(chain, [fromTun, isNew, match(payload('udp', 'dport'), setRef('inbound_udp')), accept()]),
    rule(chain, [fromTun, isNew, counter(), drop()], 'pqc: port not in the allow list'),
  ]
}

/** Renders the server table. */
export function renderServerRuleset(cfg: ServerNftConfig): NftBatch {
  const pqcPort = checkPort(cfg.pqcPort, 'crypto port')
  const keyPort = checkPort(cfg.keyPort, 'key port')
  if (pqcPort === keyPort) throw new LocalError('PQC_ERR_CONFIG_INVALID', `nft: crypto and key port are both ${pqcPort}`)
  const tun = checkIfname(cfg.tunName, 'TUN name')
  const [poolNet, poolLen] = checkIpv4Cidr(cfg.poolCidr, 'pool')
  const hostIp = cfg.hostIp === undefined ? undefined : checkIpv4(cfg.hostIp, 'host IP')
  if (hostIp !== undefined && ipv4InCidr(hostIp, poolNet, poolLen)) {
    throw new LocalError('PQC_ERR_CONFIG_INVALID', `nft: host IP ${hostIp} inside the pool ${poolNet}/${poolLen}`)
  }
  if (cfg.masqueradeIfname !== undefined && hostIp === undefined) {
    throw new LocalError('PQC_ERR_CONFIG_INVALID', 'nft: a masquerade interface needs a host IP (server-in-a-bottle)')
  }
  const oif = cfg.masqueradeIfname === undefined ? undefined : checkIfname(cfg.masqueradeIfname, 'masquerade interface')
  const allow = cfg.inboundAllow === undefined ? undefined : {
    tcp: checkPorts(cfg.inboundAllow.tcp ?? [], 'inbound TCP port', NFT_MAX_ALLOWED_PORTS),
    udp: checkPorts(cfg.inboundAllow.udp ?? [], 'inbound UDP port', NFT_MAX_ALLOWED_PORTS),
  }

  const objects: NftObject[] = []
  if (allow !== undefined) {
    objects.push(namedSet('inbound_tcp', 'inet_service', NFT_MAX_ALLOWED_PORTS, allow.tcp))
    objects.push(namedSet('inbound_udp', 'inet_service', NFT_MAX_ALLOWED_PORTS, allow.udp))
  }
  objects.push(baseChain('filter_input', 'filter', 'input', PRIO_FILTER))
  if (allow !== undefined && hostIp !== undefined) objects.push(baseChain('filter_forward', 'filter', 'forward', PRIO_FILTER))
  if (hostIp !== undefined) objects.push(baseChain('nat_postrouting', 'nat', 'postrouting', PRIO_SRCNAT))

  const ports = [pqcPort, keyPort].sort((a, b) => a - b)
  objects.push(rule('filter_input', [match(payload('udp', 'dport'), anonSet(ports)), accept()], 'pqc: crypto and key ports'))
  if (allow !== undefined) {
    objects.push(...allowListRules('filter_input', tun))
    if (hostIp !== undefined) objects.push(...allowListRules('filter_forward', tun))
  }
  if (hostIp !== undefined) {
    const expr = [
      ...(oif === undefined ? [] : [match(meta('oifname'), oif)]),
      match(payload('ip', 'saddr'), prefix(poolNet, poolLen)),
      match(payload('ip', 'daddr'), hostIp),
      masquerade(),
    ]
    objects.push(rule('nat_postrouting', expr, 'pqc: server-in-a-bottle'))
  }
  return replaceTableBatch(objects)
}
