/**
 * Golden renders of our table (style-anchors.md: config in, host state out) for the client with
 * 0, 1 and 3 servers, with and without --capture-dns, and the server with and without bottle mode;
 * then the properties the goldens cannot show: constant rule count (F-6), order independence,
 * and refusal of every value that could smuggle syntax or steer the wrong traffic (F-6, P-2).
 * Regenerate the goldens after an intended change with PQC_UPDATE_GOLDEN=1.
 */
import assert from 'node:assert/strict'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'node:test'

import {NFT_MAX_STEERED_SERVERS} from '../../../src/constants.js'
import {LocalError} from '../../../src/errors.js'
import {type ClientNftConfig, type SteeredServer, renderClientRuleset} from '../../../src/nft/client-ruleset.js'
import type {NftBatch} from '../../../src/nft/json.js'
import {renderServerRuleset} from '../../../src/nft/server-ruleset.js'
import {REPO_ROOT} from '../../helpers/repo.js'
import {GOLDEN_CASES, THREE_SERVERS, CLIENT_BASE} from './cases.js'

const GOLDEN_DIR = join(REPO_ROOT, 'test/golden/nft')
const UPDATE = process.env.PQC_UPDATE_GOLDEN === '1'

const text = (b: NftBatch): string => `${JSON.stringify(b, null, 2)}\n`
type Entry = NftBatch['nftables'][number]
const adds = (b: NftBatch, kind: string): Record<string, unknown>[] =>
  b.nftables.flatMap((c: Entry) => ('add' in c && kind in c.add ? [(c.add as unknown as Record<string, Record<string, unknown>>)[kind]!] : []))

for (const c of GOLDEN_CASES) {
  test(`golden: ${c.name}`, () => {
    const path = join(GOLDEN_DIR, `${c.name}.json`)
    const rendered = text(c.render())
    if (UPDATE) writeFileSync(path, rendered)
    assert.equal(rendered, readFileSync(path, 'utf8'))
  })
}

test('every batch replaces exactly our table: add, delete, add inet pqconnect first, nothing else touched', () => {
  for (const c of GOLDEN_CASES) {
    const b = c.render()
    assert.deepEqual(b.nftables.slice(0, 4), [
      {metainfo: {json_schema_version: 1}},
      {add: {table: {family: 'inet', name: 'pqconnect'}}},
      {delete: {table: {family: 'inet', name: 'pqconnect'}}},
      {add: {table: {family: 'inet', name: 'pqconnect'}}},
    ])
    for (const cmd of b.nftables.slice(4)) {
      assert.ok('add' in cmd, c.name)
      const [body] = Object.values(cmd.add) as {family: string; table: string}[]
      assert.equal(body!.family, 'inet')
      assert.equal(body!.table, 'pqconnect')
    }
  }
})

test('the rule count does not grow with servers (maps and sets, never a rule per peer)', () => {
  const many: SteeredServer[] = Array.from({length: NFT_MAX_STEERED_SERVERS}, (_, i) => ({
    realAddr: `198.18.${i >> 8}.${i & 0xff}`, internalAddr: `10.43.${(i + 2) >> 8}.${(i + 2) & 0xff}`, pqcPort: 624, keyPort: 584,
  }))
  const counts = [0, 1, 3, many.length].map((n) => adds(renderClientRuleset(CLIENT_BASE, many.slice(0, n)), 'rule').length)
  assert.deepEqual(new Set(counts).size, 1, String(counts))
  const full = renderClientRuleset(CLIENT_BASE, many)
  const steer = adds(full, 'map')[0]!
  assert.equal((steer.elem as unknown[]).length, NFT_MAX_STEERED_SERVERS)
  const exempt = adds(full, 'set').find((s) => s.name === 'exempt4')!
  assert.equal((exempt.elem as unknown[]).length, 2 * NFT_MAX_STEERED_SERVERS)
  assert.throws(() => renderClientRuleset(CLIENT_BASE, [...many, {realAddr: '198.51.100.1', internalAddr: '10.43.200.1', pqcPort: 1, keyPort: 2}]), LocalError)
})

test('output does not depend on the order the router lists servers in', () => {
  const a = text(renderClientRuleset(CLIENT_BASE, THREE_SERVERS))
  const b = text(renderClientRuleset(CLIENT_BASE, [...THREE_SERVERS].reverse()))
  assert.equal(a, b)
})

test('two servers behind one real address: the lowest internal address is steered, both keep exempt ports', () => {
  const b = renderClientRuleset(CLIENT_BASE, [
    {realAddr: '192.0.2.9', internalAddr: '10.43.0.9', pqcPort: 624, keyPort: 584},
    {realAddr: '192.0.2.9', internalAddr: '10.43.0.3', pqcPort: 42424, keyPort: 42425},
  ])
  assert.deepEqual(adds(b, 'map')[0]!.elem, [['192.0.2.9', '10.43.0.3']])
  const exempt = adds(b, 'set').find((s) => s.name === 'exempt4')!
  assert.deepEqual(exempt.elem, [584, 624, 42424, 42425].map((p) => ({concat: ['192.0.2.9', p]})))
})

