/**
 * The systemd units in config/systemd/ (issue 5, security-tests.md P-4/P-5): the hardening
 * directives are present with the values we rely on, ExecStart/ExecStopPost name real `pqc`
 * commands and flags (checked against the oclif command classes, as the man page test does), the
 * paths they use agree with the commands' defaults, and the recorded exposure figure is current.
 */
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {join} from 'node:path'
import {test} from 'node:test'

import {DEFAULT_KEYDIR} from '../../router/keys/keydir.js'
import {DEFAULT_CONFIG_DIR} from '../../router/keys/config-dir.js'
import {CACHE_DIR, PQC_BIN_PATH, RESOLVER_CONFIG, UNIT_FILES} from '../../oclif/host-install.js'
import {REPO_ROOT} from '../helpers/repo.js'
import {parseUnit, readUnit} from '../helpers/systemd-unit.js'

const one = (u: Map<string, string[]>, key: string): string => {
  const v = u.get(key)
  assert.ok(v !== undefined && v.length === 1, `${key}= must appear exactly once (got ${JSON.stringify(v)})`)
  return v[0]!
}

interface FlagDef {type: 'boolean' | 'option'; default?: unknown}
interface CommandClass {flags?: Record<string, FlagDef>; baseFlags?: Record<string, FlagDef>}

/** The command class for the words after `pqc` (longest match), and the remaining arguments. */
async function resolveCommand(argv: string[]): Promise<{id: string; flags: Record<string, FlagDef>; rest: string[]}> {
  for (let n = Math.min(2, argv.length); n >= 1; n--) {
    const id = argv.slice(0, n)
    if (id.some((w) => w.startsWith('-'))) continue
    try {
      const mod = (await import(`../../oclif/commands/${id.join('/')}.js`)) as {default: CommandClass}
      return {id: id.join(' '), flags: {...mod.default.baseFlags, ...mod.default.flags}, rest: argv.slice(n)}
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error
    }
  }
  throw new assert.AssertionError({message: `no pqc command for: ${argv.join(' ')}`})
}

