/**
 * The process map of a namespace for the privilege-separation tests (security-tests.md P-1): for
 * each process, its command line, real/effective uids, capability sets, NoNewPrivs and what its
 * descriptors point at (TUN, netlink sockets, files), from /proc.
 */
import {execFileSync} from 'node:child_process'
import {readFileSync, readdirSync, readlinkSync} from 'node:fs'

export interface ProcInfo {
  pid: number
  cmdline: string
  uids: number[]
  gids: number[]
  groups: string
  capEff: bigint
  capPrm: bigint
  capAmb: bigint
  noNewPrivs: boolean
  /** readlink of every /proc/PID/fd entry. */
  fds: string[]
  /** inode numbers of netlink sockets anywhere on the host (to classify socket:[N] fds). */
  netlinkFds: string[]
}

function netlinkInodes(pid: number): Set<string> {
  // /proc/PID/net/netlink lists the netlink sockets of the process's network namespace; inode is the last column.
  const lines = readFileSync(`/proc/${pid}/net/netlink`, 'utf8').trim().split('\n').slice(1)
  return new Set(lines.map((l) => l.trim().split(/\s+/).at(-1)!))
}

export function procInfo(pid: number): ProcInfo {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const field = (k: string): string => /^[^:]+:\s*(.*)$/.exec(status.split('\n').find((l) => l.startsWith(`${k}:`)) ?? '')?.[1] ?? ''
  const fds: string[] = []
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      fds.push(readlinkSync(`/proc/${pid}/fd/${fd}`))
    } catch {
      // closed while we listed
    }
  }
  const nl = netlinkInodes(pid)
  return {
    pid,
    cmdline: readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim(),
    uids: field('Uid').split(/\s+/).map(Number),
    gids: field('Gid').split(/\s+/).map(Number),
    groups: field('Groups'),
    capEff: BigInt(`0x${field('CapEff')}`),
    capPrm: BigInt(`0x${field('CapPrm')}`),
    capAmb: BigInt(`0x${field('CapAmb')}`),
    noNewPrivs: field('NoNewPrivs') === '1',
    fds,
    netlinkFds: fds.filter((f) => nl.has(/^socket:\[(\d+)\]$/.exec(f)?.[1] ?? '-')),
  }
}

/** Every process in a namespace (ip netns pids), with its map entry. */
export function namespaceProcesses(ns: string): ProcInfo[] {
  const pids = execFileSync('ip', ['netns', 'pids', ns], {encoding: 'utf8'}).trim().split('\n').filter(Boolean).map(Number)
  const out: ProcInfo[] = []
  for (const pid of pids) {
    try {
      out.push(procInfo(pid))
    } catch {
      // exited meanwhile
    }
  }
  return out
}

/** uid and gid of a user (getent), or undefined. */
export function userIds(name: string): {uid: number; gid: number} | undefined {
  try {
    const f = execFileSync('getent', ['passwd', name], {encoding: 'utf8'}).trim().split(':')
    return {uid: Number(f[2]), gid: Number(f[3])}
  } catch {
    return undefined
  }
}
