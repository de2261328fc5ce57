/**
 * The server's key directory, in the reference's format (pq1-protocol.md section 9.1): five raw
 * files, no headers, public keys 0644 and secret keys 0600. A directory written by the reference
 * loads unchanged and ours loads in the reference. Secrets are read into Buffers the caller wipes.
 */
import {chmodSync, closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, statSync} from 'node:fs'
import {join} from 'node:path'

import {
  KEY_FILES, MCELIECE_PK_BYTES, MCELIECE_SK_BYTES, SESSION_KEY_BYTES, X25519_BYTES,
} from '../../src/constants.js'
import {LocalError} from '../../src/errors.js'
import {writeFileAtomic} from './atomic-write.js'

export const DEFAULT_KEYDIR = '/etc/pqconnect/keys'

export interface ServerPublicKeys {
  mceliecePk: Buffer
  x25519Pk: Buffer
}

export interface ServerSecretKeys {
  mcelieceSk: Buffer
  x25519Sk: Buffer
  sessionKey: Buffer
}

export type ServerKeyFiles = ServerPublicKeys & ServerSecretKeys

interface FileSpec {
  field: keyof ServerKeyFiles
  name: string
  size: number
  mode: number
}

const SPECS: readonly FileSpec[] = [
  {field: 'mceliecePk', name: KEY_FILES.mceliecePk, size: MCELIECE_PK_BYTES, mode: 0o644},
  {field: 'x25519Pk', name: KEY_FILES.x25519Pk, size: X25519_BYTES, mode: 0o644},
  {field: 'mcelieceSk', name: KEY_FILES.mcelieceSk, size: MCELIECE_SK_BYTES, mode: 0o600},
  {field: 'x25519Sk', name: KEY_FILES.x25519Sk, size: X25519_BYTES, mode: 0o600},
  {field: 'sessionKey', name: KEY_FILES.sessionKey, size: SESSION_KEY_BYTES, mode: 0o600},
]

/** Names of key files that already exist in `dir`. */
export function existingKeyFiles(dir: string): string[] {
  return SPECS.map((s) => s.name).filter((n) => existsSync(join(dir, n)))
}

/** Write all five files atomically; refuses to replace any existing one unless `force`. */
export function writeKeyDir(dir: string, keys: ServerKeyFiles, options: {force?: boolean} = {}): void {
  for (const s of SPECS) {
    if (keys[s.field].length !== s.size) throw new LocalError('PQC_ERR_KEY_INVALID', `${s.name} must be ${s.size} bytes, not ${keys[s.field].length}`)
  }
  const existing = existingKeyFiles(dir)
  if (existing.length > 0 && !options.force) {
    throw new LocalError('PQC_ERR_KEY_EXISTS', `key files already exist in ${dir}: ${existing.join(', ')}`, {
      hint: 'pass --force to replace them (the server gets a new identity and a new pq1 name)',
    })
  }
  if (!existsSync(dir)) mkdirSync(dir, {recursive: true, mode: 0o755})
  // Secrets first: a crash mid-way never leaves new public keys beside old secret keys.
  for (const s of [...SPECS].sort((a, b) => a.mode - b.mode)) {
    writeFileAtomic(join(dir, s.name), keys[s.field], s.mode)
    chmodSync(join(dir, s.name), s.mode) // the umask may have narrowed the mode given to open()
  }
}

function readSized(dir: string, spec: FileSpec): Buffer {
  const path = join(dir, spec.name)
  let data: Buffer
  try {
    data = readFileSync(path)
  } catch (error) {
    throw new LocalError('PQC_ERR_KEYDIR', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, {
      cause: error, hint: 'run `pqc server keygen` or pass --keydir',
    })
  }
  if (data.length !== spec.size) {
    data.fill(0)
    throw new LocalError('PQC_ERR_KEY_INVALID', `${path} is ${data.length} bytes, expected ${spec.size}`)
  }
  return data
}

const spec = (field: keyof ServerKeyFiles): FileSpec => SPECS.find((s) => s.field === field)!

export function readPublicKeys(dir: string): ServerPublicKeys {
  return {mceliecePk: readSized(dir, spec('mceliecePk')), x25519Pk: readSized(dir, spec('x25519Pk'))}
}

/** Read secret keys; refuses files that others can read (a key that leaked is not a key). */
export function readSecretKeys(dir: string): ServerSecretKeys {
  for (const f of ['mcelieceSk', 'x25519Sk', 'sessionKey'] as const) {
    const path = join(dir, spec(f).name)
    if (existsSync(path) && (statSync(path).mode & 0o077) !== 0) {
      throw new LocalError('PQC_ERR_KEYDIR', `${path} is readable by group or others`, {hint: `chmod 600 ${path}`})
    }
  }
  return {
    mcelieceSk: readSized(dir, spec('mcelieceSk')),
    x25519Sk: readSized(dir, spec('x25519Sk')),
    sessionKey: readSized(dir, spec('sessionKey')),
  }
}

/** The five key fields, in a fixed order (the order descriptors are handed to a worker in). */
export const KEY_FIELDS: ReadonlyArray<keyof ServerKeyFiles> = SPECS.map((x) => x.field)

/**
 * The root monitor's half of key handling (architecture.md section 3): checks the secret files'
 * modes like readSecretKeys, then opens each file read-only for the router worker, which cannot
 * read the directory itself. The caller closes the descriptors once the worker has them.
 */
export function openKeyFiles(dir: string): Record<keyof ServerKeyFiles, number> {
  for (const f of ['mcelieceSk', 'x25519Sk', 'sessionKey'] as const) {
    const path = join(dir, spec(f).name)
    if (existsSync(path) && (statSync(path).mode & 0o077) !== 0) {
      throw new LocalError('PQC_ERR_KEYDIR', `${path} is readable by group or others`, {hint: `chmod 600 ${path}`})
    }
  }
  const out: Partial<Record<keyof ServerKeyFiles, number>> = {}
  try {
    for (const s of SPECS) {
      const path = join(dir, s.name)
      try {
        out[s.field] = openSync(path, 'r')
      } catch (error) {
        throw new LocalError('PQC_ERR_KEYDIR', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, {
          cause: error, hint: 'run `pqc server keygen` or pass --keydir',
        })
      }
    }
  } catch (error) {
    for (const fd of Object.values(out)) closeSync(fd)
    throw error
  }
  return out as Record<keyof ServerKeyFiles, number>
}

/**
 * The worker's half: reads each handed-over descriptor from offset 0 (pread: the monitor keeps its
 * copies for a restarted worker, and they share the file offset), checks sizes, closes ours.
 */
export function readKeyFds(fds: Record<keyof ServerKeyFiles, number>): ServerKeyFiles {
  const out: Partial<ServerKeyFiles> = {}
  try {
    for (const s of SPECS) {
      const size = fstatSync(fds[s.field]).size
      const data = Buffer.alloc(size)
      const got = readSync(fds[s.field], data, 0, size, 0)
      if (got !== s.size || size !== s.size) {
        data.fill(0)
        throw new LocalError('PQC_ERR_KEY_INVALID', `${s.name} is ${data.length} bytes, expected ${s.size}`)
      }
      out[s.field] = data
    }
  } catch (error) {
    for (const b of Object.values(out)) b.fill(0)
    throw error
  } finally {
    for (const s of SPECS) closeSync(fds[s.field])
  }
  return out as ServerKeyFiles
}
