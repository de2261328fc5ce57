/**
 * Our nftables table against the real kernel (root, namespaces of our own): every golden ruleset,
 * and one with the maximum number of servers, passes `nft -c -j -f FILE` and then really applies
 * and lists back with the same elements; updates never touch an admin's tables (F-3); a clean
 * stop (`pqc cleanup`) leaves `nft list ruleset` byte-identical to before; and `pqc cleanup`
 * removes our table, stale control sockets and orphaned TUNs, idempotently, leaving what is in use.
 */
import assert from 'node:assert/strict'
import {type ChildProcess, execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, test} from 'node:test'

import {NFT_MAX_STEERED_SERVERS} from '../../src/constants.js'
import {renderClientRuleset} from '../../src/nft/client-ruleset.js'
import type {NftBatch} from '../../src/nft/json.js'
import {applyRuleset, checkRuleset, listTable, removeTable} from '../../router/nft/apply.js'
import type {CleanupReport} from '../../router/nft/host-cleanup.js'
import {SystemNftRunner} from '../../router/nft/runner.js'
import {NetnsLab, waitForExit, waitForJsonLine} from '../helpers/netns.js'
import {CLIENT_BASE, CLIENT_FULL, GOLDEN_CASES, ONE_SERVER, THREE_SERVERS} from '../unit/nft/cases.js'
import {pqcIn} from './nft-cli.js'

let lab: NetnsLab
let ns: string
/** nft inside the namespace; argvMaxBytes 0 sends every batch through `nft -j -f FILE`. */
let viaFile: SystemNftRunner
let viaArg: SystemNftRunner
const holders: ChildProcess[] = []
const socketDir = mkdtempSync(join(tmpdir(), 'pqc-nft-sock-'))

const ADMIN_RULESET = `table inet admin {
  set trusted { type ipv4_addr; elements = { 192.0.2.1 } }
  chain input {
    type filter hook input priority 0; policy accept;
    ip saddr @trusted tcp dport 22 accept
    counter
  }
}
table ip natty {
  chain post {
    type nat hook postrouting priority 100;
    oifname "lo" masquerade
  }
}
`

const nftText = (args: string[]): string => lab.execIn(ns, 'nft', args)
const sha = (s: string): string => createHash('sha256').update(s).digest('hex')

before(() => {
  lab = new NetnsLab()
  ns = lab.addNamespace('nft')
  viaFile = new SystemNftRunner({wrap: ['ip', 'netns', 'exec', ns], argvMaxBytes: 0})
  viaArg = new SystemNftRunner({wrap: ['ip', 'netns', 'exec', ns]})
  console.log(`nft: ${nftText(['--version']).trim()}`)
})

after(() => {
  for (const h of holders) h.kill('SIGKILL')
  lab.cleanup()
  rmSync(socketDir, {recursive: true, force: true})
})

/** [name, elements] of every set and map in a batch or a listing, elements sorted as JSON. */
function setsOf(objs: unknown[]): [string, string[]][] {
  const out: [string, string[]][] = []
  for (const o of objs) {
    const body = (o as {set?: {name: string; elem?: unknown[]}; map?: {name: string; elem?: unknown[]}})
    const s = body.set ?? body.map
    if (s !== undefined) out.push([s.name, (s.elem ?? []).map((e) => JSON.stringify(e)).sort()])
  }
  return out.sort((a, b) => a[0].localeCompare(b[0]))
}
const batchObjects = (b: NftBatch): unknown[] => b.nftables.slice(4).map((c) => (c as {add: unknown}).add)

function manyServers(n: number): Parameters<typeof renderClientRuleset>[1] {
  return Array.from({length: n}, (_, i) => ({
    realAddr: `198.18.${i >> 8}.${i & 0xff}`, internalAddr: `10.43.${(i + 2) >> 8}.${(i + 2) & 0xff}`, pqcPort: 624, keyPort: 584,
  }))
}

test('the kernel accepts every golden ruleset (nft -c -j -f) and lists back the same sets and elements', () => {
  const cases = [...GOLDEN_CASES, {name: `client-${NFT_MAX_STEERED_SERVERS}-servers`, render: () => renderClientRuleset(CLIENT_FULL, manyServers(NFT_MAX_STEERED_SERVERS))}]
  for (const c of cases) {
    const batch = c.render()
    checkRuleset(batch, viaFile)
    assert.equal(listTable(viaFile), undefined, `${c.name}: check mode changed nothing`)
    const t0 = process.hrtime.bigint()
    applyRuleset(batch, c.name.startsWith('client-4096') ? viaFile : viaArg)
    const ms = Number(process.hrtime.bigint() - t0) / 1e6
    const listed = listTable(viaArg)!
    assert.deepEqual(setsOf(listed), setsOf(batchObjects(batch)), c.name)
    const chains = (objs: unknown[]): string[] => objs.flatMap((o) => ('chain' in (o as object) ? [(o as {chain: {name: string}}).chain.name] : [])).sort()
    assert.deepEqual(chains(listed), chains(batchObjects(batch)), c.name)
    const rules = (objs: unknown[]): number => objs.filter((o) => 'rule' in (o as object)).length
    assert.equal(rules(listed), rules(batchObjects(batch)), c.name)
    console.log(`${c.name}: ${JSON.stringify(batch).length} bytes of JSON applied in ${ms.toFixed(1)} ms`)
    assert.deepEqual(removeTable(viaArg), {removed: true})
  }
})

