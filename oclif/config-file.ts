/**
 * pqc's one configuration file (pqc.conf(5)): reading and validating it against config-schema.ts
 * (one-line errors naming the file and the key, exit status 3), and the effective configuration:
 * for every key its value and where it came from. Precedence: a flag, then the file, then (server
 * ports and host) the reference's config directory, then $KEYPATH (keydir), then the default.
 */
import {readFileSync} from 'node:fs'

import {readConfigHost, readConfigPorts} from '../router/keys/config-dir.js'
import {PQC_CONFIG_FILE_DEFAULT} from '../src/constants.js'
import {LocalError} from '../src/errors.js'
import {type KeySpec, SCHEMA, type SectionName, type Settings, parseInboundAllow} from './config-schema.js'

export type {ClientSettings, InboundAllow, ServerSettings, Settings} from './config-schema.js'

/** The validated contents of a config file: only the keys it sets. */
export interface ConfigFile {
  /** The file read, or undefined when there was none (the default path may be absent). */
  path: string | undefined
  client: Partial<Settings['client']>
  server: Partial<Settings['server']>
}

export type ValueSource = 'flag' | 'file' | 'config-dir' | 'env' | 'default'

export interface EffectiveValue<T> {
  value: T
  source: ValueSource
}

export type EffectiveSection<T> = {[K in keyof T]-?: EffectiveValue<T[K]>}

export interface EffectiveConfig {
  file: string | undefined
  client: EffectiveSection<Settings['client']>
  server: EffectiveSection<Settings['server']>
}

/** Flag values by key name, as given on the command line (never oclif's defaults). */
export interface ConfigFlags {
  client?: Partial<Settings['client']>
  server?: Partial<Settings['server']>
}

const HINT = 'see pqc.conf(5)'

function invalid(where: string, message: string): LocalError {
  return new LocalError('PQC_ERR_CONFIG_INVALID', `${where}: ${message}`, {hint: HINT})
}

/** Closest known key within two edits, for "did you mean". */
function suggest(key: string, known: string[]): string {
  const dist = (a: string, b: string): number => {
    const d = Array.from({length: a.length + 1}, (_, i) => [i, ...Array<number>(b.length).fill(0)])
    for (let j = 1; j <= b.length; j++) d[0]![j] = j
    for (let i = 1; i <= a.length; i++) {
      for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    return d[a.length]![b.length]!
  }
  const best = known.map((k) => ({k, n: dist(key.replace(/_/g, '-').toLowerCase(), k)})).sort((x, y) => x.n - y.n)[0]
  return best !== undefined && best.n <= 2 ? ` (did you mean ${best.k}?)` : ''
}

/** Validate parsed JSON; `file` names the source in errors. */
export function validateConfig(json: unknown, file: string): ConfigFile {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalid(file, 'must be a JSON object with "client" and/or "server"')
  const out: ConfigFile = {path: file, client: {}, server: {}}
  const sections = Object.keys(SCHEMA)
  for (const [section, body] of Object.entries(json)) {
    if (!sections.includes(section)) throw invalid(file, `unknown key ${section}${suggest(section, sections)}; the top level has only "client" and "server"`)
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid(file, `${section} must be an object`)
    const keys = SCHEMA[section as SectionName] as Record<string, KeySpec<unknown>>
    for (const [key, value] of Object.entries(body)) {
      const spec = keys[key]
      if (spec === undefined) throw invalid(file, `unknown key ${section}.${key}${suggest(key, Object.keys(keys))}`)
      const r = spec.check(value)
      if (!r.ok) throw invalid(file, `${section}.${key} must be ${r.error}, not ${JSON.stringify(value)}`)
      ;(out[section as SectionName] as Record<string, unknown>)[key] = r.value
    }
  }
  return out
}

/**
 * Read and validate the config file. Without `path` the default /etc/pqconnect/pqc.json is read
 * when it exists; a path given explicitly must exist.
 */
export function loadConfigFile(path?: string): ConfigFile {
  const file = path ?? PQC_CONFIG_FILE_DEFAULT
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (path === undefined && code === 'ENOENT') return {path: undefined, client: {}, server: {}}
    throw new LocalError('PQC_ERR_CONFIG_INVALID', `cannot read ${file}: ${code ?? (err as Error).message}`, {cause: err, hint: 'check --config'})
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw invalid(file, `not valid JSON: ${(err as Error).message}`)
  }
  return validateConfig(json, file)
}

