/**
 * Issue 7's newcomer flow, driven through the `pqc` CLI of this checkout (in CI a fresh clone) as
 * the README tells a user and a sysadmin to run it (root): `pqc install`; `pqc server keygen`;
 * `pqc server announce`, whose printed records are pasted as they are into an nsd zone; `pqc server
 * start` and `pqc client start` in namespaces (helpers/e2e-topology.ts, our own `h6uf` names); then
 * dig gives a 10.43 address, curl goes through it, `pqc servers list --json` shows the server with
 * the key hash keygen printed, `pqc status --json` shows the tunnel up; `pqc client stop` and
 * `pqc server stop` end both and their TUN devices are gone. About 30 s on an idle machine.
 */
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, test} from 'node:test'
import {promisify} from 'node:util'

import {HTTP_PORT, e2eBody, startAppServer} from '../helpers/e2e-apps.js'
import {CLIENT_LISTEN, CLIENT_TUN, PQC_BIN, SERVER_TUN} from '../helpers/e2e-pqc.js'
import {E2E_NET, E2eTopology, type Service, leftovers} from '../helpers/e2e-topology.js'
import {nsdConf} from '../helpers/nsd.js'

const run = promisify(execFile)
/** Milliseconds a daemon gets to create its TUN device and bind its ports. */
const READY_MS = 30_000
const NAME = 'www.test'

let topo: E2eTopology | undefined
let tmp = ''
after(async () => {
  await topo?.cleanup()
  if (tmp !== '') rmSync(tmp, {recursive: true, force: true})
})

