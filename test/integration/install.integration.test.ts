/**
 * `pqc install --root DIR` (issue 5, service management) into a temporary tree: the user in the
 * tree's own passwd file (useradd --prefix), directory owners and modes, the units and the seeded
 * config; a second run changes nothing (every path's mode, owner, mtime and content compared);
 * drift is repaired; --dry-run and --no-systemd. Needs root (useradd, chown), as CI runs it.
 */
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {createHash} from 'node:crypto'
import {chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, relative} from 'node:path'
import {after, test} from 'node:test'
import {promisify} from 'node:util'

import type {InstallReport} from '../../oclif/host-install.js'
import {REPO_ROOT} from '../helpers/repo.js'

const run = promisify(execFile)
const PQC = join(REPO_ROOT, 'oclif/bin/run.js')
const NEEDS_ROOT = process.getuid?.() === 0 ? false : 'needs root (useradd --prefix and chown), as in CI'
const made: string[] = []
after(() => {
  for (const d of made) rmSync(d, {recursive: true, force: true})
})

async function pqc(...args: string[]): Promise<{code: number; stdout: string; stderr: string}> {
  try {
    const r = await run(process.execPath, [PQC, ...args])
    return {code: 0, stdout: r.stdout, stderr: r.stderr}
  } catch (error) {
    const e = error as {code: number; stdout: string; stderr: string}
    return {code: e.code, stdout: e.stdout, stderr: e.stderr}
  }
}

/** A tree with a minimal user database (root only), as a fresh host image has. */
function freshRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'h6-install-'))
  made.push(root)
  mkdirSync(join(root, 'etc'))
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\n')
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\n')
  writeFileSync(join(root, 'etc/shadow'), 'root:*:19000:0:99999:7:::\n', {mode: 0o600})
  writeFileSync(join(root, 'etc/gshadow'), 'root:*::\n', {mode: 0o600})
  return root
}

