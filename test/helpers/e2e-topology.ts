/**
 * The end-to-end test's network (root): three namespaces, client, server and dns, joined at one
 * Linux bridge that lives in the dns namespace (a home router that also serves DNS), dual stack.
 * Owns the client's /etc/netns/<ns>/resolv.conf, long-running services (logs kept, stopped by PID
 * with SIGTERM then SIGKILL, always awaited) and commands run in a namespace with a timeout.
 *
 *   client ns (pqct-<pid>-e2ecli)      dns ns (pqct-<pid>-e2edns)           server ns (pqct-<pid>-e2esrv)
 *   lo 127.0.0.53 pqc resolver         br0 10.77.0.53/24 fd77::53/64        pqcserv0 10.42.0.1/16
 *   pqccli0 10.43.0.1/16               nsd on 10.77.0.53:53                 http :80, echo :7007, iperf3
 *   veth-cli 10.77.0.2 ==== br-cli --[br0]-- br-srv ==== veth-srv 10.77.0.10
 *            fd77::2                                              fd77::10  (captures taken here)
 */
import {execFile, execFileSync} from 'node:child_process'
import type {ChildProcess} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {NETNS_PREFIX, NetnsLab} from './netns.js'

const run = promisify(execFile)

export const E2E_NET = {
  clientIp: '10.77.0.2',
  serverIp: '10.77.0.10',
  dnsIp: '10.77.0.53',
  clientIp6: 'fd77::2',
  serverIp6: 'fd77::10',
  dnsIp6: 'fd77::53',
  clientIf: 'veth-cli',
  serverIf: 'veth-srv',
} as const

/** Bytes of a service's stdout+stderr kept for failure reports. */
const SERVICE_LOG_MAX_BYTES = 256 * 1024
/** Milliseconds a service gets after SIGTERM before SIGKILL. */
export const SERVICE_STOP_GRACE_MS = 10_000
const NETNS_ETC = '/etc/netns'

export interface ExitStatus {
  code: number | null
  signal: NodeJS.Signals | null
}

/** A long-running process in a namespace, with its output kept (bounded) for failure reports. */
export class Service {
  private logText = ''
  readonly exited: Promise<ExitStatus>

  constructor(readonly name: string, readonly child: ChildProcess) {
    const keep = (chunk: Buffer | string): void => {
      this.logText += String(chunk)
      if (this.logText.length > SERVICE_LOG_MAX_BYTES) this.logText = this.logText.slice(-SERVICE_LOG_MAX_BYTES / 2)
    }
    // Always drain both pipes: a full pipe would block the service.
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve({code: child.exitCode, signal: child.signalCode})
      else child.once('exit', (code, signal) => resolve({code, signal}))
    })
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  /** The last `lines` lines of output, prefixed with the service name. */
  log(lines = 60): string {
    const tail = this.logText.trimEnd().split('\n').slice(-lines).join('\n')
    return `--- ${this.name} (pid ${this.child.pid}, ${this.running ? 'running' : 'exited'}) ---\n${tail}`
  }

  /** Sends `signal` to the PID, waits up to graceMs, then SIGKILLs and waits again. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = SERVICE_STOP_GRACE_MS): Promise<ExitStatus & {killed: boolean}> {
    if (!this.running || this.child.pid === undefined) return {...(await this.exited), killed: false}
    process.kill(this.child.pid, signal)
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)))
    const first = await Promise.race([this.exited, late])
    clearTimeout(timer)
    if (first !== 'late') return {...first, killed: false}
    try {
      process.kill(this.child.pid, 'SIGKILL')
    } catch {
      // exited meanwhile
    }
    return {...(await this.exited), killed: true}
  }
}

/** Removes /etc/netns/pqct-<pid>-* directories of test processes that no longer exist. */
function removeStaleEtcNetns(): void {
  if (!existsSync(NETNS_ETC)) return
  for (const name of readdirSync(NETNS_ETC)) {
    const m = new RegExp(`^${NETNS_PREFIX}-(\\d+)-`).exec(name)
    if (m === null || Number(m[1]) === process.pid) continue
    try {
      process.kill(Number(m[1]), 0)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') rmSync(join(NETNS_ETC, name), {recursive: true, force: true})
    }
  }
}

export class E2eTopology {
  readonly lab = new NetnsLab()
  readonly client: string
  readonly server: string
  readonly dns: string
  /** Every service ever started here, stopped or not. */
  readonly services: Service[] = []
  private readonly etcDirs: string[] = []

  private readonly onExit = (): void => {
    for (const dir of this.etcDirs) rmSync(dir, {recursive: true, force: true})
  }

  /** `label` names the namespaces `pqct-<pid>-<label>cli`, `...srv`, `...dns` (other tests pass their own). */
  constructor(label = 'e2e') {
    removeStaleEtcNetns()
    process.on('exit', this.onExit)
    this.client = this.lab.addNamespace(`${label}cli`)
    this.server = this.lab.addNamespace(`${label}srv`)
    this.dns = this.lab.addNamespace(`${label}dns`)
    try {
      this.link()
    } catch (err) {
      this.lab.cleanup()
      throw err
    }
  }