const t0 = Date.now()
const step = (what: string): void => console.log(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`)

/** `pqc ARGS` on this host (not in a namespace); throws with stderr on a non-zero exit. */
async function pqc(args: string[], timeoutMs = 120_000): Promise<string> {
  try {
    return (await run(process.execPath, [PQC_BIN, ...args], {timeout: timeoutMs, encoding: 'utf8'})).stdout
  } catch (error) {
    const e = error as {code?: number; stderr?: string}
    throw new Error(`pqc ${args.join(' ')}: exit ${e.code}: ${e.stderr}`)
  }
}

/** `pqc ARGS` inside `ns`; returns stdout, throws with the daemons' logs otherwise. */
async function pqcIn(ns: string, args: string[]): Promise<string> {
  const r = await net().exec(ns, process.execPath, [PQC_BIN, ...args], 60_000)
  assert.equal(r.code, 0, `pqc ${args.join(' ')} in ${ns}: ${r.stderr}\n${net().logs()}`)
  return r.stdout
}

const net = (): E2eTopology => {
  if (topo === undefined) throw new Error('no topology')
  return topo
}

/** The zone a sysadmin publishes: SOA and NS, then the records `pqc server announce` printed. */
function zoneFrom(announceOutput: string): {zone: string; records: string[]} {
  const lines = announceOutput.split('\n')
  const start = lines.findIndex((l) => /^publish these records/.test(l))
  assert.ok(start >= 0, `announce printed no records:\n${announceOutput}`)
  const records = lines.slice(start + 1).map((l) => l.trim()).filter((l) => l !== '')
  const zone = ['$ORIGIN test.', '$TTL 60', '@ IN SOA ns.test. admin.test. 1 3600 600 86400 60', '@ IN NS ns',
    `ns IN A ${E2E_NET.dnsIp}`, ...records, ''].join('\n')
  return {zone, records}
}

test('a new user and a sysadmin: install, keygen, announce, start both sides, dig, curl, servers list, status, stop', async () => {
  tmp = mkdtempSync(join(tmpdir(), 'h6-user-flow-'))
  chmodSync(tmp, 0o755) // the workers run as pqconnect and must reach their sockets and cache here

  // 1. install (the pqconnect user the workers run as), keygen and announce, as the sysadmin
  // would; meanwhile the network and the web server come up (independent, so in parallel).
  const keydir = join(tmp, 'server', 'keys')
  const configDir = join(tmp, 'server', 'config')
  const sysadmin = (async () => {
    const installed = await pqc(['install', '--no-systemd'])
    assert.match(installed, /^user pqconnect: (ok|created)/m, installed)
    step('pqc install')
    const keys = JSON.parse(await pqc(['server', 'keygen', '--keydir', keydir, '--config-dir', configDir, '--json'])) as
      {keyHashHex: string; label: string; pqcPort: number; keyPort: number}
    assert.match(keys.keyHashHex, /^[0-9a-f]{64}$/)
    step(`pqc server keygen: ${keys.label}, ports ${keys.pqcPort}/${keys.keyPort}`)
    const announce = await pqc(['server', 'announce', '--keydir', keydir, '--config-dir', configDir, '--name', NAME, '--address', E2E_NET.serverIp])
    step('pqc server announce')
    return {keys, announce}
  })()
  topo = new E2eTopology('h6uf')
  const [{keys: keygen, announce}] = await Promise.all([sysadmin, startAppServer(topo, topo.server)])
  const {zone, records} = zoneFrom(announce)
  assert.ok(records.some((r) => r.startsWith(`${NAME}.`) && / CNAME /.test(r)), records.join('\n'))

  // 2. nsd serves the pasted records; pqc server and pqc client start (resolv.conf points at it).
  const nsdDir = join(tmp, 'nsd')
  mkdirSync(nsdDir)
  writeFileSync(join(nsdDir, 'test.zone'), zone)
  writeFileSync(join(nsdDir, 'nsd.conf'), nsdConf(nsdDir, E2E_NET.dnsIp, 53, {test: join(nsdDir, 'test.zone')}))
  const nsd = topo.start('nsd', topo.dns, 'nsd', ['-d', '-c', join(nsdDir, 'nsd.conf')])
  const srvRun = join(tmp, 'server', 'run')
  const server: Service = topo.start('pqc server', topo.server, process.execPath, [PQC_BIN, 'server', 'start', '--keydir', keydir,
    '--config-dir', configDir, '--pid-file', join(tmp, 'server', 'server.pid'), '--control-socket', join(srvRun, 'server.sock')])
  const cli = join(tmp, 'client')
  const sockets = ['--router-socket', join(cli, 'run', 'router.sock'), '--control-socket', join(cli, 'run', 'resolver.sock')]
  topo.setResolvConf(topo.client, CLIENT_LISTEN)
  const client: Service = topo.start('pqc client', topo.client, process.execPath, [PQC_BIN, 'client', 'start',
    '--upstream', E2E_NET.dnsIp, '--listen', `${CLIENT_LISTEN}:53`, '--cache-dir', join(cli, 'cache'), '--pid-file', join(cli, 'client.pid'), ...sockets])
  await Promise.all([
    topo.waitReady(nsd, `an answer for ${NAME}`, async () =>
      (await net().exec(net().dns, 'dig', [`@${E2E_NET.dnsIp}`, '+short', '+time=1', '+tries=1', NAME, 'A'], 5_000)).stdout.includes(E2E_NET.serverIp), 15_000),
    topo.waitReady(server, `${SERVER_TUN} and UDP ${keygen.pqcPort}/${keygen.keyPort}`, async () =>
      (await net().hasLink(net().server, SERVER_TUN)) && (await net().listening(net().server, 'udp', keygen.pqcPort))
      && (await net().listening(net().server, 'udp', keygen.keyPort)), READY_MS),
    topo.waitReady(client, `${CLIENT_TUN} and the resolver on ${CLIENT_LISTEN}:53`, async () =>
      (await net().hasLink(net().client, CLIENT_TUN)) && (await net().listening(net().client, 'udp', 53)), READY_MS),
  ])
  step('nsd, pqc server start, pqc client start')

  // 3. what the user sees: an internal address, a working web page.
  const dig = await net().exec(net().client, 'dig', ['+short', NAME, 'A'], 20_000)
  const addr = dig.stdout.trim().split('\n').at(-1) ?? ''
  assert.match(addr, /^10\.43\.\d+\.\d+$/, `dig ${NAME}: ${dig.stdout} ${dig.stderr}${net().logs()}`)
  step(`dig ${NAME}: ${addr}`)
  const curl = await net().exec(net().client, 'curl', ['-sS', '--max-time', '30', '-o', join(tmp, 'body'), '-w', '%{http_code} %{remote_ip}',
    `http://${NAME}:${HTTP_PORT}/`], 40_000)
  assert.equal(curl.stdout.trim(), `200 ${addr}`, `curl: exit ${curl.code} ${curl.stderr}${net().logs()}`)
  assert.ok(readFileSync(join(tmp, 'body')).equals(e2eBody()), 'the page differs from what the server sent')
  step('curl through the tunnel')

  // 4. the CLI's view of it.
  const [listOut, statusOut, srvStatusOut] = await Promise.all([
    pqcIn(net().client, ['servers', 'list', '--json', ...sockets]),
    pqcIn(net().client, ['status', '--json', '--router-socket', join(cli, 'run', 'router.sock'), '--server-socket', join(srvRun, 'server.sock')]),
    pqcIn(net().server, ['status', '--json', '--server-socket', join(srvRun, 'server.sock')]),
  ])
  const list = JSON.parse(listOut) as {servers: Array<{name: string; keyHash: string; tunnel: string}>}
  const seen = list.servers.find((s) => s.keyHash === keygen.keyHashHex)
  assert.ok(seen !== undefined, `servers list has no server with key hash ${keygen.keyHashHex}: ${JSON.stringify(list.servers)}`)
  assert.equal(seen.tunnel, 'up')
  const status = JSON.parse(statusOut) as {client: {peers: Array<Record<string, unknown>>} | null}
  assert.ok(status.client !== null, 'pqc status: the client router is not running')
  assert.ok(status.client.peers.some((p) => p.keyHash === keygen.keyHashHex && p.state === 'up'), JSON.stringify(status.client.peers))
  const srvStatus = JSON.parse(srvStatusOut) as {server: {peers: unknown[]} | null}
  assert.equal(srvStatus.server?.peers.length, 1, `the server sees one client tunnel: ${JSON.stringify(srvStatus.server)}`)
  step('pqc servers list and pqc status')

  // 5. stop both as documented; the TUN devices go with them.
  await Promise.all([pqcIn(net().client, ['client', 'stop', '--pid-file', join(cli, 'client.pid')]),
    pqcIn(net().server, ['server', 'stop', '--pid-file', join(tmp, 'server', 'server.pid')])])
  assert.deepEqual(await client.exited, {code: 0, signal: null}, client.log())
  assert.deepEqual(await server.exited, {code: 0, signal: null}, server.log())
  assert.equal(await net().hasLink(net().client, CLIENT_TUN), false, `${CLIENT_TUN} is still there`)
  assert.equal(await net().hasLink(net().server, SERVER_TUN), false, `${SERVER_TUN} is still there`)
  for (const ns of [net().client, net().server]) {
    const nft = await net().exec(ns, 'nft', ['list', 'tables'])
    assert.doesNotMatch(nft.stdout, /pqconnect/, `our nft table is left in ${ns}`)
  }
  step('pqc client stop, pqc server stop')

  await net().cleanup()
  topo = undefined
  assert.deepEqual(leftovers(), [])
})
