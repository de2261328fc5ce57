/**
 * `pqc server check` on loopback against a real nsd and a real key server (router/server/key-server.ts
 * on a 127.0.0.1 UDP socket, keys from router/keys/keygen.ts): a working announcement with ports in
 * the label and one with TXT ports, and the failures a sysadmin meets: no pq1 label, a label whose
 * hash is not the served key, a silent key port, a local key directory that differs, ports that
 * differ from the config directory. The CLI itself runs for a success and a failure (exit status,
 * checklist lines, --json).
 */
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import dgram from 'node:dgram'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, test} from 'node:test'
import {promisify} from 'node:util'

import {checkServer, type ServerCheckReport} from '../../router/check/server-check.js'
import {writeConfigPorts} from '../../router/keys/config-dir.js'
import {writeKeyDir} from '../../router/keys/keydir.js'
import {generateServerKeys} from '../../router/keys/keygen.js'
import {systemClock} from '../../router/clock.js'
import {createLogger} from '../../router/log.js'
import {KeyServer} from '../../router/server/key-server.js'
import {BatchUdpSocket} from '../../router/udp/batch.js'
import {mceliece6960119} from '../../src/crypto/mceliece.js'
import {systemRng} from '../../src/crypto/rng.js'
import {x25519Keypair} from '../../src/crypto/x25519.js'
import {formatAnnouncementLabel} from '../../src/dns/announcement.js'
import {buildMerkleTree} from '../../src/keys/merkle.js'
import {EXIT_CODES} from '../../oclif/base-command.js'
import {type Nsd, startNsd} from '../helpers/nsd.js'
import {REPO_ROOT} from '../helpers/repo.js'

const dir = mkdtempSync(join(tmpdir(), 'pqc-check-'))
let nsd: Nsd
let keyServer: KeyServer
let silent: dgram.Socket
let keyHash: Uint8Array
let keyPort: number
const keydir = join(dir, 'keys')
const otherKeydir = join(dir, 'other-keys')

before(async () => {
  const keys = await generateServerKeys({skem: mceliece6960119, dhKeypair: () => x25519Keypair(systemRng), rng: systemRng})
  writeKeyDir(keydir, keys)
  const other = await generateServerKeys({skem: mceliece6960119, dhKeypair: () => x25519Keypair(systemRng), rng: systemRng})
  writeKeyDir(otherKeydir, other)
  const tree = buildMerkleTree(keys.mceliecePk, keys.x25519Pk)
  keyHash = tree.root
  const sock = BatchUdpSocket.open({family: 4, address: '127.0.0.1', port: 0})
  keyPort = sock.local.port
  keyServer = new KeyServer({sock, tree, clock: systemClock, rng: systemRng, log: createLogger('keyserver', {write: () => undefined})})
  await keyServer.start()
  // A bound socket that never answers: the key port of a server that is not running its key server.
  silent = dgram.createSocket('udp4')
  await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()))
  const silentPort = silent.address().port

  const good = formatAnnouncementLabel(keyHash, {pqcPort: 624, keyPort})
  const short = formatAnnouncementLabel(keyHash)
  const wrong = formatAnnouncementLabel(randomBytes(32), {pqcPort: 624, keyPort})
  const mute = formatAnnouncementLabel(keyHash, {pqcPort: 625, keyPort: silentPort})
  nsd = await startNsd({'check.test': `$ORIGIN check.test.
$TTL 300
@ IN SOA ns.check.test. admin.check.test. 1 3600 600 86400 60
@ IN NS ns
ns IN A 127.0.0.1
www IN CNAME ${good}
${good} IN A 127.0.0.1
two IN CNAME www
txt IN CNAME ${short}
${short} IN A 127.0.0.1
${short} IN TXT "p=624"
ks.${short} IN TXT "ip=127.0.0.1;p=${keyPort}"
plain IN A 127.0.0.1
wrong IN CNAME ${wrong}
${wrong} IN A 127.0.0.1
mute IN CNAME ${mute}
${mute} IN A 127.0.0.1
proxied IN CNAME ${formatAnnouncementLabel(keyHash, {pqcPort: 627, keyPort})}
${formatAnnouncementLabel(keyHash, {pqcPort: 627, keyPort})} IN A 10.43.0.5
noaddr IN CNAME ${formatAnnouncementLabel(keyHash, {pqcPort: 626, keyPort})}
`})
})