/** Every path under root with type, mode, owner, mtime and content hash. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name)
      const st = statSync(p)
      const hash = st.isFile() ? createHash('sha256').update(readFileSync(p)).digest('hex').slice(0, 16) : '-'
      out[relative(root, p)] = `${st.isDirectory() ? 'd' : 'f'} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${st.mtimeMs} ${hash}`
      if (st.isDirectory()) walk(p)
    }
  }
  walk(root)
  return out
}

const mode = (p: string): string => (statSync(p).mode & 0o7777).toString(8)

async function installJson(...args: string[]): Promise<InstallReport> {
  const r = await pqc('install', '--json', ...args)
  assert.equal(r.code, 0, r.stderr)
  return JSON.parse(r.stdout) as InstallReport
}

test('pqc install --root: user, directories, units, config; the second run changes nothing', {skip: NEEDS_ROOT}, async () => {
  const root = freshRoot()
  const first = await installJson('--root', root)
  assert.equal(first.changed, true)
  assert.ok(first.actions.some((a) => a.kind === 'user' && a.action === 'created'), JSON.stringify(first.actions))

  const passwd = readFileSync(join(root, 'etc/passwd'), 'utf8').split('\n').find((l) => l.startsWith('pqconnect:'))
  assert.ok(passwd !== undefined, 'pqconnect is in the tree\'s passwd')
  const [, , uid, gid, , home, shell] = passwd.split(':')
  assert.notEqual(Number(uid), 0)
  assert.ok(Number(uid) < 1000, `a system uid, got ${uid}`)
  assert.equal(shell, '/usr/sbin/nologin')
  assert.equal(home, '/nonexistent')
  assert.match(readFileSync(join(root, 'etc/group'), 'utf8'), new RegExp(`^pqconnect:x:${gid}:$`, 'm'))

  const expect: [string, string, number, number][] = [
    ['etc/pqconnect', '755', 0, 0],
    ['etc/pqconnect/keys', '700', 0, 0],
    ['var/cache/pqconnect', '700', Number(uid), Number(gid)],
    ['etc/pqconnect/resolver.json', '644', 0, 0],
    ['etc/systemd/system/pqconnect-client.service', '644', 0, 0],
    ['etc/systemd/system/pqconnect-server.service', '644', 0, 0],
  ]
  for (const [p, m, u, g] of expect) {
    const st = statSync(join(root, p))
    assert.equal(mode(join(root, p)), m, `${p} mode`)
    assert.deepEqual([st.uid, st.gid], [u, g], `${p} owner`)
  }
  for (const name of ['pqconnect-client.service', 'pqconnect-server.service']) {
    assert.equal(readFileSync(join(root, 'etc/systemd/system', name), 'utf8'), readFileSync(join(REPO_ROOT, 'config/systemd', name), 'utf8'))
  }
  assert.equal(readFileSync(join(root, 'etc/pqconnect/resolver.json'), 'utf8'), readFileSync(join(REPO_ROOT, 'config/resolver.example.json'), 'utf8'))
  assert.ok(first.actions.some((a) => a.target === 'daemon-reload' && a.action === 'skipped'), 'no systemctl with --root')

  const before = snapshot(root)
  const second = await pqc('install', '--root', root)
  assert.equal(second.code, 0, second.stderr)
  assert.match(second.stdout, /^nothing to do$/m)
  assert.doesNotMatch(second.stdout, /: (created|updated|chmod|chown) /)
  assert.deepEqual(snapshot(root), before, 'a second run touched the tree')
  assert.equal((await installJson('--root', root)).changed, false)
})

test('pqc install --root repairs drift and leaves an edited config alone', {skip: NEEDS_ROOT}, async () => {
  const root = freshRoot()
  await installJson('--root', root)
  chmodSync(join(root, 'etc/pqconnect/keys'), 0o755)
  writeFileSync(join(root, 'etc/systemd/system/pqconnect-server.service'), '[Service]\nExecStart=/bin/false\n')
  writeFileSync(join(root, 'etc/pqconnect/resolver.json'), '{"upstreams": ["192.0.2.53"]}\n')
  const r = await installJson('--root', root)
  const act = (target: string): string[] => r.actions.filter((a) => a.target === target).map((a) => a.action)
  assert.deepEqual(act('/etc/pqconnect/keys'), ['chmod'])
  assert.deepEqual(act('/etc/systemd/system/pqconnect-server.service'), ['updated'])
  assert.deepEqual(act('/etc/pqconnect/resolver.json'), ['ok'])
  assert.equal(mode(join(root, 'etc/pqconnect/keys')), '700')
  assert.equal(readFileSync(join(root, 'etc/systemd/system/pqconnect-server.service'), 'utf8'), readFileSync(join(REPO_ROOT, 'config/systemd/pqconnect-server.service'), 'utf8'))
  assert.equal(readFileSync(join(root, 'etc/pqconnect/resolver.json'), 'utf8'), '{"upstreams": ["192.0.2.53"]}\n')
})

test('pqc install --dry-run changes nothing; --no-systemd installs no units', {skip: NEEDS_ROOT}, async () => {
  const root = freshRoot()
  const before = snapshot(root)
  const dry = await pqc('install', '--root', root, '--dry-run')
  assert.equal(dry.code, 0, dry.stderr)
  assert.match(dry.stdout, /user pqconnect: would be created/)
  assert.match(dry.stdout, /dir \/etc\/pqconnect\/keys: would be created \(root, mode 0700\)/)
  assert.deepEqual(snapshot(root), before)

  const r = await installJson('--root', root, '--no-systemd')
  assert.equal(r.changed, true)
  assert.throws(() => statSync(join(root, 'etc/systemd')), /ENOENT/)
  assert.equal(mode(join(root, 'var/cache/pqconnect')), '700')
})

test('pqc install refuses a relative or missing --root with exit status 2', async () => {
  const rel = await pqc('install', '--root', 'relative/dir')
  assert.equal(rel.code, 2)
  assert.match(rel.stderr, /--root must be an absolute path.*\[PQC_ERR_ARGUMENT\]/)
  const missing = await pqc('install', '--root', join(tmpdir(), 'h6-install-does-not-exist'))
  assert.equal(missing.code, 2)
  assert.match(missing.stderr, /does not exist/)
})

test('pqc install --root reuses a pqconnect group left without its user', {skip: NEEDS_ROOT}, async () => {
  const root = freshRoot()
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\npqconnect:x:987:\n')
  writeFileSync(join(root, 'etc/gshadow'), 'root:*::\npqconnect:!::\n', {mode: 0o600})
  const r = await installJson('--root', root)
  assert.ok(r.actions.some((a) => a.kind === 'user' && a.action === 'created'), JSON.stringify(r.actions))
  const passwd = readFileSync(join(root, 'etc/passwd'), 'utf8').split('\n').find((l) => l.startsWith('pqconnect:'))
  assert.equal(passwd?.split(':')[3], '987')
  assert.equal(statSync(join(root, 'var/cache/pqconnect')).gid, 987)
})
