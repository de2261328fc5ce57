/**
 * Privilege separation, nftables and crash recovery of the real daemons (issue 5; security-tests.md
 * P-1 and the fault rows; root). The e2e topology (client, server and dns namespaces, nsd serving
 * www.test -> pq1 name and plain.test), with `pqc client start` and `pqc server start` as shipped:
 * a root monitor and workers as user pqconnect. Asserted: the process map from /proc (uids,
 * capabilities, NoNewPrivs, descriptors), the steering table in the kernel, SIGKILL of every
 * process (DNS answers again within 2 s of a worker's restart, no leftovers that break
 * connectivity, key files intact), --capture-dns, and a clean stop restoring the ruleset byte for byte.
 */
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, test} from 'node:test'

import {startAppServer} from '../helpers/e2e-apps.js'
import {e2eZone, startNsdIn} from '../helpers/e2e-nsd.js'
import {CLIENT_LISTEN, CLIENT_TUN, type ServerKeys, keygen, startClient, startServer} from '../helpers/e2e-pqc.js'
import {E2E_NET, E2eTopology, type Service} from '../helpers/e2e-topology.js'
import {type ProcInfo, namespaceProcesses, userIds} from '../helpers/process-map.js'

/** security-tests.md / issue 5: ordinary names resolve again within this long of a restart. */
const DNS_AFTER_RESTART_MS = 2000
const SERVER_IP_RE = new RegExp(`^${E2E_NET.serverIp.replaceAll('.', '\\.')}$`)

let topo: E2eTopology | undefined
let tmp = ''
let keys: ServerKeys
let client: Service
let server: Service
let rulesetBefore = ''
let keyHashesBefore = ''

const net = (): E2eTopology => {
  if (topo === undefined) throw new Error('the topology was not set up (see the before hook)')
  return topo
}
const logs = (): string => `\n${net().logs()}`
const pq = (): {uid: number; gid: number} => userIds('pqconnect') ?? assert.fail('user pqconnect missing')

function keyHashes(): string {
  return readdirSync(keys.keydir).sort().map((f) => `${f} ${createHash('sha256').update(readFileSync(join(keys.keydir, f))).digest('hex')}`).join('\n')
}

const find = (ns: string, re: RegExp): ProcInfo[] => namespaceProcesses(ns).filter((p) => re.test(p.cmdline))
const CLIENT_MONITOR = /run\.js client start/
const CLIENT_ROUTER = /router\/worker\/client-main\.js/
const RESOLVER = /resolver\/worker-main\.js/
const SERVER_MONITOR = /run\.js server start/
const SERVER_ROUTER = /router\/worker\/server-main\.js/

function one(ns: string, re: RegExp): ProcInfo {
  const found = find(ns, re)
  assert.equal(found.length, 1, `expected one process matching ${re} in ${ns}, got ${found.map((p) => p.cmdline.slice(0, 80)).join(' | ')}`)
  return found[0]!
}

function assertUnprivileged(p: ProcInfo, what: string): void {
  const {uid, gid} = pq()
  assert.deepEqual(p.uids, [uid, uid, uid, uid], `${what}: uids`)
  assert.deepEqual(p.gids, [gid, gid, gid, gid], `${what}: gids`)
  assert.ok(p.groups === '' || p.groups === String(gid), `${what}: supplementary groups '${p.groups}'`)
  assert.equal(p.capEff, 0n, `${what}: CapEff`)
  assert.equal(p.capPrm, 0n, `${what}: CapPrm`)
  assert.equal(p.capAmb, 0n, `${what}: CapAmb`)
  assert.equal(p.noNewPrivs, true, `${what}: NoNewPrivs`)
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = await probe()
    if (v !== undefined) return v
    if (Date.now() > end) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}${logs()}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** One dig for plain.test at the client's resolver; the address or undefined. */
async function plainAnswer(): Promise<string | undefined> {
  const r = await net().exec(net().client, 'dig', [`@${CLIENT_LISTEN}`, '+short', '+time=1', '+tries=1', 'plain.test', 'A'], 5000)
  const a = r.stdout.trim()
  return SERVER_IP_RE.test(a) ? a : undefined
}

async function curlWww(maxSeconds = 30): Promise<{ok: boolean; detail: string}> {
  const r = await net().exec(net().client, 'curl', ['-sS', '--max-time', String(maxSeconds), '-o', '/dev/null', '-w', '%{http_code} %{remote_ip}', 'http://www.test/'], (maxSeconds + 10) * 1000)
  return {ok: r.code === 0 && /^200 10\.43\./.test(r.stdout.trim()), detail: `curl: exit ${r.code} ${r.stdout} ${r.stderr}`}
}