test('addresses are canonicalized before they enter the ruleset', () => {
  const b = renderClientRuleset(CLIENT_BASE, [{realAddr: '192.0.2.9', internalAddr: '10.43.0.7', pqcPort: 624, keyPort: 584}])
  assert.deepEqual(adds(b, 'map')[0]!.elem, [['192.0.2.9', '10.43.0.7']])
  assert.throws(() => renderClientRuleset(CLIENT_BASE, [{realAddr: '192.000.2.9', internalAddr: '10.43.0.7', pqcPort: 624, keyPort: 584}]), LocalError)
})

const server = (over: Partial<SteeredServer>): SteeredServer => ({realAddr: '192.0.2.9', internalAddr: '10.43.0.7', pqcPort: 624, keyPort: 584, ...over})
const INJECTIONS = ['pqccli0"; flush ruleset', 'pqccli0\nflush ruleset', 'pqc}cli0', 'pqc cli0', '', 'a'.repeat(16), '..', 'pqc*']

test('refused: interface names that could carry syntax, bad addresses, ports, marks and steering targets', () => {
  const bad: [string, () => unknown][] = [
    ...INJECTIONS.map((n): [string, () => unknown] => [`tun ${JSON.stringify(n)}`, () => renderClientRuleset({...CLIENT_BASE, tunName: n}, [])]),
    ...INJECTIONS.map((n): [string, () => unknown] => [`oif ${JSON.stringify(n)}`, () => renderServerRuleset({
      pqcPort: 624, keyPort: 584, tunName: 'pqcserv0', poolCidr: '10.42.0.0/16', hostIp: '192.0.2.50', masqueradeIfname: n})]),
    ['real 1.2.3', () => renderClientRuleset(CLIENT_BASE, [server({realAddr: '1.2.3'})])],
    ['real with injection', () => renderClientRuleset(CLIENT_BASE, [server({realAddr: '1.2.3.4; flush ruleset'})])],
    ['real in our pool (a loop)', () => renderClientRuleset(CLIENT_BASE, [server({realAddr: '10.43.0.9'})])],
    ['real loopback', () => renderClientRuleset(CLIENT_BASE, [server({realAddr: '127.0.0.1'})])],
    ['real multicast', () => renderClientRuleset(CLIENT_BASE, [server({realAddr: '224.0.0.251'})])],
    ['real 0.0.0.0', () => renderClientRuleset(CLIENT_BASE, [server({realAddr: '0.0.0.0'})])],
    ['internal outside the pool', () => renderClientRuleset(CLIENT_BASE, [server({internalAddr: '10.44.0.7'})])],
    ['port 0', () => renderClientRuleset(CLIENT_BASE, [server({pqcPort: 0})])],
    ['port 65536', () => renderClientRuleset(CLIENT_BASE, [server({keyPort: 65536})])],
    ['port 1.5', () => renderClientRuleset(CLIENT_BASE, [server({keyPort: 1.5})])],
    ['pool with host bits', () => renderClientRuleset({...CLIENT_BASE, poolCidr: '10.43.0.1/16'}, [])],
    ['tun address outside the pool', () => renderClientRuleset({...CLIENT_BASE, tunAddr: '10.44.0.1'}, [])],
    ['router mark 0 (would exempt everything)', () => renderClientRuleset({...CLIENT_BASE, routerMark: 0}, [])],
    ['router mark 2^32', () => renderClientRuleset({...CLIENT_BASE, routerMark: 2 ** 32}, [])],
    ['capture-dns with no exemption (the resolver would loop)', () => renderClientRuleset({...CLIENT_BASE, captureDns: {address: '127.0.0.53', port: 53}}, [])],
    ['capture-dns IPv6 garbage', () => renderClientRuleset({...CLIENT_BASE, captureDns: {address: '127.0.0.53', port: 53, exemptUid: 1, address6: '::1]; flush'}}, [])],
    ['inbound port 0', () => renderClientRuleset({...CLIENT_BASE, inboundAllow: {tcp: [0]}}, [])],
    ['server same ports', () => renderServerRuleset({pqcPort: 624, keyPort: 624, tunName: 'pqcserv0', poolCidr: '10.42.0.0/16'})],
    ['server host IP in the pool', () => renderServerRuleset({pqcPort: 624, keyPort: 584, tunName: 'pqcserv0', poolCidr: '10.42.0.0/16', hostIp: '10.42.0.9'})],
    ['server masquerade without host IP', () => renderServerRuleset({pqcPort: 624, keyPort: 584, tunName: 'pqcserv0', poolCidr: '10.42.0.0/16', masqueradeIfname: 'eth0'})],
  ]
  for (const [what, fn] of bad) {
    assert.throws(fn, (e: unknown) => e instanceof LocalError && e.code === 'PQC_ERR_CONFIG_INVALID', what)
  }
})

test('a config mistake is caught before anything is rendered: valid input renders, each field alone breaks it', () => {
  const ok: ClientNftConfig = {...CLIENT_BASE, captureDns: {address: '127.0.0.53', port: 53, exemptUid: 0, address6: 'fd00::53'}}
  assert.doesNotThrow(() => renderClientRuleset(ok, THREE_SERVERS))
  assert.throws(() => renderClientRuleset({...ok, captureDns: {...ok.captureDns!, port: 0}}, THREE_SERVERS), LocalError)
})
