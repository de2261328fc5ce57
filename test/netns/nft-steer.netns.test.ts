/**
 * The client table steering real traffic in the kernel (root). Topology:
 *
 *   ns app                                            ns far
 *   up0  198.51.100.2/24  <-------- veth -------->   up1  198.51.100.1/24 + 192.0.2.9/32 ("real" server)
 *   pqccli0 10.43.0.1/16  <-------- veth -------->   tun1 10.43.0.7/16 (the server's internal address)
 *
 * The veth named pqccli0 stands in for the TUN: what the table sends there arrives in `far` on
 * 10.43.0.7, where listeners report the address a packet arrived on and its source. Shown: UDP and
 * TCP to the real address go to the internal one (source masqueraded to 10.43.0.1, replies
 * de-NATed so the application sees the real address); our outer UDP to the crypto and key ports
 * stays direct (F-9); --capture-dns sends local port-53 traffic to 127.0.0.53 except the exempt
 * uid's; new connections from the tunnel are dropped unless allowed; forgetting a server and
 * `pqc cleanup` restore direct paths.
 */
import assert from 'node:assert/strict'
import type {ChildProcess} from 'node:child_process'
import {after, before, test} from 'node:test'

import {type ClientNftConfig, renderClientRuleset} from '../../src/nft/client-ruleset.js'
import {applyRuleset, listTable} from '../../router/nft/apply.js'
import {SystemNftRunner} from '../../router/nft/runner.js'
import {NetnsLab, lastJson, siblingScript, waitForExit, waitForJsonLine} from '../helpers/netns.js'
import {pqcIn} from './nft-cli.js'

interface Reply {
  at: string
  from: string
}
interface ProbeResult {
  reply: Reply | null
  peer: string | null
}
interface Probe {
  proto: 'udp' | 'tcp'
  host: string
  port: number
}

const REAL = '192.0.2.9'
const INTERNAL = '10.43.0.7'
const UPSTREAM_DNS = '198.51.100.1'
const NOBODY_UID = 65534
const CFG: ClientNftConfig = {
  tunName: 'pqccli0', tunAddr: '10.43.0.1', poolCidr: '10.43.0.0/16', inboundAllow: {tcp: [7001]},
  captureDns: {address: '127.0.0.53', port: 53, exemptUid: NOBODY_UID},
}
const SERVER = {realAddr: REAL, internalAddr: INTERNAL, pqcPort: 624, keyPort: 584}

let lab: NetnsLab
let app: string
let far: string
let nft: SystemNftRunner
const child = siblingScript(import.meta.url, 'nft-netns-child')

async function serve(ns: string, specs: string[]): Promise<ChildProcess> {
  const c = lab.nodeIn(ns, child, ['serve', ...specs])
  await waitForJsonLine(c, (v: {ready?: boolean}) => v.ready === true, 10_000)
  return c
}

async function probe(ns: string, probes: Probe[], uid?: number): Promise<ProbeResult[]> {
  const r = await waitForExit(lab.nodeIn(ns, child, ['probe', JSON.stringify(probes)], {PQC_PROBE_UID: uid === undefined ? '' : String(uid)}), 30_000)
  assert.equal(r.code, 0, r.stderr)
  return lastJson<ProbeResult[]>(r.stdout)
}

const udp = (host: string, port: number): Probe => ({proto: 'udp', host, port})
const tcp = (host: string, port: number): Probe => ({proto: 'tcp', host, port})

before(async () => {
  lab = new NetnsLab()
  app = lab.addNamespace('napp')
  far = lab.addNamespace('nfar')
  lab.addVeth({ns: app, ifname: 'up0', cidrs: ['198.51.100.2/24']}, {ns: far, ifname: 'up1', cidrs: ['198.51.100.1/24', `${REAL}/32`]})
  lab.addVeth({ns: app, ifname: 'pqccli0', cidrs: ['10.43.0.1/16']}, {ns: far, ifname: 'tun1', cidrs: [`${INTERNAL}/16`]})
  lab.execIn(app, 'ip', ['route', 'add', '192.0.2.0/24', 'via', UPSTREAM_DNS])
  nft = new SystemNftRunner({wrap: ['ip', 'netns', 'exec', app]})
  await serve(far, [
    `${REAL}:5000/udp`, `${INTERNAL}:5000/udp`, `${REAL}:624/udp`, `${INTERNAL}:624/udp`, `${REAL}:584/udp`, `${INTERNAL}:584/udp`,
    `${REAL}:8080/tcp`, `${INTERNAL}:8080/tcp`, `${UPSTREAM_DNS}:53/udp`, `${UPSTREAM_DNS}:53/tcp`,
  ])
  // In app: the stand-in resolver on 127.0.0.53, and services the tunnel may (7001) or may not (7000) reach.
  await serve(app, ['127.0.0.53:53/udp', '127.0.0.53:53/tcp', '10.43.0.1:7000/tcp', '10.43.0.1:7001/tcp'])
})