const ruleset = (): string => execFileSync('ip', ['netns', 'exec', net().client, 'nft', 'list', 'ruleset'], {encoding: 'utf8'})

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'pqc-privsep-'))
  chmodSync(tmp, 0o755)
  keys = await keygen(join(tmp, 'server'))
  keyHashesBefore = keyHashes()
  topo = new E2eTopology('ps')
  await startNsdIn(topo, topo.dns, join(tmp, 'nsd'), e2eZone({
    pq1Label: keys.label, serverIp: E2E_NET.serverIp, serverIp6: E2E_NET.serverIp6, dnsIp: E2E_NET.dnsIp,
  }))
  await startAppServer(topo, topo.server)
  server = await startServer(topo, topo.server, keys)
  topo.setResolvConf(topo.client, CLIENT_LISTEN)
  rulesetBefore = ruleset()
  client = await startClient(topo, topo.client, `${E2E_NET.dnsIp}:53`, join(tmp, 'client'))
  assert.ok((await curlWww()).ok, `first contact failed${logs()}`)
})

after(async () => {
  await topo?.cleanup()
  if (tmp !== '') rmSync(tmp, {recursive: true, force: true})
})

test('process map: root monitors; router and resolver workers as pqconnect with no capabilities; descriptors by need', async () => {
  const monitor = one(net().client, CLIENT_MONITOR)
  assert.equal(monitor.uids[0], 0, 'the client monitor runs as root')
  const router = one(net().client, CLIENT_ROUTER)
  const resolver = one(net().client, RESOLVER)
  assertUnprivileged(router, 'client router worker')
  assertUnprivileged(resolver, 'resolver worker')
  assert.ok(router.fds.includes('/dev/net/tun'), `the router holds the TUN: ${router.fds.join(' ')}`)
  assert.ok(!resolver.fds.includes('/dev/net/tun'), `the resolver holds a TUN descriptor: ${resolver.fds.join(' ')}`)
  assert.deepEqual(resolver.netlinkFds, [], 'the resolver holds netlink sockets')
  assert.deepEqual(router.netlinkFds, [], 'the router holds netlink sockets')

  const sMonitor = one(net().server, SERVER_MONITOR)
  const sRouter = one(net().server, SERVER_ROUTER)
  assert.equal(sMonitor.uids[0], 0, 'the server monitor runs as root')
  assertUnprivileged(sRouter, 'server router worker')
  assert.ok(sRouter.fds.includes('/dev/net/tun'))
  assert.deepEqual(sRouter.fds.filter((f) => f.startsWith(keys.keydir)), [], 'the server worker kept key file descriptors open')
  assert.deepEqual(sRouter.netlinkFds, [])
  console.log(`process map: client monitor ${monitor.pid} (root), router ${router.pid} and resolver ${resolver.pid} (pqconnect, CapEff 0); ` +
    `server monitor ${sMonitor.pid} (root), router ${sRouter.pid} (pqconnect, CapEff 0); fds: router ${router.fds.length}, resolver ${resolver.fds.length}`)

  // The worker user cannot read the secret keys, nor become root again.
  const {uid, gid} = pq()
  const probe = execFileSync(process.execPath, ['-e', `
    const out = []
    try { require('fs').readFileSync(${JSON.stringify(join(keys.keydir, 'mceliece_sk'))}); out.push('read') } catch (e) { out.push(e.code) }
    try { process.setuid(0); out.push('setuid') } catch (e) { out.push(e.code) }
    console.log(out.join(' '))`], {uid, gid, encoding: 'utf8'}).trim()
  assert.equal(probe, 'EACCES EPERM', 'as pqconnect: reading the McEliece secret key and setuid(0)')
})

test('nftables: after a lookup the client table steers the server real address, its crypto and key ports exempt', async () => {
  const map = await net().exec(net().client, 'nft', ['-j', 'list', 'map', 'inet', 'pqconnect', 'steer4'])
  const set = await net().exec(net().client, 'nft', ['-j', 'list', 'set', 'inet', 'pqconnect', 'exempt4'])
  assert.match(map.stdout, new RegExp(`"${E2E_NET.serverIp.replaceAll('.', '\\.')}",\\s*"10\\.43\\.`), map.stdout)
  for (const port of [keys.pqcPort, keys.keyPort]) assert.match(set.stdout, new RegExp(`"${E2E_NET.serverIp.replaceAll('.', '\\.')}",\\s*${port}\\]`), set.stdout)
})

