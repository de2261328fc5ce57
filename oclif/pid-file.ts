/**
 * Pid files of the foreground daemons (`pqc client start`, `pqc server start`) so that
 * `pqc client stop` / `pqc server stop` find them. A pid is trusted only while /proc shows a live
 * process whose command line is ours: a stale file after a crash, or a pid reused by another
 * program, is never signalled.
 */
import {existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync} from 'node:fs'
import {dirname} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import {LocalError} from '../src/errors.js'

export const CLIENT_PID_FILE = '/run/pqconnect/client.pid'
export const SERVER_PID_FILE = '/run/pqconnect/server.pid'
/** How long stop waits for a clean exit after SIGTERM. */
export const STOP_TIMEOUT_MS = 10_000

/** The live pqc process recorded in `path`, or undefined (no file, stale, or not ours). */
export function runningPid(path: string): number | undefined {
  if (!existsSync(path)) return undefined
  const pid = Number(readFileSync(path, 'utf8').trim())
  if (!Number.isInteger(pid) || pid <= 1) return undefined
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    return cmdline.includes('oclif/bin/run.js') || cmdline.includes('/pqc') ? pid : undefined
  } catch {
    return undefined
  }
}

/** Record this process; refuses when another live instance owns the file. */
export function claimPidFile(path: string): void {
  const other = runningPid(path)
  if (other !== undefined && other !== process.pid) {
    throw new LocalError('PQC_ERR_ARGUMENT', `already running as pid ${other} (${path})`, {hint: 'stop it first, or pass another --pid-file'})
  }
  mkdirSync(dirname(path), {recursive: true, mode: 0o755})
  writeFileSync(path, `${process.pid}\n`, {mode: 0o644})
}

export function releasePidFile(path: string): void {
  try {
    if (runningPid(path) === process.pid || !existsSync(`/proc/${Number(readFileSync(path, 'utf8').trim())}`)) unlinkSync(path)
  } catch {
    // already gone
  }
}

export type StopResult = {stopped: true; pid: number; ms: number} | {stopped: false; reason: 'not-running'}

/** SIGTERM the recorded process and wait for it to exit (SIGKILL after STOP_TIMEOUT_MS). */
export async function stopByPidFile(path: string): Promise<StopResult> {
  const pid = runningPid(path)
  if (pid === undefined) {
    if (existsSync(path)) unlinkSync(path) // stale
    return {stopped: false, reason: 'not-running'}
  }
  const t0 = Date.now()
  process.kill(pid, 'SIGTERM')
  while (Date.now() - t0 < STOP_TIMEOUT_MS) {
    if (!existsSync(`/proc/${pid}`)) break
    await sleep(50)
  }
  if (existsSync(`/proc/${pid}`)) process.kill(pid, 'SIGKILL')
  if (existsSync(path)) unlinkSync(path)
  return {stopped: true, pid, ms: Date.now() - t0}
}
