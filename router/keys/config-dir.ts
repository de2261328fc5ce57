/**
 * The reference's config directory (pq1-protocol.md section 9.2): one decimal value per file,
 * `pqcport`, `keyport` and optionally `host`. Read and written here; values validated.
 */
import {existsSync, mkdirSync, readFileSync} from 'node:fs'
import {isIPv4} from 'node:net'
import {join} from 'node:path'

import {LocalError} from '../../src/errors.js'
import {writeFileAtomic} from './atomic-write.js'

export const DEFAULT_CONFIG_DIR = '/etc/pqconnect/config'

export interface ServerPorts {
  pqcPort: number
  keyPort: number
}

export function parsePort(text: string, what: string): number {
  const t = text.trim()
  const n = /^[0-9]{1,5}$/.test(t) ? Number(t) : Number.NaN
  if (!(n >= 1 && n <= 65535)) throw new LocalError('PQC_ERR_CONFIG_INVALID', `${what} must be a port from 1 to 65535, not '${t}'`)
  return n
}

function readOptional(dir: string, name: string): string | undefined {
  const path = join(dir, name)
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined
}

/** Ports from the config directory; undefined where a file is absent. */
export function readConfigPorts(dir: string): Partial<ServerPorts> {
  const p = readOptional(dir, 'pqcport')
  const k = readOptional(dir, 'keyport')
  return {
    ...(p === undefined ? {} : {pqcPort: parsePort(p, join(dir, 'pqcport'))}),
    ...(k === undefined ? {} : {keyPort: parsePort(k, join(dir, 'keyport'))}),
  }
}

export function readConfigHost(dir: string): string | undefined {
  const h = readOptional(dir, 'host')?.trim()
  if (h === undefined || h === '') return undefined
  if (!isIPv4(h)) throw new LocalError('PQC_ERR_CONFIG_INVALID', `${join(dir, 'host')} must hold an IPv4 address, not '${h}'`)
  return h
}

export function writeConfigPorts(dir: string, ports: ServerPorts): void {
  if (!existsSync(dir)) mkdirSync(dir, {recursive: true, mode: 0o755})
  writeFileAtomic(join(dir, 'pqcport'), Buffer.from(`${ports.pqcPort}\n`), 0o644)
  writeFileAtomic(join(dir, 'keyport'), Buffer.from(`${ports.keyPort}\n`), 0o644)
}
