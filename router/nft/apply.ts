/**
 * Applying, reading back and removing our one table `inet pqconnect` (architecture.md section 4).
 * Paired operations (Tailscale linuxfw model): applyRuleset replaces the whole table in one
 * transaction and is idempotent; removeTable undoes it from any state, table present or not, so
 * it serves a clean stop, `pqc cleanup` and ExecStopPost after a crash alike.
 */
import {NFT_TABLE_FAMILY, NFT_TABLE_NAME} from '../../src/constants.js'
import {LocalError} from '../../src/errors.js'
import {type NftBatch, removeTableBatch} from '../../src/nft/json.js'
import {type NftRunner, SystemNftRunner} from './runner.js'

let defaultRunner: NftRunner | undefined
const system = (): NftRunner => (defaultRunner ??= new SystemNftRunner())

/** One line of nft's error output, for our error message (nft prints the batch back too). */
function firstError(stderr: string): string {
  return stderr.split('\n').find((l) => l.startsWith('Error')) ?? (stderr.trim().split('\n')[0] ?? '')
}

/**
 * Refuses a batch that would touch anything but our table (security-tests.md P-2: 0 changes
 * outside our own table), whatever built it: every command must name inet/pqconnect, and only
 * `add`, and `delete` of our table itself, are allowed (no flush, no replace, no other table).
 */
export function assertOnlyOurTable(batch: NftBatch): void {
  const refuse = (why: string): never => {
    throw new LocalError('PQC_ERR_ARGUMENT', `nft: batch refused: ${why}`)
  }
  if (!Array.isArray(batch?.nftables)) refuse('not a libnftables JSON batch')
  for (const cmd of batch.nftables as unknown[]) {
    if (cmd === null || typeof cmd !== 'object') refuse('a command is not an object')
    const keys = Object.keys(cmd as object)
    if (keys.length !== 1) refuse(`command with keys ${keys.join(',')}`)
    const verb = keys[0]!
    if (verb === 'metainfo') continue
    if (verb !== 'add' && verb !== 'delete') refuse(`command '${verb}'`)
    const obj = (cmd as Record<string, Record<string, Record<string, unknown>>>)[verb]!
    const types = Object.keys(obj)
    if (types.length !== 1) refuse('an object with several types')
    const type = types[0]!
    const body = obj[type]!
    const table = type === 'table' ? body.name : body.table
    if (body.family !== NFT_TABLE_FAMILY || table !== NFT_TABLE_NAME) refuse(`${type} outside ${NFT_TABLE_FAMILY} ${NFT_TABLE_NAME}`)
    if (verb === 'delete' && type !== 'table') refuse(`delete of a ${type}`)
    if (!['table', 'chain', 'set', 'map', 'rule', 'element'].includes(type)) refuse(`object type '${type}'`)
  }
}

/** Replaces our table with the rendered batch, atomically; throws LocalError(PQC_ERR_IO) if nft refuses. */
export function applyRuleset(batch: NftBatch, runner: NftRunner = system()): void {
  assertOnlyOurTable(batch)
  const r = runner.batch(JSON.stringify(batch))
  if (r.status !== 0) throw new LocalError('PQC_ERR_IO', `nft: apply failed: ${firstError(r.stderr)}`, {hint: 'is nftables installed, and are we root (CAP_NET_ADMIN)?'})
}

/** Validates a batch against the running kernel without changing anything (`nft -c`). */
export function checkRuleset(batch: NftBatch, runner: NftRunner = system()): void {
  assertOnlyOurTable(batch)
  const r = runner.batch(JSON.stringify(batch), {check: true})
  if (r.status !== 0) throw new LocalError('PQC_ERR_IO', `nft: check failed: ${firstError(r.stderr)}`)
}

/** Our table as `nft -j list table` prints it (metainfo dropped), or undefined when absent. */
export function listTable(runner: NftRunner = system()): unknown[] | undefined {
  const r = runner.listTable()
  if (r.status !== 0) {
    if (/No such file or directory/.test(r.stderr)) return undefined
    throw new LocalError('PQC_ERR_IO', `nft: list failed: ${firstError(r.stderr)}`)
  }
  const parsed = JSON.parse(r.stdout) as {nftables?: unknown[]}
  return (parsed.nftables ?? []).filter((o) => !(o !== null && typeof o === 'object' && 'metainfo' in o))
}

/** Removes our table whether or not it exists; says whether it was there. */
export function removeTable(runner: NftRunner = system()): {removed: boolean} {
  const present = listTable(runner) !== undefined
  const r = runner.batch(JSON.stringify(removeTableBatch()))
  if (r.status !== 0) throw new LocalError('PQC_ERR_IO', `nft: cannot remove table ${NFT_TABLE_FAMILY} ${NFT_TABLE_NAME}: ${firstError(r.stderr)}`)
  return {removed: present}
}
