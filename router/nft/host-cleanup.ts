/**
 * `pqc cleanup`: removes everything we add to a host, from any state and needing no other state
 * (Tailscale `CleanUp`, security-tests.md F-3/F-7): our nft table; control sockets that nobody
 * listens on any more; TUN devices with our names that no live process holds (a non-persistent
 * TUN dies with its process; only a persistent one can be left). Idempotent: a second run finds
 * nothing and says so. Everything not ours is left alone.
 */
import {execFileSync} from 'node:child_process'
import {existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, unlinkSync} from 'node:fs'
import {connect} from 'node:net'
import {join} from 'node:path'

import {IP_COMMAND_TIMEOUT_MS} from '../../src/constants.js'
import {removeTable} from './apply.js'
import type {NftRunner} from './runner.js'

/** Where our daemons put control sockets (router: /run/pqconnect, resolver default: /run/pqc). */
export const CONTROL_SOCKET_DIRS = ['/run/pqconnect', '/run/pqc']
/** Our TUN names (architecture.md section 5). */
export const TUN_NAMES = ['pqccli0', 'pqcserv0']
/** How long a connect() to a control socket may take before we call it in use (and keep it). */
const SOCKET_PROBE_TIMEOUT_MS = 500

export interface CleanupReport {
  table: 'removed' | 'absent'
  sockets: {path: string; action: 'removed' | 'in-use'}[]
  tuns: {name: string; action: 'removed' | 'in-use' | 'absent' | 'not-a-tun'}[]
}

export interface CleanupOptions {
  /** optional: nft runner (default: the system's nft). */
  runner?: NftRunner
  /** optional: directories whose stale sockets to remove (default CONTROL_SOCKET_DIRS). */
  socketDirs?: string[]
  /** optional: TUN names to check (default TUN_NAMES). */
  tunNames?: string[]
}

/** ECONNREFUSED: a socket file with no listener (its process died): stale. */
function probeSocket(path: string): Promise<'stale' | 'in-use' | 'gone'> {
  return new Promise((resolve) => {
    const s = connect(path)
    const done = (v: 'stale' | 'in-use' | 'gone'): void => {
      clearTimeout(timer)
      s.destroy()
      resolve(v)
    }
    const timer = setTimeout(() => done('in-use'), SOCKET_PROBE_TIMEOUT_MS)
    s.once('connect', () => done('in-use'))
    s.once('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED' ? 'stale' : e.code === 'ENOENT' ? 'gone' : 'in-use'))
  })
}

async function cleanSockets(dirs: string[]): Promise<CleanupReport['sockets']> {
  const out: CleanupReport['sockets'] = []
  for (const dir of dirs) {
    let names: string[]
    try {
      names = readdirSync(dir).sort()
    } catch {
      continue
    }
    for (const name of names) {
      const path = join(dir, name)
      try {
        if (!lstatSync(path).isSocket()) continue
      } catch {
        continue
      }
      const state = await probeSocket(path)
      if (state === 'gone') continue
      if (state === 'stale') {
        try {
          unlinkSync(path)
        } catch {
          continue
        }
        out.push({path, action: 'removed'})
      } else {
        out.push({path, action: 'in-use'})
      }
    }
  }
  return out
}

function readlinkOr(path: string): string | undefined {
  try {
    return readlinkSync(path)
  } catch {
    return undefined
  }
}

/** PIDs in our network namespace holding a /dev/net/tun fd attached to `name` (fdinfo `iff:`). */
export function tunHolders(name: string): number[] {
  const ourNs = readlinkOr('/proc/self/ns/net')
  const holders: number[] = []
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    if (readlinkOr(`/proc/${pid}/ns/net`) !== ourNs) continue
    let fds: string[]
    try {
      fds = readdirSync(`/proc/${pid}/fd`)
    } catch {
      continue
    }
    for (const fd of fds) {
      if (readlinkOr(`/proc/${pid}/fd/${fd}`) !== '/dev/net/tun') continue
      try {
        if (new RegExp(`^iff:\\s+${name.replace(/[.]/g, '\\.')}$`, 'm').test(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))) {
          holders.push(Number(pid))
          break
        }
      } catch {
        // process or fd went away meanwhile
      }
    }
  }
  return holders
}

function cleanTuns(names: string[]): CleanupReport['tuns'] {
  return names.map((name) => {
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name) || !existsSync(`/sys/class/net/${name}`)) return {name, action: 'absent' as const}
    if (!existsSync(`/sys/class/net/${name}/tun_flags`)) return {name, action: 'not-a-tun' as const}
    if (tunHolders(name).length > 0) return {name, action: 'in-use' as const}
    try {
      execFileSync('ip', ['link', 'del', 'dev', name], {stdio: 'ignore', timeout: IP_COMMAND_TIMEOUT_MS})
    } catch {
      // deleted by someone else meanwhile, or not deletable: report what is there now
      return {name, action: existsSync(`/sys/class/net/${name}`) ? 'in-use' as const : 'absent' as const}
    }
    return {name, action: 'removed' as const}
  })
}

/**
 * Removes our table, stale control sockets and orphaned TUN devices; reports each. If nft fails
 * (not installed, no privilege), the sockets and TUNs are still cleaned, then the nft error is thrown.
 */
export async function cleanupHost(o: CleanupOptions = {}): Promise<CleanupReport> {
  let removed = false
  let tableError: unknown
  try {
    removed = removeTable(o.runner).removed
  } catch (error) {
    tableError = error
  }
  const sockets = await cleanSockets(o.socketDirs ?? CONTROL_SOCKET_DIRS)
  const tuns = cleanTuns(o.tunNames ?? TUN_NAMES)
  if (tableError !== undefined) throw tableError
  return {table: removed ? 'removed' : 'absent', sockets, tuns}
}