after(() => lab.cleanup())

test('without our table, flows to the real address go direct', async () => {
  const [u, t] = await probe(app, [udp(REAL, 5000), tcp(REAL, 8080)])
  assert.deepEqual(u!.reply, {at: `${REAL}:5000`, from: '198.51.100.2'})
  assert.deepEqual(t!.reply, {at: `${REAL}:8080`, from: '198.51.100.2'})
})

test('with the server in the map, UDP and TCP to its real address arrive on its internal address', async () => {
  applyRuleset(renderClientRuleset(CFG, [SERVER]), nft)
  const [u, t] = await probe(app, [udp(REAL, 5000), tcp(REAL, 8080)])
  assert.deepEqual(u!.reply, {at: `${INTERNAL}:5000`, from: '10.43.0.1'}, 'steered, source masqueraded to the TUN address')
  assert.equal(u!.peer, `${REAL}:5000`, 'the application sees the reply come from the real address')
  assert.deepEqual(t!.reply, {at: `${INTERNAL}:8080`, from: '10.43.0.1'})
  assert.equal(t!.peer, `${REAL}:8080`)
})

test('our outer UDP to the crypto and key ports is never steered (F-9)', async () => {
  const [c, k] = await probe(app, [udp(REAL, 624), udp(REAL, 584)])
  assert.deepEqual(c!.reply, {at: `${REAL}:624`, from: '198.51.100.2'})
  assert.deepEqual(k!.reply, {at: `${REAL}:584`, from: '198.51.100.2'})
})

test('--capture-dns: local port-53 traffic goes to the resolver, the exempt uid\'s goes upstream', async () => {
  const [u, t] = await probe(app, [udp(UPSTREAM_DNS, 53), tcp(UPSTREAM_DNS, 53)])
  assert.equal(u!.reply?.at, '127.0.0.53:53')
  assert.equal(u!.peer, `${UPSTREAM_DNS}:53`, 'the application sees its own resolver answer')
  assert.equal(t!.reply?.at, '127.0.0.53:53')
  const [x] = await probe(app, [udp(UPSTREAM_DNS, 53)], NOBODY_UID)
  assert.deepEqual(x!.reply, {at: `${UPSTREAM_DNS}:53`, from: '198.51.100.2'})
})

test('new connections from the tunnel are dropped and counted unless the port is allowed (X-1)', async () => {
  const [denied, allowed] = await probe(far, [tcp('10.43.0.1', 7000), tcp('10.43.0.1', 7001)])
  assert.equal(denied!.reply, null)
  assert.deepEqual(allowed!.reply, {at: '10.43.0.1:7001', from: INTERNAL})
  const dropRule = listTable(nft)!.find((o) => JSON.stringify(o).includes('no new connections from the tunnel')
    && (o as {rule: {chain: string}}).rule.chain === 'filter_input')
  const packets = JSON.stringify(dropRule).match(/"packets":(\d+)/)
  assert.ok(packets !== null && Number(packets[1]) >= 1, JSON.stringify(dropRule))
})

test('a server leaving the map and pqc cleanup both restore the direct path', async () => {
  applyRuleset(renderClientRuleset(CFG, []), nft)
  const [u] = await probe(app, [udp(REAL, 5000)])
  assert.deepEqual(u!.reply, {at: `${REAL}:5000`, from: '198.51.100.2'})
  applyRuleset(renderClientRuleset(CFG, [SERVER]), nft)
  const [again] = await probe(app, [udp(REAL, 5000)])
  assert.equal(again!.reply?.at, `${INTERNAL}:5000`)
  for (const expected of ['removed', 'absent']) {
    const r = await pqcIn(lab, app, ['cleanup', '--json', '--socket-dir', '/nonexistent'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal((JSON.parse(r.stdout) as {table: string}).table, expected)
  }
  const [u2, t2, d2] = await probe(app, [udp(REAL, 5000), tcp(REAL, 8080), udp(UPSTREAM_DNS, 53)])
  assert.deepEqual(u2!.reply, {at: `${REAL}:5000`, from: '198.51.100.2'})
  assert.deepEqual(t2!.reply, {at: `${REAL}:8080`, from: '198.51.100.2'})
  assert.deepEqual(d2!.reply, {at: `${UPSTREAM_DNS}:53`, from: '198.51.100.2'})
})
