/**
 * The one edge to the `nft` binary (nftables 1.0.6 on Debian 12): a JSON batch in, exit status and
 * output back. Batches go as one argument (`nft -j JSON`, ~4.5 ms; feeding `nft -j -f -` through
 * spawn's stdin failed, architecture.md section 2) or, past the argument size limit, through a
 * private temporary file (`nft -j -f FILE`). FakeNftRunner (fake-runner.ts) is its in-memory twin.
 */
import {spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {NFT_ARGV_MAX_BYTES, NFT_COMMAND_TIMEOUT_MS, NFT_TABLE_FAMILY, NFT_TABLE_NAME} from '../../src/constants.js'

export interface NftRunResult {
  /** Exit status of nft; -1 when it could not run or timed out. */
  status: number
  stdout: string
  stderr: string
}

/** What the apply layer needs from nft; two methods, so a fake can model them faithfully. */
export interface NftRunner {
  /** Runs one JSON batch in one transaction; with `check`, only validates it (`nft -c`). */
  batch(json: string, opts?: {check?: boolean}): NftRunResult
  /** `nft -j list table inet pqconnect`: status 0 and the JSON, or non-zero when absent. */
  listTable(): NftRunResult
  /** `nft list ruleset` as text (for the byte-identical check of a clean stop). */
  listRuleset(): NftRunResult
}

export interface SystemNftRunnerOptions {
  /** optional: the nft binary (default `nft` from PATH). */
  nftPath?: string
  /** optional: a command prefix, e.g. ['ip', 'netns', 'exec', NS] in tests. */
  wrap?: string[]
  /** optional: batches longer than this (bytes) go through a file (default NFT_ARGV_MAX_BYTES). */
  argvMaxBytes?: number
}

/** Runs the real `nft`, synchronously (a batch is milliseconds; callers serialize updates). */
export class SystemNftRunner implements NftRunner {
  readonly #nft: string
  readonly #wrap: string[]
  readonly #argvMax: number

  constructor(o: SystemNftRunnerOptions = {}) {
    this.#nft = o.nftPath ?? 'nft'
    this.#wrap = o.wrap ?? []
    this.#argvMax = o.argvMaxBytes ?? NFT_ARGV_MAX_BYTES
  }

  batch(json: string, opts: {check?: boolean} = {}): NftRunResult {
    const flags = opts.check === true ? ['-c', '-j'] : ['-j']
    if (Buffer.byteLength(json) <= this.#argvMax) return this.#run([...flags, json])
    // Too long for one argv string (MAX_ARG_STRLEN): a file only we can read, removed at once.
    const dir = mkdtempSync(join(tmpdir(), 'pqc-nft-'))
    try {
      const file = join(dir, 'batch.json')
      writeFileSync(file, json, {mode: 0o600})
      return this.#run([...flags, '-f', file])
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  }

  listTable(): NftRunResult {
    return this.#run(['-j', 'list', 'table', NFT_TABLE_FAMILY, NFT_TABLE_NAME])
  }

  listRuleset(): NftRunResult {
    return this.#run(['list', 'ruleset'])
  }

  #run(args: string[]): NftRunResult {
    const [cmd, ...pre] = [...this.#wrap, this.#nft]
    const r = spawnSync(cmd!, [...pre, ...args], {encoding: 'utf8', timeout: NFT_COMMAND_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe']})
    if (r.error !== undefined) return {status: -1, stdout: r.stdout ?? '', stderr: `${r.error.message}\n${r.stderr ?? ''}`}
    return {status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr}
  }
}
