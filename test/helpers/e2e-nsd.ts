/**
 * The end-to-end test's authoritative DNS: the zone `test.` (www.test a CNAME to the server's
 * pq1 name, plain.test an ordinary A record) served by a real nsd inside the dns namespace
 * (`ip netns exec`), on port 53 of the namespace's address. Stopped through E2eTopology's cleanup.
 */
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {type E2eTopology, E2E_NET, type Service} from './e2e-topology.js'
import {nsdConf} from './nsd.js'

export interface E2eZone {
  /** The server's 63-character pq1 label (hash and ports), as `pqc server keygen --json` prints it. */
  pq1Label: string
  serverIp: string
  serverIp6: string
  dnsIp: string
}

/**
 * `www.test` -> CNAME -> `<pq1>.test` with both A and AAAA (the resolver must drop the AAAA so
 * dual-stack applications cannot bypass the tunnel); `plain.test` is A only; TTLs of 60 s so the
 * resolver's cache is exercised across lookups.
 */
export function e2eZone(z: E2eZone): string {
  return `$ORIGIN test.
$TTL 60
@ IN SOA ns.test. admin.test. 1 3600 600 86400 60
@ IN NS ns
ns IN A ${z.dnsIp}
www IN CNAME ${z.pq1Label}
${z.pq1Label} IN A ${z.serverIp}
${z.pq1Label} IN AAAA ${z.serverIp6}
plain IN A ${z.serverIp}
`
}

/** Starts nsd in `ns` listening on `${E2E_NET.dnsIp}:53` with `zone` as `test.`; resolves once it answers. */
export async function startNsdIn(topo: E2eTopology, ns: string, dir: string, zone: string): Promise<Service> {
  mkdirSync(dir, {recursive: true})
  writeFileSync(join(dir, 'test.zone'), zone)
  writeFileSync(join(dir, 'nsd.conf'), nsdConf(dir, E2E_NET.dnsIp, 53, {test: join(dir, 'test.zone')}))
  const nsd = topo.start('nsd', ns, 'nsd', ['-d', '-c', join(dir, 'nsd.conf')])
  await topo.waitReady(nsd, 'answer for plain.test', async () => {
    const r = await topo.exec(ns, 'dig', [`@${E2E_NET.dnsIp}`, '+short', '+time=1', '+tries=1', 'plain.test', 'A'], 5_000)
    return r.stdout.trim() === E2E_NET.serverIp
  }, 15_000)
  return nsd
}
