/**
 * The worker's side of privilege separation (architecture.md section 3): read the config and the
 * inherited descriptors the monitor handed over, drop to the unprivileged user before any network
 * input is parsed (the boringtun model: open as root, then drop), prove the drop took, and talk to
 * the monitor over the Node IPC channel with the requests of src/ipc/monitor-requests.ts. When
 * the monitor goes away the worker exits: it never runs unsupervised.
 */
import {readFileSync} from 'node:fs'

import type {MonitorReply, MonitorRequest} from '../src/ipc/monitor-requests.js'
import {LocalError} from '../src/errors.js'

/** First inherited descriptor: 0-2 are stdio, 3 is the IPC channel. */
export const FIRST_PASSED_FD = 4

/** What the monitor puts in argv[2] (JSON): the worker's own config plus how to drop. */
export interface WorkerEnvelope<C> {
  config: C
  /** Descriptor numbers of what was handed over, by name (e.g. {tun: 4, udp: 5}). */
  fds: Record<string, number>
  /** Drop to this uid/gid; absent = stay as started (the monitor ran unprivileged itself). */
  drop?: {uid: number; gid: number}
}

export function readEnvelope<C>(argv: string[] = process.argv): WorkerEnvelope<C> {
  const raw = argv[2]
  if (raw === undefined) throw new LocalError('PQC_ERR_ARGUMENT', 'worker started without its config (it is started by `pqc client start` / `pqc server start`)')
  return JSON.parse(raw) as WorkerEnvelope<C>
}

/** Capability sets of this process from /proc/self/status (hex strings). */
export function capabilities(): {effective: bigint; permitted: bigint; inheritable: bigint; ambient: bigint} {
  const status = readFileSync('/proc/self/status', 'utf8')
  const get = (k: string): bigint => BigInt(`0x${/^Cap(\w+):\s*([0-9a-f]+)$/m.exec(status.split('\n').find((l) => l.startsWith(`Cap${k}:`)) ?? '')?.[2] ?? '0'}`)
  return {effective: get('Eff'), permitted: get('Prm'), inheritable: get('Inh'), ambient: get('Amb')}
}

/**
 * setgroups([]), setgid, setuid (in that order: after setuid we could not change groups), then
 * checks that every capability is gone and that setuid(0) fails. Throws if any step does not hold.
 */
export function dropPrivileges(uid: number, gid: number): void {
  if (process.getuid?.() !== 0) {
    if (process.getuid?.() === uid) return
    throw new LocalError('PQC_ERR_ARGUMENT', `worker runs as uid ${process.getuid?.()}, cannot become ${uid}`)
  }
  process.setgroups!([])
  process.setgid!(gid)
  process.setuid!(uid)
  const caps = capabilities()
  if (caps.effective !== 0n || caps.permitted !== 0n || caps.ambient !== 0n) {
    throw new LocalError('PQC_ERR_IO', 'capabilities survived the drop to the worker user')
  }
  let regained = false
  try {
    process.setuid!(0)
    regained = true
  } catch {
    // EPERM: what we want.
  }
  if (regained) throw new LocalError('PQC_ERR_IO', 'setuid(0) succeeded after the drop')
}

type Pending = {resolve: (r: MonitorReply) => void}
/** A request without its id (distributes over the union). */
export type RequestBody = MonitorRequest extends infer R ? R extends unknown ? Omit<R, 'id'> : never : never

/** Requests to the monitor; replies matched by id. Exits the process when the monitor is gone. */
export class MonitorLink {
  readonly #pending = new Map<number, Pending>()
  #nextId = 1

  constructor(onGone: () => void = () => process.exit(0)) {
    if (process.send === undefined) throw new LocalError('PQC_ERR_ARGUMENT', 'worker started without an IPC channel to its monitor')
    process.on('message', (m: unknown) => {
      const r = m as MonitorReply
      if (typeof r !== 'object' || r === null || typeof r.id !== 'number') return
      const p = this.#pending.get(r.id)
      if (p === undefined) return
      this.#pending.delete(r.id)
      p.resolve(r)
    })
    process.on('disconnect', onGone)
  }

  request(body: RequestBody): Promise<MonitorReply> {
    const id = this.#nextId++
    return new Promise((resolve) => {
      this.#pending.set(id, {resolve})
      process.send!({...body, id}, undefined, {}, (err) => {
        if (err === null || err === undefined) return
        this.#pending.delete(id)
        resolve({t: 'error', id, code: 'failed', message: err.message})
      })
    })
  }
}
