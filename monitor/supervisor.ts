/**
 * One supervised worker process (architecture.md section 3): spawned with its descriptors at 4..n
 * and its config in argv, it drops to the worker user itself before reading any network input
 * (monitor/worker-link.ts). Its requests are validated (src/ipc/monitor-requests.ts) before the
 * handler sees them; if it dies it is restarted with backoff, on the same descriptors, so a
 * socket keeps its queued datagrams across the restart.
 */
import {type ChildProcess, spawn} from 'node:child_process'

import {
  WORKER_READY_TIMEOUT_MS, WORKER_RESTART_MAX_MS, WORKER_RESTART_MIN_MS, WORKER_STABLE_MS, WORKER_STOP_TIMEOUT_MS,
} from '../src/constants.js'
import {LocalError, PqcError} from '../src/errors.js'
import {type MonitorReply, type MonitorRequest, type WorkerRole, parseMonitorRequest} from '../src/ipc/monitor-requests.js'
import type {Logger} from '../router/log.js'
import {FIRST_PASSED_FD, type WorkerEnvelope} from './worker-link.js'

export interface WorkerSpec {
  role: WorkerRole
  /** The worker's entry script (absolute path, .js, or .ts when running under tsx). */
  entry: string
  config: unknown
  /** Descriptors to hand over, by name; they appear in the worker at FIRST_PASSED_FD onwards. */
  fds: Record<string, number>
  drop?: {uid: number; gid: number}
  /** Validated requests other than 'ready'; throw a PqcError to refuse one. */
  onRequest: (req: MonitorRequest) => void | Promise<void>
  /** After a restart's 'ready' (not the first start). */
  onRestarted?: () => void
  log: Logger
}

export class Supervisor {
  readonly #s: WorkerSpec
  #child: ChildProcess | undefined
  #stopping = false
  #delayMs = WORKER_RESTART_MIN_MS
  #startedAt = 0
  #restartTimer: NodeJS.Timeout | undefined
  #readyWaiter: {resolve: () => void; reject: (e: Error) => void} | undefined
  #everReady = false
  restarts = 0
  refused = 0

  constructor(spec: WorkerSpec) {
    this.#s = spec
  }

  get pid(): number | undefined {
    return this.#child?.pid
  }

  /** Spawns the worker and resolves on its first 'ready'; rejects if it dies first or times out. */
  start(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#readyWaiter = undefined
        reject(new LocalError('PQC_ERR_IO', `${this.#s.role} worker not ready after ${WORKER_READY_TIMEOUT_MS} ms`))
      }, WORKER_READY_TIMEOUT_MS)
      this.#readyWaiter = {
        resolve: () => { clearTimeout(timer); resolve() },
        reject: (e) => { clearTimeout(timer); reject(e) },
      }
      this.#spawn()
    })
  }

  #spawn(): void {
    const names = Object.keys(this.#s.fds)
    const envelope: WorkerEnvelope<unknown> = {
      config: this.#s.config,
      fds: Object.fromEntries(names.map((n, i) => [n, FIRST_PASSED_FD + i])),
      ...(this.#s.drop === undefined ? {} : {drop: this.#s.drop}),
    }
    const execArgv = this.#s.entry.endsWith('.ts') ? ['--import', 'tsx'] : []
    const child = spawn(process.execPath, [...execArgv, this.#s.entry, JSON.stringify(envelope)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc', ...names.map((n) => this.#s.fds[n]!)],
      env: {PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', NODE_ENV: 'production'},
    })
    this.#child = child
    this.#startedAt = Date.now()
    child.on('message', (m: unknown) => void this.#onMessage(child, m))
    child.on('error', (e) => this.#s.log.error(`${this.#s.role} worker: ${e.message}`))
    child.on('exit', (code, signal) => this.#onExit(child, code, signal))
  }

  async #onMessage(child: ChildProcess, m: unknown): Promise<void> {
    const parsed = parseMonitorRequest(m, this.#s.role, approxSize(m))
    const reply = (r: MonitorReply): void => {
      if (child.connected) child.send(r)
    }
    if (!parsed.ok) {
      this.refused++
      this.#s.log.limited(`refused-${this.#s.role}`, `${this.#s.role} worker request refused: ${parsed.reply.t === 'error' ? parsed.reply.message : ''}`)
      return reply(parsed.reply)
    }
    const req = parsed.request
    if (req.t === 'ready') {
      this.#s.log.verbose(`${this.#s.role} worker ${child.pid} ready`)
      reply({t: 'ok', id: req.id})
      if (!this.#everReady) {
        this.#everReady = true
        this.#readyWaiter?.resolve()
        this.#readyWaiter = undefined
      } else {
        this.#s.onRestarted?.()
      }
      return
    }
    try {
      await this.#s.onRequest(req)
      reply({t: 'ok', id: req.id})
    } catch (error) {
      const message = error instanceof PqcError ? error.message : 'internal error'
      if (!(error instanceof PqcError)) this.#s.log.error(`${this.#s.role} request '${req.t}' failed: ${(error as Error).message}`)
      reply({t: 'error', id: req.id, code: error instanceof PqcError ? 'refused' : 'failed', message})
    }
  }

  #onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#child === child) this.#child = undefined
    if (this.#stopping) return
    const how = signal === null ? `exit code ${code}` : `signal ${signal}`
    if (!this.#everReady) {
      this.#readyWaiter?.reject(new LocalError('PQC_ERR_IO', `${this.#s.role} worker died before it was ready (${how})`))
      this.#readyWaiter = undefined
      return
    }
    const lived = Date.now() - this.#startedAt
    this.#delayMs = lived >= WORKER_STABLE_MS ? WORKER_RESTART_MIN_MS : Math.min(this.#delayMs * 2, WORKER_RESTART_MAX_MS)
    this.#s.log.error(`${this.#s.role} worker ${child.pid} died (${how}) after ${(lived / 1000).toFixed(1)} s; restarting in ${this.#delayMs} ms`)
    this.#restartTimer = setTimeout(() => {
      this.restarts++
      this.#spawn()
    }, lived >= WORKER_STABLE_MS ? WORKER_RESTART_MIN_MS : this.#delayMs)
  }

  /**
   * Replaces some handed descriptors (a recreated TUN device) and restarts the worker on them at
   * once; the caller closes the old descriptors afterwards.
   */
  async restartWith(fds: Record<string, number>): Promise<void> {
    Object.assign(this.#s.fds, fds)
    const child = this.#child
    if (this.#stopping || child === undefined || child.exitCode !== null || child.signalCode !== null) return
    this.#startedAt = 0 // counts as a long-lived worker: restarted after the minimum delay
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve())
      child.kill('SIGKILL')
    })
  }

  /** SIGTERM, then SIGKILL after WORKER_STOP_TIMEOUT_MS; no restart. */
  async stop(): Promise<void> {
    this.#stopping = true
    clearTimeout(this.#restartTimer)
    const child = this.#child
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), WORKER_STOP_TIMEOUT_MS)
      child.once('exit', () => {
        clearTimeout(kill)
        resolve()
      })
      child.kill('SIGTERM')
    })
  }
}

/** Serialized size of a request, bounded work: stops counting past the limit's order. */
function approxSize(m: unknown): number {
  try {
    return JSON.stringify(m)?.length ?? 0
  } catch {
    return Number.MAX_SAFE_INTEGER
  }
}
