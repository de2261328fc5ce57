/**
 * Starts a real authoritative server (Debian's nsd) on 127.0.0.1:<free port> with zones written
 * to a temporary directory, for the resolver's integration tests; stops it by PID. Throws with
 * nsd's log when it does not come up.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import dgram from 'node:dgram'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {freePort} from './free-port.js'

export interface Nsd {
  port: number
  dir: string
  stop(): Promise<void>
}

/** Resolves when a UDP query to 127.0.0.1:port gets any reply. */
async function waitForDns(port: number, deadlineMs: number): Promise<boolean> {
  const q = Buffer.from('abcd01000001000000000000000001000100'.replace(/(..)/g, '$1'), 'hex') // ". A"
  while (Date.now() < deadlineMs) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = dgram.createSocket('udp4')
      const t = setTimeout(() => {
        s.close()
        resolve(false)
      }, 200)
      s.on('message', () => {
        clearTimeout(t)
        s.close()
        resolve(true)
      })
      s.on('error', () => undefined)
      s.send(q, port, '127.0.0.1')
    })
    if (ok) return true
  }
  return false
}

/**
 * nsd.conf for a test server: foreground-friendly (no chroot, no user change, state in `dir`),
 * one process, IPv4 only, deterministic answers; `zones` maps an origin to its zone file.
 */
export function nsdConf(dir: string, address: string, port: number, zones: Record<string, string>): string {
  const zoneConf = Object.entries(zones).map(([origin, file]) => `zone:\n  name: ${origin}\n  zonefile: ${file}\n`).join('')
  return `server:
  ip-address: ${address}
  port: ${port}
  username: ""
  chroot: ""
  zonesdir: "${dir}"
  pidfile: "${join(dir, 'nsd.pid')}"
  xfrdfile: "${join(dir, 'xfrd.state')}"
  zonelistfile: "${join(dir, 'zone.list')}"
  logfile: "${join(dir, 'nsd.log')}"
  database: ""
  server-count: 1
  verbosity: 1
  do-ip6: no
  hide-version: yes
  round-robin: no
  minimal-responses: no
remote-control:
  control-enable: no
${zoneConf}`
}

export async function startNsd(zones: Record<string, string>): Promise<Nsd> {
  const dir = mkdtempSync(join(tmpdir(), 'pqc-nsd-'))
  const port = await freePort()
  const zoneFiles: Record<string, string> = {}
  Object.keys(zones).forEach((origin, i) => {
    zoneFiles[origin] = join(dir, `z${i}.zone`)
    writeFileSync(zoneFiles[origin], zones[origin]!)
  })
  writeFileSync(join(dir, 'nsd.conf'), nsdConf(dir, '127.0.0.1', port, zoneFiles))
  const child: ChildProcess = spawn('nsd', ['-d', '-c', join(dir, 'nsd.conf')], {stdio: ['ignore', 'ignore', 'pipe']})
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.pid !== undefined) {
      process.kill(child.pid, 'SIGTERM')
      const t = setTimeout(() => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 3000)
      await exited
      clearTimeout(t)
    }
    rmSync(dir, {recursive: true, force: true})
  }
  if (!(await waitForDns(port, Date.now() + 10_000))) {
    let log = ''
    try {
      log = readFileSync(join(dir, 'nsd.log'), 'utf8')
    } catch {
      // no log yet
    }
    await stop()
    throw new Error(`nsd did not start: ${stderr} ${log}`)
  }
  return {port, dir, stop}
}
