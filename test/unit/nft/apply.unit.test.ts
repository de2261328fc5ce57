/**
 * Applying, listing and removing our table against the in-memory nft (router/nft/fake-runner.ts):
 * idempotent apply, removal from any state, a refused batch leaves everything unchanged (F-6),
 * other tables are never touched (F-3, P-2), and batches naming anything but our table are refused
 * before nft runs. Then the real runner's transport: one argument, or a private file for large
 * batches, checked with a stand-in `nft` that reports what it was given.
 */
import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {test} from 'node:test'

import {LocalError} from '../../../src/errors.js'
import {renderClientRuleset} from '../../../src/nft/client-ruleset.js'
import type {NftBatch} from '../../../src/nft/json.js'
import {renderServerRuleset} from '../../../src/nft/server-ruleset.js'
import {applyRuleset, assertOnlyOurTable, checkRuleset, listTable, removeTable} from '../../../router/nft/apply.js'
import {FakeNftRunner} from '../../../router/nft/fake-runner.js'
import {SystemNftRunner} from '../../../router/nft/runner.js'
import {CLIENT_BASE, CLIENT_FULL, GOLDEN_CASES, ONE_SERVER, THREE_SERVERS} from './cases.js'

const OTHER: NftBatch = {nftables: [
  {add: {table: {family: 'inet', name: 'filter'}}},
  {add: {chain: {family: 'inet', table: 'filter', name: 'input', type: 'filter', hook: 'input', prio: 0, policy: 'accept'}}},
]}

/** A fake with an admin's own table in it (seeded directly: applyRuleset would refuse it). */
function seeded(): FakeNftRunner {
  const nft = new FakeNftRunner()
  assert.equal(nft.batch(JSON.stringify(OTHER)).status, 0)
  return nft
}

test('every golden ruleset applies and lists back with its sets, chains and rules', () => {
  for (const c of GOLDEN_CASES) {
    const nft = new FakeNftRunner()
    const batch = c.render()
    checkRuleset(batch, nft)
    assert.equal(listTable(nft), undefined, 'check mode changed nothing')
    applyRuleset(batch, nft)
    const listed = listTable(nft)!
    const kinds = (objs: unknown[]): string[] => objs.map((o) => Object.keys(o as object)[0]!).sort()
    assert.deepEqual(kinds(listed), kinds(batch.nftables.slice(3).map((cmd) => (cmd as {add: object}).add)), c.name)
  }
})

test('apply is idempotent and each apply replaces the whole table (no stale rules or elements)', () => {
  const nft = seeded()
  applyRuleset(renderClientRuleset(CLIENT_FULL, THREE_SERVERS), nft)
  applyRuleset(renderClientRuleset(CLIENT_BASE, ONE_SERVER), nft)
  const once = listTable(nft)
  applyRuleset(renderClientRuleset(CLIENT_BASE, ONE_SERVER), nft)
  assert.deepEqual(listTable(nft), once)
  const fresh = new FakeNftRunner()
  applyRuleset(renderClientRuleset(CLIENT_BASE, ONE_SERVER), fresh)
  assert.deepEqual(listTable(nft), listTable(fresh), 'nothing of the bigger ruleset survived')
})

test('removeTable works from any state and leaves the ruleset as it was before apply', () => {
  const nft = seeded()
  const before = nft.listRuleset().stdout
  assert.deepEqual(removeTable(nft), {removed: false})
  applyRuleset(renderServerRuleset({pqcPort: 624, keyPort: 584, tunName: 'pqcserv0', poolCidr: '10.42.0.0/16'}), nft)
  assert.notEqual(nft.listRuleset().stdout, before)
  assert.deepEqual(removeTable(nft), {removed: true})
  assert.deepEqual(removeTable(nft), {removed: false})
  assert.equal(nft.listRuleset().stdout, before)
  assert.deepEqual(nft.tables(), ['inet filter'])
})

test('a batch the kernel refuses changes nothing and surfaces as PQC_ERR_IO with nft\'s message', () => {
  const nft = seeded()
  applyRuleset(renderClientRuleset(CLIENT_BASE, ONE_SERVER), nft)
  const before = nft.listRuleset().stdout
  nft.failNext('Could not process rule: Operation not permitted')
  assert.throws(() => applyRuleset(renderClientRuleset(CLIENT_BASE, THREE_SERVERS), nft),
    (e: unknown) => e instanceof LocalError && e.code === 'PQC_ERR_IO' && /Operation not permitted/.test(e.message))
  assert.equal(nft.listRuleset().stdout, before)
  // A batch that breaks half way (a rule naming a set that does not exist) is all or nothing too.
  const broken = renderClientRuleset(CLIENT_BASE, THREE_SERVERS)
  broken.nftables = broken.nftables.filter((c) => !('add' in c && 'map' in c.add))
  assert.throws(() => applyRuleset(broken, nft), LocalError)
  assert.equal(nft.listRuleset().stdout, before)
})