test('a clean stop leaves nft list ruleset byte-identical; an admin\'s tables never change meanwhile (F-3)', async () => {
  lab.execIn(ns, 'nft', ['flush', 'ruleset'])
  execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], {input: ADMIN_RULESET})
  const before = nftText(['list', 'ruleset'])
  const admin = (): string => sha(nftText(['list', 'table', 'inet', 'admin'])) + sha(nftText(['list', 'table', 'ip', 'natty']))
  const adminBefore = admin()
  for (const servers of [[], ONE_SERVER, THREE_SERVERS, manyServers(300), ONE_SERVER]) {
    applyRuleset(renderClientRuleset(CLIENT_FULL, servers), viaArg)
    assert.equal(admin(), adminBefore)
  }
  assert.notEqual(nftText(['list', 'ruleset']), before)
  const first = await pqcIn(lab, ns, ['cleanup', '--json', '--socket-dir', socketDir])
  assert.equal(first.code, 0, first.stderr)
  assert.equal((JSON.parse(first.stdout) as CleanupReport).table, 'removed')
  assert.equal(nftText(['list', 'ruleset']), before, 'byte-identical after cleanup')
  const second = await pqcIn(lab, ns, ['cleanup', '--json', '--socket-dir', socketDir])
  assert.equal(second.code, 0, second.stderr)
  assert.equal((JSON.parse(second.stdout) as CleanupReport).table, 'absent')
  assert.equal(nftText(['list', 'ruleset']), before)
})

test('after a crash (table left behind), pqc cleanup removes the table, stale sockets and orphaned TUNs, idempotently', async () => {
  applyRuleset(renderClientRuleset(CLIENT_BASE, THREE_SERVERS), viaArg)
  // A persistent TUN nobody holds (what a crash can leave), and a TUN a live process holds.
  lab.execIn(ns, 'ip', ['tuntap', 'add', 'dev', 'pqcserv0', 'mode', 'tun'])
  const tunHolder = lab.spawnIn(ns, 'python3', ['-c', `
import fcntl, os, struct, sys, time
fd = os.open('/dev/net/tun', os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack('16sH', b'pqccli0', 0x1001))
print('{"ready": true}', flush=True)
time.sleep(600)`])
  holders.push(tunHolder)
  // A stale socket (bound, nobody listening: connect gets ECONNREFUSED) and a live one.
  lab.execIn(ns, 'python3', ['-c', `import socket; socket.socket(socket.AF_UNIX).bind('${socketDir}/router.sock')`])
  const live = lab.spawnIn(ns, 'python3', ['-c', `
import socket, time
s = socket.socket(socket.AF_UNIX); s.bind('${socketDir}/resolver.sock'); s.listen(8)
print('{"ready": true}', flush=True)
time.sleep(600)`])
  holders.push(live)
  await waitForJsonLine(tunHolder, (v: {ready?: boolean}) => v.ready === true, 5000)
  await waitForJsonLine(live, (v: {ready?: boolean}) => v.ready === true, 5000)

  const run = async (): Promise<CleanupReport> => {
    const r = await pqcIn(lab, ns, ['cleanup', '--json', '--socket-dir', socketDir])
    assert.equal(r.code, 0, r.stderr)
    return JSON.parse(r.stdout) as CleanupReport
  }
  const first = await run()
  assert.deepEqual(first, {
    table: 'removed',
    sockets: [{path: join(socketDir, 'resolver.sock'), action: 'in-use'}, {path: join(socketDir, 'router.sock'), action: 'removed'}],
    tuns: [{name: 'pqccli0', action: 'in-use'}, {name: 'pqcserv0', action: 'removed'}],
  })
  assert.deepEqual(readdirSync(socketDir), ['resolver.sock'])
  assert.equal(listTable(viaArg), undefined)
  const links = (): string => lab.execIn(ns, 'ip', ['-o', 'link', 'show'])
  assert.match(links(), /pqccli0/)
  assert.doesNotMatch(links(), /pqcserv0/)

  const second = await run()
  assert.deepEqual(second, {
    table: 'absent',
    sockets: [{path: join(socketDir, 'resolver.sock'), action: 'in-use'}],
    tuns: [{name: 'pqccli0', action: 'in-use'}, {name: 'pqcserv0', action: 'absent'}],
  })
  // The holder dies: its non-persistent TUN goes with it; cleanup only reports.
  tunHolder.kill('SIGKILL')
  await waitForExit(tunHolder, 5000)
  const third = await run()
  assert.deepEqual(third.tuns, [{name: 'pqccli0', action: 'absent'}, {name: 'pqcserv0', action: 'absent'}])
})

test('human output of pqc cleanup names each thing it looked at', async () => {
  const r = await pqcIn(lab, ns, ['cleanup', '--socket-dir', socketDir, '--tun', 'pqccli0'])
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /^nft table inet pqconnect: absent$/m)
  assert.match(r.stdout, /^tun pqccli0: absent$/m)
})
