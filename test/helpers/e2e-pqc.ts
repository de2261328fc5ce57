/**
 * The `pqc` CLI as the end-to-end test runs it (the repository's own oclif/bin/run.js, which
 * loads the compiled commands from dist/): key generation in a temp dir, and `pqc server start`
 * / `pqc client start` as foreground services in their namespaces, ready once their TUN device
 * exists and their UDP ports listen.
 */
import {execFile, execFileSync} from 'node:child_process'
import {mkdirSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {promisify} from 'node:util'

import {REPO_ROOT} from './repo.js'
import {type E2eTopology, type Service} from './e2e-topology.js'

const run = promisify(execFile)

export const PQC_BIN = join(REPO_ROOT, 'oclif/bin/run.js')
export const E2E_PQC_PORT = 624
export const E2E_KEY_PORT = 584
export const SERVER_TUN = 'pqcserv0'
export const CLIENT_TUN = 'pqccli0'
export const CLIENT_LISTEN = '127.0.0.53'
/** Milliseconds a daemon gets to create its TUN device and bind its ports. */
const DAEMON_READY_TIMEOUT_MS = 30_000

export interface ServerKeys {
  keydir: string
  configDir: string
  label: string
  keyHashHex: string
  pqcPort: number
  keyPort: number
}

/** `pqc server keygen --json` into dir/keys and dir/config. */
export async function keygen(dir: string): Promise<ServerKeys> {
  const keydir = join(dir, 'keys')
  const configDir = join(dir, 'config')
  const {stdout} = await run(process.execPath, [PQC_BIN, 'server', 'keygen', '--keydir', keydir, '--config-dir', configDir,
    '--pqcport', String(E2E_PQC_PORT), '--keyport', String(E2E_KEY_PORT), '--json'], {timeout: 120_000, encoding: 'utf8'})
  const out = JSON.parse(stdout) as {label: string; keyHashHex: string; pqcPort: number; keyPort: number}
  return {keydir, configDir, label: out.label, keyHashHex: out.keyHashHex, pqcPort: out.pqcPort, keyPort: out.keyPort}
}

/**
 * The workers run as the system user pqconnect (privilege separation); `pqc install` creates it on
 * a real host, and a fresh CI machine gets it here, the same way (system user, no login).
 */
export function ensureWorkerUser(): void {
  try {
    execFileSync('getent', ['passwd', 'pqconnect'], {stdio: 'ignore'})
  } catch {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', '--user-group', 'pqconnect'])
  }
}

/** `pqc server start` in `ns`; resolves when pqcserv0 exists and both UDP ports listen. */
export async function startServer(topo: E2eTopology, ns: string, keys: ServerKeys, name = 'pqc server'): Promise<Service> {
  ensureWorkerUser()
  const s = topo.start(name, ns, process.execPath, [PQC_BIN, 'server', 'start', '--keydir', keys.keydir,
    '--config-dir', keys.configDir, '--pqcport', String(keys.pqcPort), '--keyport', String(keys.keyPort),
    // Private pid file and control socket: runs of this test on one host must not collide. The
    // socket's directory does not exist yet: the monitor creates it for the worker user.
    '--pid-file', join(dirname(keys.keydir), 'server.pid'), '--control-socket', join(dirname(keys.keydir), 'run', 'server.sock')])
  await topo.waitReady(s, `${SERVER_TUN} and UDP ports ${keys.pqcPort}/${keys.keyPort}`, async () =>
    (await topo.hasLink(ns, SERVER_TUN)) && (await topo.listening(ns, 'udp', keys.pqcPort))
    && (await topo.listening(ns, 'udp', keys.keyPort)), DAEMON_READY_TIMEOUT_MS)
  return s
}

/** `pqc client start` in `ns` with `upstream`; resolves when pqccli0 exists and the resolver listens. */
export async function startClient(topo: E2eTopology, ns: string, upstream: string, dir: string, extra: string[] = []): Promise<Service> {
  ensureWorkerUser()
  mkdirSync(dir, {recursive: true})
  const s = topo.start('pqc client', ns, process.execPath, [PQC_BIN, 'client', 'start', '--upstream', upstream,
    '--listen', `${CLIENT_LISTEN}:53`, ...(extra.includes('--cache-dir') ? [] : ['--cache-dir', join(dir, 'cache')]),
    '--router-socket', join(dir, 'run', 'router.sock'), '--control-socket', join(dir, 'run', 'control.sock'), '--pid-file', join(dir, 'client.pid'), ...extra])
  await topo.waitReady(s, `${CLIENT_TUN} and the resolver on ${CLIENT_LISTEN}:53`, async () =>
    (await topo.hasLink(ns, CLIENT_TUN)) && (await topo.listening(ns, 'udp', 53)), DAEMON_READY_TIMEOUT_MS)
  return s
}