after(async () => {
  keyServer?.close()
  silent?.close()
  await nsd?.stop()
  rmSync(dir, {recursive: true, force: true})
})

const check = (name: string, extra: {keydir?: string; configDir?: string} = {}): Promise<ServerCheckReport> =>
  checkServer({name, dns: {host: '127.0.0.1', port: nsd.port}, deadlineS: 20, ...extra})

const statusOf = (r: ServerCheckReport): Record<string, string> => Object.fromEntries(r.steps.map((s) => [s.id, s.status]))

test('a working announcement: every step OK, key downloaded and verified, ephemeral key fetched', async () => {
  const progress: number[] = []
  const r = await checkServer({name: 'two.check.test', dns: {host: '127.0.0.1', port: nsd.port}, keydir, onProgress: (p) => progress.push(p.nodesDone)})
  assert.equal(r.ok, true, JSON.stringify(r.steps))
  assert.deepEqual(statusOf(r), {'dns': 'ok', 'announcement': 'ok', 'address': 'ok', 'ports': 'ok', 'local-keys': 'ok', 'static-key': 'ok', 'ephemeral-key': 'ok'})
  assert.equal(r.chain.length, 3, r.chain.join(' '))
  assert.equal(r.keyHashHex, Buffer.from(keyHash).toString('hex'))
  assert.equal(r.keyPort, keyPort)
  assert.equal(r.address, '127.0.0.1')
  assert.equal(progress.at(-1), 938, 'progress reaches every node of the tree')
  assert.ok(keyServer.counters.ephemeralAnswered >= 1)
})

test('ports from the p= and ks. TXT records of a 55-character label', async () => {
  const r = await check('txt.check.test')
  assert.equal(r.ok, true, JSON.stringify(r.steps))
  assert.equal(r.pqcPort, 624)
  assert.equal(r.keyPort, keyPort)
  assert.match(r.steps.find((s) => s.id === 'ports')!.detail, /TXT/)
})

test('no pq1 label in the chain: FAIL with the CNAME hint, the key port is not tried', async () => {
  const r = await check('plain.check.test')
  assert.equal(r.ok, false)
  const a = r.steps.find((s) => s.id === 'announcement')!
  assert.equal(a.status, 'fail')
  assert.equal(a.code, 'PQC_ERR_NOT_ANNOUNCED')
  assert.match(a.hint!, /CNAME record printed by `pqc server announce`/)
  assert.equal(statusOf(r)['static-key'], 'skip')
})

test('a label whose hash is not the served key: static key FAIL as a mismatch', async () => {
  const before = keyServer.counters.staticAnswered
  const r = await check('wrong.check.test')
  const s = r.steps.find((x) => x.id === 'static-key')!
  assert.equal(s.status, 'fail', JSON.stringify(r.steps))
  assert.equal(s.code, 'PQC_ERR_KEY_INVALID')
  assert.match(s.detail, /does not match the announced hash/)
  assert.ok(keyServer.counters.staticAnswered > before, 'the key server did answer')
})

test('a silent key port: FAIL naming the port, with the server and firewall hint', async () => {
  const r = await check('mute.check.test')
  const s = r.steps.find((x) => x.id === 'static-key')!
  assert.equal(s.status, 'fail', JSON.stringify(r.steps))
  assert.equal(s.code, 'PQC_ERR_IO')
  assert.match(s.detail, new RegExp(`key port ${silent.address().port} silent`))
  assert.match(s.hint!, /pqc server start.*firewall/)
  assert.equal(statusOf(r)['ephemeral-key'], 'skip')
})

