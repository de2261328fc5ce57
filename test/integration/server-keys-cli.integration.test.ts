/**
 * `pqc server keygen` and `pqc server announce` as a sysadmin runs them: files, modes, refusal to
 * overwrite, and a pq1 label that equals what a client computes from the same key files with an
 * independent Merkle computation (node:crypto SHAKE256, section 5.2). Also: a key directory laid
 * out by the reference (raw files written under its umasks) loads unchanged.
 */
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, test} from 'node:test'
import {promisify} from 'node:util'

import {parseAnnouncementName} from '../../src/dns/announcement.js'
import {readPublicKeys, readSecretKeys} from '../../router/keys/keydir.js'
import {REPO_ROOT} from '../helpers/repo.js'

const run = promisify(execFile)
const PQC = join(REPO_ROOT, 'oclif/bin/run.js')
const dir = mkdtempSync(join(tmpdir(), 'pqc-keys-'))
after(() => rmSync(dir, {recursive: true, force: true}))

async function pqc(...args: string[]): Promise<{code: number; stdout: string; stderr: string}> {
  try {
    const r = await run(process.execPath, [PQC, ...args], {env: {...process.env, KEYPATH: ''}})
    return {code: 0, stdout: r.stdout, stderr: r.stderr}
  } catch (error) {
    const e = error as {code: number; stdout: string; stderr: string}
    return {code: e.code, stdout: e.stdout, stderr: e.stderr}
  }
}

/** Section 5.2, written out independently of src/keys: leaves, level 2, level 1, root. */
function independentRoot(mceliecePk: Buffer, x25519Pk: Buffer): Buffer {
  const h = (b: Buffer): Buffer => createHash('shake256', {outputLength: 32}).update(b).digest()
  const all = Buffer.concat([mceliecePk, x25519Pk])
  const chunks = (b: Buffer): Buffer[] => Array.from({length: Math.ceil(b.length / 1152)}, (_, i) => b.subarray(1152 * i, 1152 * (i + 1)))
  // The last leaf is the McEliece tail plus the X25519 key: 909 x 1152 + 183 = the same chunking.
  const leaves = chunks(all)
  assert.equal(leaves.length, 910)
  const level2 = chunks(Buffer.concat(leaves.map(h)))
  assert.equal(level2.length, 26)
  const level1 = Buffer.concat(level2.map(h))
  assert.equal(level1.length, 832)
  return h(level1)
}

test('keygen writes the reference key directory with the right sizes and modes, then refuses to overwrite', async () => {
  const keydir = join(dir, 'keys')
  const configDir = join(dir, 'config')
  const r = await pqc('server', 'keygen', '--keydir', keydir, '--config-dir', configDir, '--name', 'www.example.org')
  assert.equal(r.code, 0, r.stderr)
  const expected: Record<string, [number, number]> = {
    mceliece_pk: [1_047_319, 0o644], x25519_pk: [32, 0o644], mceliece_sk: [13_948, 0o600], x25519_sk: [32, 0o600], session_key: [32, 0o600],
  }
  for (const [name, [size, mode]] of Object.entries(expected)) {
    const st = statSync(join(keydir, name))
    assert.equal(st.size, size, name)
    assert.equal(st.mode & 0o777, mode, name)
  }
  assert.equal(readFileSync(join(configDir, 'pqcport'), 'utf8').trim(), '624')
  assert.equal(readFileSync(join(configDir, 'keyport'), 'utf8').trim(), '584')
  const before = readFileSync(join(keydir, 'mceliece_sk'))
  const again = await pqc('server', 'keygen', '--keydir', keydir, '--config-dir', configDir)
  assert.equal(again.code, 5)
  assert.match(again.stderr, /already exist.*PQC_ERR_KEY_EXISTS/)
  assert.ok(readFileSync(join(keydir, 'mceliece_sk')).equals(before), 'secret key untouched')

  const pub = readPublicKeys(keydir)
  const root = independentRoot(pub.mceliecePk, pub.x25519Pk)
  const label = r.stdout.match(/pq1 label:\s+(pq1[0-9a-z]+)/)![1]!
  assert.equal(label.length, 63)
  const parsed = parseAnnouncementName(label)!
  assert.equal(Buffer.from(parsed.keyHash).toString('hex'), root.toString('hex'))
  assert.equal(parsed.pqcPort, 624)
  assert.equal(parsed.keyPort, 584)
})

test('announce: 63-character label with ports given, 55 plus TXT records without; --json', async () => {
  const keydir = join(dir, 'keys')
  const withPorts = JSON.parse((await pqc('server', 'announce', '--name', 'www.example.org', '--keydir', keydir,
    '--pqcport', '42424', '--keyport', '42425', '--address', '203.0.113.9', '--json')).stdout)
  assert.equal(withPorts.label.length, 63)
  assert.ok(withPorts.label.endsWith('55g15fg1'))
  assert.deepEqual(withPorts.records.map((x: {type: string}) => x.type), ['CNAME', 'A'])
  const without = JSON.parse((await pqc('server', 'announce', '--name', 'www.example.org', '--keydir', keydir,
    '--config-dir', join(dir, 'config'), '--address', '203.0.113.9', '--json')).stdout)
  assert.equal(without.label.length, 55)
  assert.ok(withPorts.label.startsWith(without.label))
  assert.deepEqual(without.records.slice(2).map((x: {value: string}) => x.value), ['"p=624"', '"ip=203.0.113.9;p=584"'])
  const bad = await pqc('server', 'announce', '--name', 'x.example.org', '--keydir', keydir, '--pqcport', '624')
  assert.equal(bad.code, 2)
})

test('a key directory laid out by the reference loads unchanged and gives the same hash', () => {
  // The reference writes raw bytes: public keys under umask 022, secret keys under umask 077.
  const ref = join(dir, 'ref-keys')
  mkdirSync(ref)
  const files = {mceliece_pk: randomBytes(1_047_319), x25519_pk: randomBytes(32), mceliece_sk: randomBytes(13_948), x25519_sk: randomBytes(32), session_key: randomBytes(32)}
  for (const [name, data] of Object.entries(files)) writeFileSync(join(ref, name), data, {mode: name.endsWith('_pk') ? 0o644 : 0o600})
  const pub = readPublicKeys(ref)
  const sec = readSecretKeys(ref)
  assert.ok(pub.mceliecePk.equals(files.mceliece_pk) && pub.x25519Pk.equals(files.x25519_pk))
  assert.ok(sec.mcelieceSk.equals(files.mceliece_sk) && sec.sessionKey.equals(files.session_key))
  chmodSync(join(ref, 'x25519_sk'), 0o644)
  assert.throws(() => readSecretKeys(ref), /readable by group or others/)
})
