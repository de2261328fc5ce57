/**
 * The client's on-disk cache of verified static public keys (mceliece_pk || x25519_pk, 1 MB each)
 * under the cache directory, so a restart does not cost every server another 1.1 MB download
 * (section 14 item 32). A file is trusted only if its Merkle root equals the hash it is filed
 * under. Bounded by KEY_CACHE_MAX_FILES (oldest removed first); a full disk only costs the cache.
 */
import {mkdirSync, readFileSync, readdirSync, statSync, unlinkSync} from 'node:fs'
import {join} from 'node:path'

import {MCELIECE_PK_BYTES, X25519_BYTES} from '../../src/constants.js'
import {merkleRoot} from '../../src/keys/merkle.js'
import type {StaticPublicKey} from '../../src/keys/merkle-assembler.js'
import {writeFileAtomic} from '../keys/atomic-write.js'
import type {Logger} from '../log.js'

export const KEY_CACHE_MAX_FILES = 64
const SUFFIX = '.pq1key'

export class KeyCache {
  constructor(private readonly dir: string | undefined, private readonly log: Logger) {
    if (dir !== undefined) mkdirSync(dir, {recursive: true, mode: 0o700})
  }

  load(keyHashHex: string): StaticPublicKey | undefined {
    if (this.dir === undefined) return undefined
    const path = join(this.dir, keyHashHex + SUFFIX)
    try {
      const data = readFileSync(path)
      if (data.length === MCELIECE_PK_BYTES + X25519_BYTES) {
        const key = {mceliecePk: data.subarray(0, MCELIECE_PK_BYTES), x25519Pk: data.subarray(MCELIECE_PK_BYTES)}
        if (Buffer.from(merkleRoot(key.mceliecePk, key.x25519Pk)).toString('hex') === keyHashHex) return key
      }
      this.log.info(`key cache: ${path} does not match its hash; removed`)
      unlinkSync(path)
    } catch {
      // Absent or unreadable: download instead.
    }
    return undefined
  }

  store(keyHashHex: string, key: StaticPublicKey): void {
    if (this.dir === undefined) return
    try {
      this.#evict()
      writeFileAtomic(join(this.dir, keyHashHex + SUFFIX), Buffer.concat([key.mceliecePk, key.x25519Pk]), 0o600)
    } catch (error) {
      this.log.limited('key-cache-write', `key cache: cannot write to ${this.dir}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`)
    }
  }

  #evict(): void {
    const files = readdirSync(this.dir!).filter((f) => f.endsWith(SUFFIX))
      .map((f) => ({f, t: statSync(join(this.dir!, f)).mtimeMs})).sort((a, b) => a.t - b.t)
    while (files.length >= KEY_CACHE_MAX_FILES) unlinkSync(join(this.dir!, files.shift()!.f))
  }
}
