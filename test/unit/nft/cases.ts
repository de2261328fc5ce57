/**
 * The configurations rendered by the golden tests (test/golden/nft/NAME.json) and checked against
 * the real kernel by test/netns/nft.netns.test.ts: one list, so both tiers cover the same rulesets.
 */
import {type ClientNftConfig, type SteeredServer, renderClientRuleset} from '../../../src/nft/client-ruleset.js'
import type {NftBatch} from '../../../src/nft/json.js'
import {renderServerRuleset} from '../../../src/nft/server-ruleset.js'

export const CLIENT_BASE: ClientNftConfig = {tunName: 'pqccli0', tunAddr: '10.43.0.1', poolCidr: '10.43.0.0/16'}

export const ONE_SERVER: SteeredServer[] = [{realAddr: '192.0.2.9', internalAddr: '10.43.0.7', pqcPort: 624, keyPort: 584}]

export const THREE_SERVERS: SteeredServer[] = [
  {realAddr: '203.0.113.77', internalAddr: '10.43.0.9', pqcPort: 42424, keyPort: 42425},
  {realAddr: '192.0.2.9', internalAddr: '10.43.0.7', pqcPort: 624, keyPort: 584},
  {realAddr: '198.51.100.20', internalAddr: '10.43.1.2', pqcPort: 624, keyPort: 584},
]

export const CAPTURE_DNS: ClientNftConfig = {
  ...CLIENT_BASE,
  captureDns: {address: '127.0.0.53', port: 53, exemptUid: 998},
}

export const CLIENT_FULL: ClientNftConfig = {
  ...CLIENT_BASE,
  routerMark: 0x70716300,
  steerForwarded: true,
  inboundAllow: {tcp: [22, 8080], udp: [5353]},
  captureDns: {address: '127.0.0.53', port: 53, address6: '::1', exemptUid: 998, exemptMark: 0x70716301},
}

export interface GoldenCase {
  name: string
  render: () => NftBatch
}

export const GOLDEN_CASES: GoldenCase[] = [
  {name: 'client-0-servers', render: () => renderClientRuleset(CLIENT_BASE, [])},
  {name: 'client-1-server', render: () => renderClientRuleset(CLIENT_BASE, ONE_SERVER)},
  {name: 'client-3-servers', render: () => renderClientRuleset(CLIENT_BASE, THREE_SERVERS)},
  {name: 'client-1-server-capture-dns', render: () => renderClientRuleset(CAPTURE_DNS, ONE_SERVER)},
  {name: 'client-3-servers-all-options', render: () => renderClientRuleset(CLIENT_FULL, THREE_SERVERS)},
  {name: 'server', render: () => renderServerRuleset({pqcPort: 624, keyPort: 584, tunName: 'pqcserv0', poolCidr: '10.42.0.0/16'})},
  {name: 'server-bottle', render: () => renderServerRuleset({
    pqcPort: 42424, keyPort: 42425, tunName: 'pqcserv0', poolCidr: '10.42.0.0/16', hostIp: '192.0.2.50', masqueradeIfname: 'eth0',
  })},
  {name: 'server-bottle-allow-list', render: () => renderServerRuleset({
    pqcPort: 624, keyPort: 584, tunName: 'pqcserv0', poolCidr: '10.42.0.0/16', hostIp: '192.0.2.50',
    inboundAllow: {tcp: [80, 443], udp: [443]},
  })},
]