test('batches that name anything but inet pqconnect are refused before nft runs', () => {
  const nft = seeded()
  const ours = {family: 'inet', name: 'pqconnect'}
  const bad: unknown[] = [
    {nftables: [{flush: {ruleset: null}}]},
    {nftables: [{delete: {table: {family: 'inet', name: 'filter'}}}]},
    {nftables: [{add: {table: {family: 'ip', name: 'pqconnect'}}}]},
    {nftables: [{add: {rule: {family: 'inet', table: 'filter', chain: 'input', expr: [{drop: null}]}}}]},
    {nftables: [{add: {table: ours}}, {delete: {chain: {family: 'inet', table: 'pqconnect', name: 'x'}}}]},
    {nftables: [{replace: {rule: {family: 'inet', table: 'pqconnect', chain: 'x', handle: 1, expr: []}}}]},
    {nftables: [{add: {table: ours, chain: {family: 'inet', table: 'filter', name: 'x'}}}]},
    {nftables: [{add: {flowtable: {family: 'inet', table: 'pqconnect', name: 'f'}}}]},
    {nftables: 'flush ruleset'},
    {},
  ]
  for (const b of bad) {
    assert.throws(() => applyRuleset(b as NftBatch, nft), (e: unknown) => e instanceof LocalError && e.code === 'PQC_ERR_ARGUMENT', JSON.stringify(b))
  }
  assert.equal(nft.calls.filter((c) => c.kind === 'batch').length, 1, 'only the seeding batch reached nft')
  assert.doesNotThrow(() => assertOnlyOurTable(renderClientRuleset(CLIENT_FULL, THREE_SERVERS)))
})

test('listTable: undefined when absent, an error for anything else nft complains about', () => {
  const nft = new FakeNftRunner()
  assert.equal(listTable(nft), undefined)
  const broken = {listTable: () => ({status: 1, stdout: '', stderr: 'Error: Operation not permitted'}), batch: nft.batch.bind(nft), listRuleset: nft.listRuleset.bind(nft)}
  assert.throws(() => listTable(broken), (e: unknown) => e instanceof LocalError && e.code === 'PQC_ERR_IO')
})

/** A stand-in nft: prints its arguments and, for -f FILE, the file's size, mode and content length. */
function recordingRunner(argvMaxBytes?: number): SystemNftRunner {
  const script = `const fs = require('node:fs'); const a = process.argv.slice(1); const i = a.indexOf('-f');
    const f = i < 0 ? null : a[i + 1]; const st = f === null ? null : fs.statSync(f);
    console.log(JSON.stringify({args: a.map((x) => x.length > 80 ? 'JSON:' + x.length : x), file: f,
      mode: st === null ? null : (st.mode & 0o777), bytes: st === null ? null : st.size}))`
  return new SystemNftRunner({wrap: [process.execPath, '-e', script, '--'], nftPath: 'nft', argvMaxBytes})
}

test('the real runner passes small batches as one argument and large ones through a private file, then deletes it', () => {
  const batch = JSON.stringify(renderClientRuleset(CLIENT_BASE, THREE_SERVERS))
  const small = JSON.parse(recordingRunner().batch(batch).stdout) as {args: string[]; file: string | null}
  assert.deepEqual(small.args, ['nft', '-j', `JSON:${batch.length}`])
  const checked = JSON.parse(recordingRunner().batch(batch, {check: true}).stdout) as {args: string[]}
  assert.deepEqual(checked.args, ['nft', '-c', '-j', `JSON:${batch.length}`])
  const big = JSON.parse(recordingRunner(100).batch(batch, {check: true}).stdout) as {args: string[]; file: string; mode: number; bytes: number}
  assert.deepEqual(big.args.slice(0, 4), ['nft', '-c', '-j', '-f'])
  assert.equal(big.mode, 0o600)
  assert.equal(big.bytes, Buffer.byteLength(batch))
  assert.equal(existsSync(big.file), false, 'the batch file is removed after nft ran')
})

test('the real runner reports a missing nft binary as a failure, not a crash', () => {
  const r = new SystemNftRunner({nftPath: '/nonexistent/nft'}).listTable()
  assert.equal(r.status, -1)
  assert.throws(() => listTable(new SystemNftRunner({nftPath: '/nonexistent/nft'})), LocalError)
})