test('SIGKILL of the resolver worker: it is restarted and ordinary names resolve within 2 s of the restart', async () => {
  const old = one(net().client, RESOLVER)
  const killedAt = Date.now()
  process.kill(old.pid, 'SIGKILL')
  const fresh = await waitFor('a new resolver worker', 10_000, () => find(net().client, RESOLVER).find((p) => p.pid !== old.pid))
  const spawnedAt = Date.now()
  await waitFor('an answer for plain.test', 10_000, plainAnswer)
  const answeredAt = Date.now()
  console.log(`resolver SIGKILL: new worker ${fresh.pid} seen after ${spawnedAt - killedAt} ms, plain.test answered ${answeredAt - spawnedAt} ms later (${answeredAt - killedAt} ms after the kill)`)
  assert.ok(answeredAt - spawnedAt <= DNS_AFTER_RESTART_MS, `DNS answered ${answeredAt - spawnedAt} ms after the restart (limit ${DNS_AFTER_RESTART_MS})`)
  assertUnprivileged(one(net().client, RESOLVER), 'restarted resolver worker')
})

test('SIGKILL of the client router worker: restarted, the servers re-announced, curl through the tunnel works again', async () => {
  const old = one(net().client, CLIENT_ROUTER)
  process.kill(old.pid, 'SIGKILL')
  await waitFor('a new router worker', 10_000, () => find(net().client, CLIENT_ROUTER).find((p) => p.pid !== old.pid))
  const t0 = Date.now()
  const r = await waitFor('curl through the restarted router', 60_000, async () => ((await curlWww(10)).ok ? true : undefined))
  console.log(`router SIGKILL: curl http://www.test/ works again ${Date.now() - t0} ms after the restart`)
  assert.equal(r, true)
  assertUnprivileged(one(net().client, CLIENT_ROUTER), 'restarted router worker')
})

test('SIGKILL of the server router worker: restarted, the client reaches it again', async () => {
  const old = one(net().server, SERVER_ROUTER)
  process.kill(old.pid, 'SIGKILL')
  await waitFor('a new server worker', 10_000, () => find(net().server, SERVER_ROUTER).find((p) => p.pid !== old.pid))
  const t0 = Date.now()
  await waitFor('curl to the restarted server', 60_000, async () => ((await curlWww(10)).ok ? true : undefined))
  console.log(`server worker SIGKILL: curl works again ${Date.now() - t0} ms after the restart`)
})

test('SIGKILL of the client monitor: workers exit, the TUN goes; a restart replaces the stale table and DNS works within 2 s of it', async () => {
  const monitor = one(net().client, CLIENT_MONITOR)
  process.kill(monitor.pid, 'SIGKILL')
  await waitFor('the workers to exit', 10_000, () => (find(net().client, /worker/).length === 0 ? true : undefined))
  await waitFor(`${CLIENT_TUN} to vanish`, 10_000, async () => ((await net().hasLink(net().client, CLIENT_TUN)) ? undefined : true))
  await client.exited
  client = await startClient(net(), net().client, `${E2E_NET.dnsIp}:53`, join(tmp, 'client'))
  const readyAt = Date.now()
  await waitFor('an answer for plain.test', 10_000, plainAnswer)
  const ms = Date.now() - readyAt
  console.log(`client monitor SIGKILL: after the restart (TUN up, port 53 bound) plain.test answered in ${ms} ms`)
  assert.ok(ms <= DNS_AFTER_RESTART_MS, `DNS answered ${ms} ms after the restart`)
  const tables = (await net().exec(net().client, 'nft', ['list', 'tables'])).stdout.trim().split('\n')
  assert.deepEqual(tables, ['table inet pqconnect'])
  assert.ok((await curlWww()).ok, `curl after the monitor restart${logs()}`)
})

test('SIGKILL of the server monitor: the worker exits; a restart serves again; the key files are intact', async () => {
  const monitor = one(net().server, SERVER_MONITOR)
  process.kill(monitor.pid, 'SIGKILL')
  await waitFor('the server worker to exit', 10_000, () => (find(net().server, SERVER_ROUTER).length === 0 ? true : undefined))
  await server.exited
  server = await startServer(net(), net().server, keys)
  await waitFor('curl to the restarted server', 60_000, async () => ((await curlWww(10)).ok ? true : undefined))
  assert.equal(keyHashes(), keyHashesBefore, 'the key files changed')
})