/** Validate flag values with the same rules as the file (errors name the flag). */
function checkFlags(flags: ConfigFlags): void {
  for (const section of Object.keys(SCHEMA) as SectionName[]) {
    const keys = SCHEMA[section] as Record<string, KeySpec<unknown>>
    for (const [key, value] of Object.entries(flags[section] ?? {})) {
      if (value === undefined) continue
      const spec = keys[key]
      if (spec === undefined) throw new LocalError('PQC_ERR_ARGUMENT', `no setting ${section}.${key}`)
      const r = spec.check(value)
      if (!r.ok) throw new LocalError('PQC_ERR_ARGUMENT', `--${spec.flag} must be ${r.error}, not ${JSON.stringify(value)}`)
    }
  }
}

/**
 * The effective configuration: every key of both sections with its value and source. The server's
 * ports and host-ip fall back to the config directory named by the effective config-dir (read
 * only when needed, errors there name the file), keydir to $KEYPATH (`env`, default process.env).
 */
export function effectiveConfig(flags: ConfigFlags, file: ConfigFile, env: NodeJS.ProcessEnv = process.env): EffectiveConfig {
  checkFlags(flags)
  const pick = <S extends SectionName>(section: S, key: keyof Settings[S], fallback?: () => EffectiveValue<unknown> | undefined): EffectiveValue<unknown> => {
    const f = (flags[section] as Record<string, unknown> | undefined)?.[key as string]
    if (f !== undefined) return {value: f, source: 'flag'}
    const v = (file[section] as Record<string, unknown>)[key as string]
    if (v !== undefined) return {value: v, source: 'file'}
    const fb = fallback?.()
    if (fb !== undefined) return fb
    const d = (SCHEMA[section] as Record<string, KeySpec<unknown>>)[key as string]!.default
    return {value: structuredClone(d), source: 'default'}
  }
  const client = Object.fromEntries(Object.keys(SCHEMA.client).map((k) => [k, pick('client', k as keyof Settings['client'])]))
  const configDir = pick('server', 'config-dir')
  let dirValues: {pqcport?: number; keyport?: number; 'host-ip'?: string} | undefined
  const fromDir = (key: 'pqcport' | 'keyport' | 'host-ip') => (): EffectiveValue<unknown> | undefined => {
    if (dirValues === undefined) {
      const dir = configDir.value as string
      const ports = readConfigPorts(dir)
      dirValues = {pqcport: ports.pqcPort, keyport: ports.keyPort, 'host-ip': readConfigHost(dir)}
    }
    const v = dirValues[key]
    return v === undefined ? undefined : {value: v, source: 'config-dir'}
  }
  const keypath = env.KEYPATH
  const server = Object.fromEntries(Object.keys(SCHEMA.server).map((k) => {
    if (k === 'pqcport' || k === 'keyport' || k === 'host-ip') return [k, pick('server', k, fromDir(k))]
    if (k === 'keydir') return [k, pick('server', k, () => (keypath ? {value: keypath, source: 'env'} : undefined))]
    return [k, k === 'config-dir' ? configDir : pick('server', k as keyof Settings['server'])]
  }))
  return {file: file.path, client, server} as unknown as EffectiveConfig
}

/** Just the values of one section, for the start commands. */
export function valuesOf<T>(section: EffectiveSection<T>): T {
  return Object.fromEntries(Object.entries(section).map(([k, v]) => [k, (v as EffectiveValue<unknown>).value])) as T
}

/**
 * The flags of a command that were given on the command line, keyed by setting name: oclif fills
 * in flag defaults, which must not outrank the file (metadata.flags[name].setFromDefault).
 */
export function givenFlags<S extends SectionName>(section: S, flags: Record<string, unknown>,
  metadata: {flags: Record<string, {setFromDefault?: boolean} | undefined>}): Partial<Settings[S]> {
  const out: Record<string, unknown> = {}
  for (const [key, spec] of Object.entries(SCHEMA[section] as Record<string, KeySpec<unknown>>)) {
    const v = flags[spec.flag]
    if (v === undefined || metadata.flags[spec.flag]?.setFromDefault === true) continue
    if (Array.isArray(v) && v.length === 0) continue
    if (key === 'inbound-allow' && Array.isArray(v)) {
      const r = parseInboundAllow(v.map(String))
      if (!r.ok) throw new LocalError('PQC_ERR_ARGUMENT', `--${spec.flag} must be ${r.error}`)
      out[key] = r.value
      continue
    }
    out[key] = v
  }
  return out as Partial<Settings[S]>
}
