/**
 * Network namespaces, veth links and child processes for *.netns.test.ts (root only). Names carry
 * the test's PID (`pqct-<pid>-<label>`, prefix PQC_NETNS_PREFIX when set) so parallel runs never collide, and a run that died is
 * cleaned by the next (removeStaleNamespaces). cleanup() kills every child we started, by PID,
 * then whatever still runs in our namespaces, then deletes them; it also runs at process exit.
 */
import {execFileSync, spawn} from 'node:child_process'
import type {ChildProcess} from 'node:child_process'
import {fileURLToPath} from 'node:url'

/** `pqct`, or PQC_NETNS_PREFIX (lowercase letters) to keep parallel runs of several checkouts apart. */
export const NETNS_PREFIX = /^[a-z]{1,8}$/.test(process.env.PQC_NETNS_PREFIX ?? '') ? process.env.PQC_NETNS_PREFIX! : 'pqct'
/** Start of interface names the tests create inside their namespaces: `pqc`, or the custom prefix. */
export const LAB_IF_PREFIX = NETNS_PREFIX === 'pqct' ? 'pqc' : NETNS_PREFIX
/** Milliseconds a child may run before waitForExit kills it. */
export const CHILD_TIMEOUT_MS_DEFAULT = 60_000

const NAME_RE = new RegExp(`^${NETNS_PREFIX}-(\\d+)-`)

function ipSync(args: string[]): string {
  return execFileSync('ip', args, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']})
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function listNamespaces(): string[] {
  return ipSync(['netns', 'list']).split('\n').map((l) => l.split(' ')[0]!).filter((n) => n !== '')
}

function killNamespaceProcesses(ns: string): void {
  let pids: number[] = []
  try {
    pids = ipSync(['netns', 'pids', ns]).split('\n').filter((s) => s !== '').map(Number)
  } catch {
    return
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
}

function deleteNamespace(ns: string): void {
  killNamespaceProcesses(ns)
  try {
    ipSync(['netns', 'del', ns])
  } catch {
    // already gone
  }
}

/** Deletes namespaces left behind by test processes that no longer exist. */
export function removeStaleNamespaces(): string[] {
  const removed: string[] = []
  for (const ns of listNamespaces()) {
    const m = NAME_RE.exec(ns)
    if (m !== null && Number(m[1]) !== process.pid && !alive(Number(m[1]))) {
      deleteNamespace(ns)
      removed.push(ns)
    }
  }
  return removed
}

/** The path of a script next to the calling test, as .ts under tsx or .js once compiled. */
export function siblingScript(importMetaUrl: string, baseName: string): string {
  const self = fileURLToPath(importMetaUrl)
  const ext = self.endsWith('.ts') ? '.ts' : '.js'
  return fileURLToPath(new URL(`./${baseName}${ext}`, importMetaUrl))
}

export interface VethEnd {
  ns: string
  ifname: string
  /** Address with prefix, e.g. '10.98.0.1/24'; IPv6 addresses are added with nodad. */
  cidrs: string[]
}

export interface ChildResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export class NetnsLab {
  readonly namespaces: string[] = []
  private readonly children = new Map<number, ChildProcess>()
  private readonly onExit = (): void => this.cleanup()

  constructor() {
    removeStaleNamespaces()
    process.on('exit', this.onExit)
  }

  /** Creates `pqct-<pid>-<label>` with its loopback up. */
  addNamespace(label: string): string {
    const ns = `${NETNS_PREFIX}-${process.pid}-${label}`
    deleteNamespace(ns)
    ipSync(['netns', 'add', ns])
    this.namespaces.push(ns)
    // No duplicate address detection in a lab: a tentative link-local address delays IPv6
    // neighbour discovery, and packets queued meanwhile beyond unres_qlen are dropped.
    ipSync(['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0'])
    ipSync(['-n', ns, 'link', 'set', 'lo', 'up'])
    return ns
  }

  /** A veth pair created directly inside the two namespaces (never visible in ours), addressed and up. */
  addVeth(a: VethEnd, b: VethEnd): void {
    ipSync(['link', 'add', a.ifname, 'netns', a.ns, 'type', 'veth', 'peer', 'name', b.ifname, 'netns', b.ns])
    for (const end of [a, b]) {
      for (const cidr of end.cidrs) {
        const extra = cidr.includes(':') ? ['nodad'] : []
        ipSync(['-n', end.ns, 'address', 'add', cidr, 'dev', end.ifname, ...extra])
      }
      ipSync(['-n', end.ns, 'link', 'set', end.ifname, 'up'])
    }
  }

  /** Runs a command in a namespace and returns its stdout (throws on failure). */
  execIn(ns: string, cmd: string, args: string[]): string {
    return execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], {encoding: 'utf8'})
  }

  /** Starts a process in a namespace; it is tracked by PID until cleanup. */
  spawnIn(ns: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
    // `ip netns exec` execs the command, so the PID we track is the command's own.
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, ...env},
    })
    if (child.pid !== undefined) {
      const pid = child.pid
      this.children.set(pid, child)
      child.once('exit', () => this.children.delete(pid))
    }
    return child
  }

  /** Starts a node script (.ts through tsx, .js as is) in a namespace. */
  nodeIn(ns: string, script: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): ChildProcess {
    const pre = script.endsWith('.ts') ? ['--import', 'tsx'] : []
    return this.spawnIn(ns, process.execPath, [...pre, script, ...args], env)
  }

  /** Kills every child we started, by PID, then what runs in our namespaces; deletes them. */
  cleanup(): void {
    for (const [pid] of this.children) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
    this.children.clear()
    for (const ns of this.namespaces.splice(0)) deleteNamespace(ns)
    process.off('exit', this.onExit)
  }
}

/** Collects a child's output; resolves on exit, kills it (SIGKILL) after timeoutMs. */
export function waitForExit(child: ChildProcess, timeoutMs = CHILD_TIMEOUT_MS_DEFAULT): Promise<ChildResult> {
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s))
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s))
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      resolve({code, signal, stdout, stderr})
    })
  })
}

/** Resolves with the first stdout line that parses as JSON and satisfies `match`. */
export function waitForJsonLine<T>(child: ChildProcess, match: (v: T) => boolean, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    let buf = ''
    const timer = setTimeout(() => reject(new Error(`no matching line within ${timeoutMs} ms`)), timeoutMs)
    const onData = (chunk: Buffer | string): void => {
      buf += String(chunk)
      let nl: number
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        try {
          const v = JSON.parse(line) as T
          if (match(v)) {
            clearTimeout(timer)
            child.stdout?.off('data', onData)
            resolve(v)
            return
          }
        } catch {
          // not JSON: a log line
        }
      }
    }
    child.stdout?.on('data', onData)
    child.once('exit', () => {
      clearTimeout(timer)
      reject(new Error('child exited before the expected line'))
    })
  })
}

/** The last stdout line that parses as JSON (children report their result this way). */
export function lastJson<T>(stdout: string): T {
  const lines = stdout.trim().split('\n').reverse()
  for (const line of lines) {
    try {
      return JSON.parse(line) as T
    } catch {
      // keep looking
    }
  }
  throw new Error(`no JSON result in child output:\n${stdout}`)
}