test('the local key directory holds another key: local keys FAIL, the rest still checked', async () => {
  const r = await check('www.check.test', {keydir: otherKeydir})
  assert.deepEqual(statusOf(r), {'dns': 'ok', 'announcement': 'ok', 'address': 'ok', 'ports': 'ok', 'local-keys': 'fail', 'static-key': 'ok', 'ephemeral-key': 'ok'})
  assert.match(r.steps.find((s) => s.id === 'local-keys')!.hint!, /pqc server announce --keydir/)
})

test('ports differing from the config directory, a name without address, an address rewritten by a pqc proxy, a name that does not exist', async () => {
  const cfg = join(dir, 'config')
  writeConfigPorts(cfg, {pqcPort: 624, keyPort: keyPort === 584 ? 585 : 584})
  const r = await check('www.check.test', {configDir: cfg})
  const p = r.steps.find((s) => s.id === 'ports')!
  assert.equal(p.status, 'fail')
  assert.match(p.detail, /key port/)
  assert.match(p.hint!, /update your DNS/)

  const noaddr = await check('noaddr.check.test')
  assert.deepEqual(statusOf(noaddr), {'dns': 'ok', 'announcement': 'ok', 'address': 'fail', 'ports': 'ok', 'static-key': 'skip', 'ephemeral-key': 'skip'})

  const proxied = await check('proxied.check.test')
  const pa = proxied.steps.find((s) => s.id === 'address')!
  assert.equal(pa.status, 'fail')
  assert.match(pa.detail, /10\.43\.0\.5 is an internal address/)
  assert.match(pa.hint!, /--server/)

  const nx = await check('nope.check.test')
  assert.equal(nx.steps[0]!.status, 'fail')
  assert.match(nx.steps[0]!.detail, /NXDOMAIN/)
})

// ---- the CLI (compiled: oclif loads dist/oclif/commands) ----

const run = promisify(execFile)
const PQC = join(REPO_ROOT, 'oclif/bin/run.js')

async function pqc(...args: string[]): Promise<{code: number; stdout: string; stderr: string}> {
  try {
    const r = await run(process.execPath, [PQC, ...args])
    return {code: 0, stdout: r.stdout, stderr: r.stderr}
  } catch (error) {
    const e = error as {code: number; stdout: string; stderr: string}
    return {code: e.code, stdout: e.stdout, stderr: e.stderr}
  }
}

test('pqc server check: the checklist, exit 0 on success; on failure --json output and the documented exit status', async () => {
    const good = await pqc('server', 'check', 'www.check.test', '--server', `127.0.0.1:${nsd.port}`, '--keydir', keydir)
    assert.equal(good.code, 0, good.stderr)
    assert.match(good.stdout, /^OK +static key +1047351 bytes/m)
    assert.match(good.stdout, /^OK +ephemeral key/m)

    const bad = await pqc('server', 'check', 'plain.check.test', '--server', `127.0.0.1:${nsd.port}`, '--json')
    assert.equal(bad.code, EXIT_CODES.PQC_ERR_NOT_ANNOUNCED, bad.stderr)
    const report = JSON.parse(bad.stdout) as ServerCheckReport
    assert.equal(report.ok, false)
    assert.equal(report.steps.find((s) => s.id === 'announcement')!.status, 'fail')

    const mute = await pqc('server', 'check', 'mute.check.test', '--server', `127.0.0.1:${nsd.port}`)
    assert.equal(mute.code, EXIT_CODES.PQC_ERR_IO)
    assert.match(mute.stdout, /^FAIL static key +key port \d+ silent/m)
    assert.match(mute.stdout, /fix: is `pqc server start` running, is UDP \d+ open in the firewall/)
    assert.match(mute.stderr, /server check of mute.check.test failed: 1 step \(first: static key\) \[PQC_ERR_IO\]/)
  })