/** The flags of a command line, checked to exist, with their values (booleans: 'true'). */
async function parseCommandLine(line: string): Promise<{id: string; flags: Map<string, string>; cls: Record<string, FlagDef>}> {
  assert.doesNotMatch(line, /["'\\$%;|&]/, 'keep Exec lines free of quoting, specifiers and shell syntax')
  const [bin, ...argv] = line.split(/\s+/)
  assert.equal(bin, PQC_BIN_PATH)
  const cmd = await resolveCommand(argv)
  const flags = new Map<string, string>()
  for (let i = 0; i < cmd.rest.length; i++) {
    const m = /^--([a-z][a-z0-9-]*)$/.exec(cmd.rest[i]!)
    assert.ok(m !== null, `pqc ${cmd.id}: unexpected argument ${cmd.rest[i]}`)
    const def = cmd.flags[m[1]!]
    assert.ok(def !== undefined, `pqc ${cmd.id} has no flag --${m[1]}`)
    if (def.type === 'boolean') flags.set(m[1]!, 'true')
    else {
      const v = cmd.rest[++i]
      assert.ok(v !== undefined && !v.startsWith('--'), `pqc ${cmd.id} --${m[1]} needs a value`)
      flags.set(m[1]!, v)
    }
  }
  return {id: cmd.id, flags, cls: cmd.flags}
}

/** The value a flag takes: given on the line, else the class's static default. */
function effective(c: {flags: Map<string, string>; cls: Record<string, FlagDef>}, name: string): string {
  const v = c.flags.get(name) ?? c.cls[name]?.default
  assert.equal(typeof v, 'string', `--${name} has neither a value on the line nor a static default`)
  return v as string
}

const HARDENING: Record<string, string> = {
  CapabilityBoundingSet: 'CAP_NET_ADMIN CAP_NET_BIND_SERVICE CAP_SETUID CAP_SETGID CAP_KILL CAP_CHOWN',
  AmbientCapabilities: '',
  NoNewPrivileges: 'yes',
  ProtectSystem: 'strict',
  ProtectHome: 'yes',
  PrivateTmp: 'yes',
  PrivateDevices: 'no',
  DevicePolicy: 'closed',
  DeviceAllow: '/dev/net/tun rw',
  RestrictAddressFamilies: 'AF_UNIX AF_INET AF_INET6 AF_NETLINK',
  ProtectKernelTunables: 'yes',
  ProtectKernelModules: 'yes',
  ProtectKernelLogs: 'yes',
  ProtectControlGroups: 'yes',
  ProtectClock: 'yes',
  ProtectHostname: 'yes',
  ProtectProc: 'invisible',
  ProcSubset: 'pid',
  LockPersonality: 'yes',
  RestrictNamespaces: 'yes',
  RestrictRealtime: 'yes',
  RestrictSUIDSGID: 'yes',
  SystemCallArchitectures: 'native',
  MemoryDenyWriteExecute: 'no',
  UMask: '0077',
  LimitCORE: '0',
  MemorySwapMax: '0',
  RuntimeDirectoryPreserve: 'yes',
  Restart: 'always',
  RestartSec: '1',
  KillMode: 'mixed',
}

const read = readUnit

for (const {name, side} of UNIT_FILES) {
  test(`${name}: hardening directives`, () => {
    const u = parseUnit(read(name))
    for (const [key, want] of Object.entries(HARDENING)) assert.equal(one(u, key), want, `${name}: ${key}=`)
    assert.equal(u.get('User'), undefined, 'the monitor runs as root; workers drop to pqconnect themselves')
    const filters = u.get('SystemCallFilter') ?? []
    assert.ok(filters.includes('@system-service'), 'SystemCallFilter=@system-service')
    const denied = filters.filter((f) => f.startsWith('~')).join(' ')
    for (const g of ['@mount', '@module', '@raw-io', '@reboot', '@swap', '@debug', '@clock', '@obsolete']) assert.match(denied, new RegExp(`${g}(\\s|$)`), `SystemCallFilter=~${g}`)
    assert.deepEqual(u.get('RuntimeDirectory')?.[0]?.split(' ').includes('pqconnect'), true)
    assert.equal(u.get('CacheDirectory'), undefined, 'CacheDirectory= would chown the cache to root on each start')
    assert.equal(one(u, 'WantedBy'), 'multi-user.target')
    if (side === 'client') assert.equal(one(u, 'Before'), 'nss-lookup.target', 'the client is a DNS resolver')
  })

  test(`${name}: ExecStart and ExecStopPost name real pqc commands, flags and paths`, async () => {
    const u = parseUnit(read(name))
    const start = await parseCommandLine(one(u, 'ExecStart'))
    assert.equal(start.id, `${side} start`)
    const stop = await parseCommandLine(one(u, 'ExecStopPost'))
    assert.equal(stop.id, 'cleanup')
    // cleanup removes this side's TUN only: exactly the one ExecStart creates.
    assert.equal(effective(stop, 'tun'), effective(start, 'tun'))
    assert.equal(stop.flags.size, 1, 'cleanup takes only --tun here (default socket dirs cover both sides)')
    const runtime = one(u, 'RuntimeDirectory').split(' ').map((d) => `/run/${d}`)
    const inRuntime = (p: string): boolean => runtime.some((d) => p.startsWith(`${d}/`))
    for (const f of ['pid-file', 'control-socket', 'router-socket']) {
      if (start.cls[f] === undefined) continue
      const v = start.flags.get(f) ?? start.cls[f]!.default
      if (typeof v === 'string') assert.ok(inRuntime(v), `--${f} ${v} is outside RuntimeDirectory= (read-only under ProtectSystem=strict)`)
    }
    if (side === 'client') {
      assert.equal(one(u, 'ReadWritePaths'), effective(start, 'cache-dir'))
      assert.equal(effective(start, 'cache-dir'), CACHE_DIR, 'pqc install makes the cache directory the client uses')
      assert.equal(start.flags.get('resolver-config'), RESOLVER_CONFIG, 'pqc install seeds this resolver config')
    } else {
      assert.equal(u.get('ReadWritePaths'), undefined, 'the server writes nothing outside /run')
      assert.equal(start.flags.get('keydir'), DEFAULT_KEYDIR)
      assert.equal(start.flags.get('config-dir'), DEFAULT_CONFIG_DIR)
    }
  })

  test(`${name}: the recorded systemd-analyze exposure is current`, (t) => {
    const recorded = /^# EXPOSURE: (\d+\.\d)\b/m.exec(read(name))
    assert.ok(recorded !== null, 'the unit records its exposure in a "# EXPOSURE: N.N" comment')
    assert.ok(Number(recorded[1]) <= 3.0, 'security-tests.md P-4: exposure at most 3.0')
    let out: string
    try {
      out = execFileSync('systemd-analyze', ['security', '--offline=true', join(REPO_ROOT, 'config', 'systemd', name)], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']})
    } catch (error) {
      const e = error as NodeJS.ErrnoException & {stdout?: string}
      if (e.code !== 'ENOENT') throw error
      t.diagnostic('systemd-analyze not installed: only the recorded figure is checked')
      return
    }
    const m = /Overall exposure level for \S+: (\d+\.\d)/.exec(out)
    assert.ok(m !== null, out.slice(-300))
    assert.equal(m[1], recorded[1], `${name}: exposure is now ${m[1]}; update the # EXPOSURE comment (and explain what changed)`)
  })
}