  private link(): void {
    const ip = (ns: string, ...args: string[]): string => execFileSync('ip', ['-n', ns, ...args], {encoding: 'utf8'})
    ip(this.dns, 'link', 'add', 'br0', 'type', 'bridge')
    ip(this.dns, 'address', 'add', `${E2E_NET.dnsIp}/24`, 'dev', 'br0')
    ip(this.dns, 'address', 'add', `${E2E_NET.dnsIp6}/64`, 'dev', 'br0', 'nodad')
    ip(this.dns, 'link', 'set', 'br0', 'up')
    this.lab.addVeth({ns: this.client, ifname: E2E_NET.clientIf, cidrs: [`${E2E_NET.clientIp}/24`, `${E2E_NET.clientIp6}/64`]},
      {ns: this.dns, ifname: 'br-cli', cidrs: []})
    this.lab.addVeth({ns: this.server, ifname: E2E_NET.serverIf, cidrs: [`${E2E_NET.serverIp}/24`, `${E2E_NET.serverIp6}/64`]},
      {ns: this.dns, ifname: 'br-srv', cidrs: []})
    ip(this.dns, 'link', 'set', 'br-cli', 'master', 'br0')
    ip(this.dns, 'link', 'set', 'br-srv', 'master', 'br0')
  }

  /** Points the namespace's resolv.conf (bind-mounted by `ip netns exec`) at `nameserver`. */
  setResolvConf(ns: string, nameserver: string): void {
    const dir = join(NETNS_ETC, ns)
    mkdirSync(dir, {recursive: true})
    if (!this.etcDirs.includes(dir)) this.etcDirs.push(dir)
    writeFileSync(join(dir, 'resolv.conf'), `nameserver ${nameserver}\noptions timeout:2 attempts:2\n`)
  }

  /** Starts a long-running command in a namespace; stopped (and awaited) by cleanup(). */
  start(name: string, ns: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Service {
    const s = new Service(name, this.lab.spawnIn(ns, cmd, args, env))
    this.services.push(s)
    return s
  }

  /** Runs a command in a namespace; resolves with its output and exit code, never throws. */
  async exec(ns: string, cmd: string, args: string[], timeoutMs = 30_000): Promise<{code: number; stdout: string; stderr: string}> {
    try {
      const r = await run('ip', ['netns', 'exec', ns, cmd, ...args], {timeout: timeoutMs, maxBuffer: 16 << 20, encoding: 'utf8'})
      return {code: 0, stdout: r.stdout, stderr: r.stderr}
    } catch (err) {
      const e = err as {code?: number | string; stdout?: string; stderr?: string; killed?: boolean}
      const code = typeof e.code === 'number' ? e.code : -1
      return {code, stdout: e.stdout ?? '', stderr: `${e.stderr ?? ''}${e.killed === true ? ` (killed after ${timeoutMs} ms)` : ''}`}
    }
  }

  /** True when something in `ns` listens on `proto` port `port` (any address). */
  async listening(ns: string, proto: 'udp' | 'tcp', port: number): Promise<boolean> {
    const r = await this.exec(ns, 'ss', ['-Hln', proto === 'udp' ? '-u' : '-t'])
    return r.stdout.split('\n').some((l) => l.split(/\s+/).some((f) => f.endsWith(`:${port}`)))
  }

  /** True when interface `ifname` exists in `ns`. */
  async hasLink(ns: string, ifname: string): Promise<boolean> {
    return (await this.exec(ns, 'ip', ['link', 'show', 'dev', ifname])).code === 0
  }

  /** Polls `ready` every 200 ms until true; throws with the service's log when it exits or time runs out. */
  async waitReady(service: Service, what: string, ready: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (!service.running) throw new Error(`${service.name} exited before ${what}:\n${service.log()}`)
      if (await ready()) return
      await new Promise((r) => setTimeout(r, 200))
    }
    throw new Error(`${service.name}: no ${what} within ${timeoutMs} ms:\n${service.log()}`)
  }

  /** Output tails of every service, for assertion messages. */
  logs(lines = 40): string {
    return this.services.map((s) => s.log(lines)).join('\n')
  }

  /** Stops every service (SIGTERM, then SIGKILL) and waits for each; deletes namespaces and /etc/netns dirs. */
  async cleanup(): Promise<void> {
    await Promise.all(this.services.map((s) => s.stop('SIGTERM', 5_000)))
    this.lab.cleanup()
    for (const dir of this.etcDirs.splice(0)) rmSync(dir, {recursive: true, force: true})
    process.off('exit', this.onExit)
  }
}

/** Our namespaces and /etc/netns dirs that exist right now (for the leak check). */
export function leftovers(): string[] {
  const mine = `${NETNS_PREFIX}-${process.pid}-`
  const ns = execFileSync('ip', ['netns', 'list'], {encoding: 'utf8'}).split('\n').map((l) => l.split(' ')[0]!)
  const etc = existsSync(NETNS_ETC) ? readdirSync(NETNS_ETC).map((n) => join(NETNS_ETC, n)) : []
  return [...ns.filter((n) => n.startsWith(mine)), ...etc.filter((p) => p.includes(mine))]
}
