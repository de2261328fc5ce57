/**
 * `pqc install` (issue 5, service management): brings a host, or a directory tree standing for one
 * (--root), to the state the systemd units expect: the system user and group `pqconnect`, the
 * directories with their owners and modes, the units, and an example resolver config. Each step
 * compares first and changes only what differs, so a second run reports nothing to do.
 */
import {execFileSync} from 'node:child_process'
import {accessSync, chmodSync, chownSync, constants, existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {delimiter, dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {WORKER_USER} from '../src/constants.js'
import {LocalError} from '../src/errors.js'
import {writeFileAtomic} from '../router/keys/atomic-write.js'
import {DEFAULT_KEYDIR} from '../router/keys/keydir.js'

/** Where the units expect the `pqc` command; a real install rewrites it to the one on PATH. */
export const PQC_BIN_PATH = '/usr/local/bin/pqc'
/** The client's key cache (`pqc client start --cache-dir` default), written by its worker. */
export const CACHE_DIR = '/var/cache/pqconnect'
export const CONFIG_ROOT = '/etc/pqconnect'
export const RESOLVER_CONFIG = '/etc/pqconnect/resolver.json'
export const UNIT_DIR = '/etc/systemd/system'
export const UNIT_FILES = [
  {name: 'pqconnect-client.service', side: 'client'},
  {name: 'pqconnect-server.service', side: 'server'},
] as const
/** How long one useradd or systemctl may take. */
const TOOL_TIMEOUT_MS = 30_000

export interface InstallOptions {
  /** optional: install into this directory tree instead of / (no systemctl, user database under it). */
  root?: string
  /** optional: leave the units out (and systemctl alone). */
  noSystemd?: boolean
  /** optional: report what would change, change nothing. */
  dryRun?: boolean
}

export interface InstallAction {
  /** user, dir, file or systemd */
  kind: 'user' | 'dir' | 'file' | 'systemd'
  /** the path (as on the target host, without --root) or the account name */
  target: string
  /** created, updated, chmod, chown, reloaded: a change; ok or skipped: none */
  action: 'created' | 'updated' | 'chmod' | 'chown' | 'reloaded' | 'ok' | 'skipped'
  detail: string
}

export interface InstallReport {
  root: string
  dryRun: boolean
  changed: boolean
  actions: InstallAction[]
}

/** The package root (config/ and man/ live there), from dist/oclif/ or oclif/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json')) || dir.endsWith('dist')) {
    const up = dirname(dir)
    if (up === dir) throw new LocalError('PQC_ERR_IO', 'install: cannot find the pqc package root (package.json)')
    dir = up
  }
  return dir
}

/** uid and gid of an account: getent on this host (NSS users count), `<root>/etc/passwd` under --root. */
function lookupUser(root: string, name: string): {uid: number; gid: number} | undefined {
  let text: string
  try {
    text = root === '/'
      ? execFileSync('getent', ['passwd', name], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: TOOL_TIMEOUT_MS})
      : readFileSync(join(root, 'etc', 'passwd'), 'utf8')
  } catch {
    return undefined
  }
  for (const line of text.split('\n')) {
    const f = line.split(':')
    if (f[0] === name && f.length >= 7) return {uid: Number(f[2]), gid: Number(f[3])}
  }
  return undefined
}

/** Whether a group exists: getent on this host, `<root>/etc/group` under --root. */
function groupExists(root: string, name: string): boolean {
  try {
    if (root === '/') {
      execFileSync('getent', ['group', name], {stdio: 'ignore', timeout: TOOL_TIMEOUT_MS})
      return true
    }
    return readFileSync(join(root, 'etc', 'group'), 'utf8').split('\n').some((l) => l.split(':')[0] === name)
  } catch {
    return false
  }
}

/** The `pqc` on PATH (npm link puts it in npm's global bin), else PQC_BIN_PATH. */
function pqcOnPath(): string {
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    if (!d.startsWith('/')) continue
    try {
      accessSync(join(d, 'pqc'), constants.X_OK)
      return join(d, 'pqc')
    } catch {
      // not here
    }
  }
  return PQC_BIN_PATH
}