test('--capture-dns: an application that hard-codes the upstream still gets the 10.43 answer; the resolver does not loop', async () => {
  await client.stop()
  client = await startClient(net(), net().client, `${E2E_NET.dnsIp}:53`, join(tmp, 'client'), ['--capture-dns'])
  assert.ok(await waitFor('plain.test (the resolver is up; its upstream queries are not captured)', 10_000, plainAnswer))
  const r = await net().exec(net().client, 'dig', [`@${E2E_NET.dnsIp}`, '+short', '+time=2', '+tries=2', 'www.test', 'A'])
  const last = r.stdout.trim().split('\n').at(-1) ?? ''
  assert.match(last, /^10\.43\.\d+\.\d+$/, `dig @${E2E_NET.dnsIp} www.test (captured into our resolver): ${r.stdout} ${r.stderr}${logs()}`)
})

test('a vanished TUN device (ip link delete) is recreated on both sides and the tunnel works again', async () => {
  for (const [ns, dev] of [[net().client, CLIENT_TUN], [net().server, 'pqcserv0']] as const) {
    const t0 = Date.now()
    execFileSync('ip', ['-n', ns, 'link', 'delete', dev])
    await waitFor(`${dev} to be recreated`, 10_000, async () => ((await net().hasLink(ns, dev)) ? true : undefined))
    const back = Date.now() - t0
    await waitFor(`curl after ${dev} was recreated`, 60_000, async () => ((await curlWww(10)).ok ? true : undefined))
    console.log(`${dev} deleted: recreated after ${back} ms, curl works ${Date.now() - t0} ms after the delete`)
    assert.ok(back <= 5000, `${dev} recreated after ${back} ms`)
  }
})

test('a full disk for the key cache: the key cannot be cached, the tunnel comes up anyway', async () => {
  const {uid, gid} = pq()
  const cache = join(tmp, 'full-cache')
  execFileSync('mkdir', ['-p', cache])
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=64k,mode=0700,uid=${uid},gid=${gid}`, 'pqc-test-full', cache])
  try {
    execFileSync('sh', ['-c', `dd if=/dev/zero of=${cache}/fill bs=4k count=64 2>/dev/null || true`])
    await client.stop()
    client = await startClient(net(), net().client, `${E2E_NET.dnsIp}:53`, join(tmp, 'client'), ['--cache-dir', cache])
    await waitFor('curl with a full cache directory', 60_000, async () => ((await curlWww(20)).ok ? true : undefined))
    assert.match(client.log(400), /key cache: cannot write to .*ENOSPC/, 'the failed cache write is logged')
    assert.deepEqual(readdirSync(cache), ['fill'], 'no partial key file left in the cache')
  } finally {
    await client.stop()
    execFileSync('umount', [cache])
  }
  client = await startClient(net(), net().client, `${E2E_NET.dnsIp}:53`, join(tmp, 'client'))
  await waitFor('plain.test after the restart', 10_000, plainAnswer)
})

test('no log line of any process carries key material (hex or base64 of the secret key files)', () => {
  const text = net().logs(1_000_000)
  const secrets = ['mceliece_sk', 'x25519_sk', 'session_key'].map((f) => readFileSync(join(keys.keydir, f)))
  const needles: string[] = []
  for (const sk of secrets) {
    for (let off = 0; off + 16 <= Math.min(sk.length, 4096); off += 16) {
      const piece = sk.subarray(off, off + 16)
      needles.push(piece.toString('hex'), piece.toString('base64').slice(0, 20))
    }
  }
  const found = needles.filter((n) => text.includes(n))
  assert.deepEqual(found, [], 'secret key bytes appear in the logs')
  // Nothing that looks like a raw 32-byte value either, except the public key hash.
  const long = [...text.matchAll(/[0-9a-f]{64}/g)].map((m) => m[0]).filter((h) => h !== keys.keyHashHex)
  assert.deepEqual(long, [], 'a 64-hex-digit value other than the public key hash is logged')
  assert.ok(text.length > 1000, `the logs were captured (${text.length} characters): the scan is not blind`)
  console.log(`log scan: ${text.length} characters of logs from ${text.split('\n--- ').length} processes, ${needles.length} secret fragments searched: none found`)
})

test('a clean stop removes the table and leaves the ruleset byte-identical to before the start', async () => {
  const st = await client.stop()
  assert.equal(st.code, 0, `pqc client start exit: ${JSON.stringify(st)}${logs()}`)
  assert.equal(ruleset(), rulesetBefore)
  assert.equal(await net().hasLink(net().client, CLIENT_TUN), false)
})
