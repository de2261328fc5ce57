/**
 * In-memory twin of SystemNftRunner for unit tests (style-anchors.md principle 3): it keeps tables
 * of any family and name and applies a JSON batch the way the kernel does, all or nothing: `add
 * table` is a no-op when present, `delete table` of a missing table fails the batch, a rule needs
 * its chain and every `@set` and jump target it names. It records each call; `failNext` injects a
 * failure. It models what our batches use, not the whole of nft.
 */
import {NFT_TABLE_FAMILY, NFT_TABLE_NAME} from '../../src/constants.js'
import type {NftRunResult, NftRunner} from './runner.js'

interface FakeTable {
  family: string
  name: string
  chains: Map<string, Record<string, unknown>>
  sets: Map<string, Record<string, unknown> & {kind: 'set' | 'map'}>
  rules: Record<string, unknown>[]
}

type State = Map<string, FakeTable>

const keyOf = (family: unknown, name: unknown): string => `${String(family)} ${String(name)}`
const ENOENT = 'Error: Could not process rule: No such file or directory'

class BatchError extends Error {}

function clone(state: State): State {
  const out: State = new Map()
  for (const [k, t] of state) {
    out.set(k, {...t, chains: new Map(t.chains), sets: new Map(t.sets), rules: [...t.rules]})
  }
  return out
}

/** Every `@name` set reference and jump/goto target inside a rule's expressions. */
function references(value: unknown, sets: string[], targets: string[]): void {
  if (typeof value === 'string' && value.startsWith('@')) sets.push(value.slice(1))
  else if (Array.isArray(value)) value.forEach((v) => references(v, sets, targets))
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if ((k === 'jump' || k === 'goto') && v !== null && typeof v === 'object') targets.push(String((v as {target: unknown}).target))
      else references(v, sets, targets)
    }
  }
}

export class FakeNftRunner implements NftRunner {
  #state: State = new Map()
  #failNext: string | undefined
  /** Every call, in order: 'batch', 'check' or 'list'. */
  readonly calls: {kind: 'batch' | 'check' | 'list' | 'ruleset'; json?: string}[] = []

  /** The next batch fails with this message (as if the kernel refused it), state unchanged. */
  failNext(message: string): void {
    this.#failNext = message
  }

  /** Table keys ("family name") present now. */
  tables(): string[] {
    return [...this.#state.keys()].sort()
  }

  batch(json: string, opts: {check?: boolean} = {}): NftRunResult {
    this.calls.push({kind: opts.check === true ? 'check' : 'batch', json})
    if (this.#failNext !== undefined) {
      const msg = this.#failNext
      this.#failNext = undefined
      return {status: 1, stdout: '', stderr: `Error: ${msg}`}
    }
    const next = clone(this.#state)
    try {
      const parsed = JSON.parse(json) as {nftables?: unknown}
      if (!Array.isArray(parsed.nftables)) throw new BatchError('Error: not a libnftables JSON batch')
      for (const cmd of parsed.nftables as Record<string, unknown>[]) this.#apply(next, cmd)
    } catch (error) {
      return {status: 1, stdout: '', stderr: error instanceof BatchError ? error.message : `Error: ${(error as Error).message}`}
    }
    if (opts.check !== true) this.#state = next
    return {status: 0, stdout: '', stderr: ''}
  }

  listTable(): NftRunResult {
    this.calls.push({kind: 'list'})
    const t = this.#state.get(keyOf(NFT_TABLE_FAMILY, NFT_TABLE_NAME))
    if (t === undefined) return {status: 1, stdout: '', stderr: `Error: No such file or directory\nlist table ${NFT_TABLE_FAMILY} ${NFT_TABLE_NAME}`}
    const items: unknown[] = [{metainfo: {version: 'fake', json_schema_version: 1}}, {table: {family: t.family, name: t.name}}]
    for (const s of t.sets.values()) {
      const {kind, ...rest} = s
      items.push({[kind]: rest})
    }
    for (const c of t.chains.values()) items.push({chain: c})
    for (const r of t.rules) items.push({rule: r})
    return {status: 0, stdout: JSON.stringify({nftables: items}), stderr: ''}
  }

  listRuleset(): NftRunResult {
    this.calls.push({kind: 'ruleset'})
    const text = [...this.#state.values()].map((t) => JSON.stringify({...t, chains: [...t.chains], sets: [...t.sets]})).join('\n')
    return {status: 0, stdout: text === '' ? '' : `${text}\n`, stderr: ''}
  }

  #apply(state: State, cmd: Record<string, unknown>): void {
    if ('metainfo' in cmd) return
    const verb = 'add' in cmd ? 'add' : 'delete' in cmd ? 'delete' : undefined
    if (verb === undefined) throw new BatchError(`Error: unsupported command ${Object.keys(cmd).join(',')}`)
    const obj = cmd[verb] as Record<string, Record<string, unknown>>
    const [type] = Object.keys(obj)
    const body = obj[type!]!
    if (type === 'table') {
      const k = keyOf(body.family, body.name)
      if (verb === 'add') {
        if (!state.has(k)) state.set(k, {family: String(body.family), name: String(body.name), chains: new Map(), sets: new Map(), rules: []})
      } else if (!state.delete(k)) throw new BatchError(ENOENT)
      return
    }
    if (verb === 'delete') throw new BatchError(`Error: fake supports delete of tables only, not ${type}`)
    const t = state.get(keyOf(body.family, body.table))
    if (t === undefined) throw new BatchError(ENOENT)
    const name = String(body.name)
    if (type === 'chain') {
      if (!t.chains.has(name)) t.chains.set(name, body)
    } else if (type === 'set' || type === 'map') {
      if (!t.sets.has(name)) t.sets.set(name, {...body, kind: type})
    } else if (type === 'rule') {
      if (!t.chains.has(String(body.chain))) throw new BatchError(ENOENT)
      const sets: string[] = []
      const targets: string[] = []
      references(body.expr, sets, targets)
      for (const s of sets) if (!t.sets.has(s)) throw new BatchError(`Error: Could not process rule: set '${s}' does not exist`)
      for (const c of targets) if (!t.chains.has(c)) throw new BatchError(`Error: Could not process rule: chain '${c}' does not exist`)
      t.rules.push(body)
    } else {
      throw new BatchError(`Error: unsupported object ${String(type)}`)
    }
  }
}