/** sd_booted(3): the host runs systemd as PID 1. */
const systemdRunning = (): boolean => existsSync('/run/systemd/system')

class Installer {
  readonly actions: InstallAction[] = []
  constructor(readonly root: string, readonly dryRun: boolean) {}

  at(path: string): string {
    return this.root === '/' ? path : join(this.root, path)
  }

  note(kind: InstallAction['kind'], target: string, action: InstallAction['action'], detail: string): void {
    this.actions.push({kind, target, action, detail})
  }

  /** The system account; useradd --prefix edits `<root>/etc/*` without a chroot. */
  user(): {uid: number; gid: number} | undefined {
    const found = lookupUser(this.root, WORKER_USER)
    if (found !== undefined) {
      this.note('user', WORKER_USER, 'ok', `uid ${found.uid}, gid ${found.gid}`)
      return found
    }
    if (!existsSync(this.at('/etc/passwd'))) {
      this.note('user', WORKER_USER, 'skipped', `no ${this.at('/etc/passwd')}: ${CACHE_DIR} stays owned by root`)
      return undefined
    }
    // A group left from an earlier install becomes the primary group instead of a new one.
    const group = groupExists(this.root, WORKER_USER) ? ['--gid', WORKER_USER] : ['--user-group']
    const args = ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', ...group, '--comment', 'pqc workers', WORKER_USER]
    if (this.root !== '/') args.unshift('--prefix', this.root)
    if (this.dryRun) {
      this.note('user', WORKER_USER, 'created', `would run useradd ${args.join(' ')}`)
      return undefined
    }
    try {
      execFileSync('useradd', args, {stdio: ['ignore', 'ignore', 'pipe'], timeout: TOOL_TIMEOUT_MS})
    } catch (error) {
      const stderr = String((error as {stderr?: Buffer}).stderr ?? (error as Error).message).trim()
      throw new LocalError('PQC_ERR_IO', `install: useradd ${WORKER_USER} failed: ${stderr}`, {hint: 'run pqc install as root', cause: error})
    }
    const made = lookupUser(this.root, WORKER_USER)
    if (made === undefined) throw new LocalError('PQC_ERR_IO', `install: useradd succeeded but ${WORKER_USER} is not in ${this.at('/etc/passwd')}`)
    this.note('user', WORKER_USER, 'created', `system user and group, uid ${made.uid}, gid ${made.gid}, shell /usr/sbin/nologin`)
    return made
  }

  /** Owner and mode of `path`, fixing whichever differs. */
  private settle(kind: 'dir' | 'file', path: string, mode: number, owner: {uid: number; gid: number}, ownerName: string): void {
    const st = lstatSync(this.at(path))
    let changed = false
    if (st.uid !== owner.uid || st.gid !== owner.gid) {
      if (!this.dryRun) chownSync(this.at(path), owner.uid, owner.gid)
      this.note(kind, path, 'chown', `owner ${st.uid}:${st.gid} -> ${ownerName} (${owner.uid}:${owner.gid})`)
      changed = true
    }
    if ((st.mode & 0o7777) !== mode) {
      if (!this.dryRun) chmodSync(this.at(path), mode)
      this.note(kind, path, 'chmod', `mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')} -> ${mode.toString(8).padStart(4, '0')}`)
      changed = true
    }
    if (!changed) this.note(kind, path, 'ok', `${ownerName}, mode ${mode.toString(8).padStart(4, '0')}`)
  }

  dir(path: string, mode: number, owner: {uid: number; gid: number}, ownerName: string): void {
    const full = this.at(path)
    if (existsSync(full)) {
      if (!lstatSync(full).isDirectory()) throw new LocalError('PQC_ERR_IO', `install: ${full} exists and is not a directory`)
      this.settle('dir', path, mode, owner, ownerName)
      return
    }
    if (!this.dryRun) {
      mkdirSync(full, {recursive: true, mode: 0o755})
      chownSync(full, owner.uid, owner.gid)
      chmodSync(full, mode)
    }
    this.note('dir', path, 'created', `${ownerName}, mode ${mode.toString(8).padStart(4, '0')}`)
  }

