/**
 * The real `pqc install` on this host (root tier, issue 5): the system user and group pqconnect
 * in the system database (getent), the directories with their owners and modes, the units; the
 * worker user can write its cache but cannot list the key directory; a second run changes
 * nothing. The host keeps what was installed (the privilege separation tests need the user).
 */
import assert from 'node:assert/strict'
import {execFile, execFileSync} from 'node:child_process'
import {readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'node:test'
import {promisify} from 'node:util'

import type {InstallReport} from '../../oclif/host-install.js'
import {REPO_ROOT} from '../helpers/repo.js'

const run = promisify(execFile)
const PQC = join(REPO_ROOT, 'oclif/bin/run.js')
const PATHS = ['/etc/pqconnect', '/etc/pqconnect/keys', '/var/cache/pqconnect', '/etc/pqconnect/resolver.json',
  '/etc/systemd/system/pqconnect-client.service', '/etc/systemd/system/pqconnect-server.service']

const state = (): Record<string, string> =>
  Object.fromEntries(PATHS.map((p) => {
    const st = statSync(p)
    return [p, `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${st.mtimeMs}`]
  }))

async function install(...args: string[]): Promise<{stdout: string; report?: InstallReport}> {
  const r = await run(process.execPath, [PQC, 'install', ...args])
  return {stdout: r.stdout, report: args.includes('--json') ? JSON.parse(r.stdout) as InstallReport : undefined}
}

/** Runs argv as the worker user with no supplementary groups; returns the exit status. */
function asWorker(argv: string[]): number {
  try {
    execFileSync('setpriv', ['--reuid', 'pqconnect', '--regid', 'pqconnect', '--clear-groups', '--', ...argv], {stdio: 'ignore'})
    return 0
  } catch (error) {
    return (error as {status: number}).status
  }
}

test('pqc install creates the pqconnect user, directories and units; a second run changes nothing', async () => {
  const first = await install('--json')
  console.log(first.report!.actions.filter((a) => a.action !== 'ok').map((a) => `${a.kind} ${a.target}: ${a.action}`).join('\n'))

  const pw = execFileSync('getent', ['passwd', 'pqconnect'], {encoding: 'utf8'}).trim().split(':')
  const [, , uid, gid, , home, shell] = pw
  assert.ok(Number(uid) > 0 && Number(uid) < 1000, `a system uid: ${uid}`)
  assert.equal(shell, '/usr/sbin/nologin')
  if (first.report!.actions.some((a) => a.kind === 'user' && a.action === 'created')) {
    assert.equal(home, '/nonexistent')
    assert.equal(statSync('/nonexistent', {throwIfNoEntry: false}), undefined, 'no home directory was made')
  }
  const gr = execFileSync('getent', ['group', 'pqconnect'], {encoding: 'utf8'}).trim().split(':')
  assert.equal(gr[2], gid, 'the primary group is pqconnect')

  const own = (p: string): [string, number, number] => {
    const st = statSync(p)
    return [(st.mode & 0o7777).toString(8), st.uid, st.gid]
  }
  assert.deepEqual(own('/etc/pqconnect'), ['755', 0, 0])
  assert.deepEqual(own('/etc/pqconnect/keys'), ['700', 0, 0])
  assert.deepEqual(own('/var/cache/pqconnect'), ['700', Number(uid), Number(gid)])
  for (const side of ['client', 'server']) {
    const unit = readFileSync(`/etc/systemd/system/pqconnect-${side}.service`, 'utf8')
    assert.deepEqual(own(`/etc/systemd/system/pqconnect-${side}.service`), ['644', 0, 0])
    assert.match(unit, new RegExp(`^ExecStart=/\\S+/pqc ${side} start`, 'm'))
  }

  // The worker user: its cache yes, the keys no.
  assert.equal(asWorker(['touch', '/var/cache/pqconnect/.h6-install-probe']), 0)
  assert.equal(asWorker(['rm', '/var/cache/pqconnect/.h6-install-probe']), 0)
  assert.notEqual(asWorker(['ls', '/etc/pqconnect/keys']), 0, 'pqconnect must not list the key directory')

  const before = state()
  const again = await install()
  assert.match(again.stdout, /^nothing to do$/m)
  const json = await install('--json')
  assert.equal(json.report!.changed, false)
  assert.deepEqual(state(), before, 'a second run changed a mode, owner or file')
  assert.equal(execFileSync('getent', ['passwd', 'pqconnect'], {encoding: 'utf8'}).trim().split(':')[2], uid)
})