  /** A system directory (/var/cache) made only if missing, never re-moded: it is not ours. */
  parent(path: string): void {
    if (existsSync(this.at(path))) return
    if (!this.dryRun) mkdirSync(this.at(path), {recursive: true, mode: 0o755})
    this.note('dir', path, 'created', 'root, mode 0755')
  }

  /** A file we own (units): rewritten when its content differs. */
  file(path: string, content: string, mode: number): boolean {
    const full = this.at(path)
    const old = existsSync(full) ? readFileSync(full, 'utf8') : undefined
    if (old === content) {
      this.settle('file', path, mode, {uid: 0, gid: 0}, 'root')
      return false
    }
    if (!this.dryRun) {
      mkdirSync(dirname(full), {recursive: true, mode: 0o755})
      writeFileAtomic(full, Buffer.from(content, 'utf8'), mode)
      chmodSync(full, mode)
    }
    this.note('file', path, old === undefined ? 'created' : 'updated', `mode ${mode.toString(8).padStart(4, '0')}`)
    return true
  }

  /** A file the administrator owns afterwards (config): written only when absent. */
  seed(path: string, content: string, mode: number): void {
    if (existsSync(this.at(path))) {
      this.note('file', path, 'ok', 'present: left as it is')
      return
    }
    if (!this.dryRun) {
      writeFileSync(this.at(path), content, {mode, flag: 'wx'})
      chmodSync(this.at(path), mode)
    }
    this.note('file', path, 'created', `from config/resolver.example.json, mode ${mode.toString(8).padStart(4, '0')}`)
  }
}

/** Installs (or, with dryRun, plans) everything; throws LocalError(PQC_ERR_IO) on the first failure. */
export function install(o: InstallOptions = {}): InstallReport {
  const root = o.root ?? '/'
  if (!root.startsWith('/')) throw new LocalError('PQC_ERR_ARGUMENT', `install: --root must be an absolute path, not ${root}`)
  if (!existsSync(root)) throw new LocalError('PQC_ERR_ARGUMENT', `install: --root ${root} does not exist`)
  const pkg = packageRoot()
  const ins = new Installer(root, o.dryRun === true)
  const rootOwner = {uid: 0, gid: 0}
  const user = ins.user()
  ins.dir(CONFIG_ROOT, 0o755, rootOwner, 'root')
  ins.dir(DEFAULT_KEYDIR, 0o700, rootOwner, 'root')
  ins.parent(dirname(CACHE_DIR))
  ins.dir(CACHE_DIR, 0o700, user ?? rootOwner, user === undefined ? 'root' : WORKER_USER)
  ins.seed(RESOLVER_CONFIG, readFileSync(join(pkg, 'config', 'resolver.example.json'), 'utf8'), 0o644)
  if (o.noSystemd === true) {
    ins.note('systemd', UNIT_DIR, 'skipped', '--no-systemd: units not installed')
  } else {
    const bin = root === '/' ? pqcOnPath() : PQC_BIN_PATH
    let unitsChanged = false
    for (const u of UNIT_FILES) {
      const text = readFileSync(join(pkg, 'config', 'systemd', u.name), 'utf8').replaceAll(`${PQC_BIN_PATH} `, `${bin} `)
      if (ins.file(`${UNIT_DIR}/${u.name}`, text, 0o644)) unitsChanged = true
    }
    if (root !== '/') ins.note('systemd', 'daemon-reload', 'skipped', '--root: the running systemd is not told')
    else if (!systemdRunning()) ins.note('systemd', 'daemon-reload', 'skipped', 'systemd is not PID 1 here')
    else if (unitsChanged) {
      if (!ins.dryRun) execFileSync('systemctl', ['daemon-reload'], {stdio: 'ignore', timeout: TOOL_TIMEOUT_MS})
      ins.note('systemd', 'daemon-reload', 'reloaded', 'systemctl daemon-reload')
    }
  }
  const changed = ins.actions.some((a) => !['ok', 'skipped'].includes(a.action))
  return {root, dryRun: ins.dryRun, changed, actions: ins.actions}
}
