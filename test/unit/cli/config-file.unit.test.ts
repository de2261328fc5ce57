/**
 * The configuration file (pqc.conf(5)): every kind of mistake is one line naming the file and the
 * key, with exit status 3; the precedence flag > file > config directory > $KEYPATH > default,
 * with the source of each value; oclif's flag defaults never outrank the file; the shipped
 * example loads; `pqc config show --json` prints the same effective values.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, test} from 'node:test'

import {EXIT_CODES} from '../../../oclif/base-command.js'
import ConfigShow from '../../../oclif/commands/config/show.js'
import {type EffectiveConfig, effectiveConfig, givenFlags, loadConfigFile, validateConfig, valuesOf} from '../../../oclif/config-file.js'
import {SCHEMA} from '../../../oclif/config-schema.js'
import {writeConfigPorts} from '../../../router/keys/config-dir.js'
import {PqcError} from '../../../src/errors.js'
import {REPO_ROOT} from '../../helpers/repo.js'

const dir = mkdtempSync(join(tmpdir(), 'pqc-conf-'))
after(() => rmSync(dir, {recursive: true, force: true}))
const emptyDir = join(dir, 'no-config-dir')

function writeConf(name: string, body: unknown): string {
  const p = join(dir, name)
  writeFileSync(p, typeof body === 'string' ? body : JSON.stringify(body))
  return p
}

function errorOf(fn: () => unknown): PqcError {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof PqcError, String(err))
    return err
  }
  assert.fail('no error thrown')
}

test('every mistake in the file is one line naming the file and the key, exit status 3', () => {
  const cases: Array<[unknown, RegExp]> = [
    [{client: {tunaddr: '10.43.0.1/16'}}, /unknown key client\.tunaddr \(did you mean tun-addr\?\)/],
    [{clients: {}}, /unknown key clients \(did you mean client\?\)/],
    [{server: {colour: 'red'}}, /unknown key server\.colour$/],
    [{client: {mtu: '1400'}}, /client\.mtu must be an integer in 576\.\.9000, not "1400"/],
    [{client: {mtu: 100}}, /client\.mtu must be an integer in 576\.\.9000, not 100/],
    [{client: {'capture-dns': 'yes'}}, /client\.capture-dns must be true or false/],
    [{client: {listen: 'localhost:53'}}, /client\.listen must be a literal IP address/],
    [{client: {upstreams: ['9.9.9.9', 'dns.example.org']}}, /client\.upstreams must be a list of ADDR\[:PORT\] strings; "dns\.example\.org" is not one/],
    [{client: {upstreams: '9.9.9.9'}}, /client\.upstreams must be a list/],
    [{client: {'tun-addr': '10.43.0.1'}}, /client\.tun-addr must be an IPv4 address with a prefix/],
    [{client: {'inbound-allow': {tcp: [22], sctp: [1]}}}, /client\.inbound-allow must be an object with only "tcp" and "udp" lists; "sctp"/],
    [{client: {'inbound-allow': {tcp: [0]}}}, /client\.inbound-allow must be an object whose "tcp" is a list of at most 1024 ports/],
    [{server: {bind: '::'}}, /server\.bind must be an IPv4 address, not "::"/],
    [{server: {'host-ip': '203.0.113.300'}}, /server\.host-ip must be an IPv4 address/],
    [{server: {pqcport: 70000}}, /server\.pqcport must be an integer in 1\.\.65535/],
    [{server: {tun: 'a-very-long-interface-name'}}, /server\.tun must be an interface name/],
    [{server: []}, /server must be an object/],
    [[1, 2], /must be a JSON object/],
    ['{"client": {', /not valid JSON/],
  ]
  cases.forEach(([body, re], i) => {
    const path = writeConf(`bad${i}.json`, body)
    const e = errorOf(() => loadConfigFile(path))
    assert.equal(e.code, 'PQC_ERR_CONFIG_INVALID')
    assert.equal(EXIT_CODES[e.code], 3)
    assert.ok(e.message.startsWith(`${path}: `), e.message)
    assert.match(e.message, re)
    assert.ok(!e.message.includes('\n'), 'one line')
  })
  const missing = errorOf(() => loadConfigFile(join(dir, 'nope.json')))
  assert.match(missing.message, /cannot read .*nope\.json: ENOENT/)
})

test('a valid file keeps exactly the keys it sets, typed', () => {
  const f = validateConfig({client: {mtu: 1400, upstreams: ['9.9.9.9', '[2620:fe::fe]:53'], 'inbound-allow': {tcp: [22]}}, server: {'host-ip': '203.0.113.9'}}, 'x.json')
  assert.deepEqual(f.client, {mtu: 1400, upstreams: ['9.9.9.9', '[2620:fe::fe]:53'], 'inbound-allow': {tcp: [22], udp: []}})
  assert.deepEqual(f.server, {'host-ip': '203.0.113.9'})
})

test('precedence: flag, then file, then config directory, then $KEYPATH, then default; each with its source', () => {
  const cfgDir = join(dir, 'config')
  writeConfigPorts(cfgDir, {pqcPort: 42424, keyPort: 42425})
  writeFileSync(join(cfgDir, 'host'), '198.51.100.7\n')
  const file = loadConfigFile(writeConf('prec.json', {
    client: {mtu: 1400, tun: 'pqcfile0'},
    server: {'config-dir': cfgDir, keyport: 5840, bind: '192.0.2.1'},
  }))
  const eff = effectiveConfig({client: {mtu: 1300}, server: {bind: '192.0.2.2'}}, file, {KEYPATH: '/srv/keys'})
  assert.deepEqual(eff.client.mtu, {value: 1300, source: 'flag'})
  assert.deepEqual(eff.client.tun, {value: 'pqcfile0', source: 'file'})
  assert.deepEqual(eff.client.port, {value: 42423, source: 'default'})
  assert.deepEqual(eff.client['inbound-allow'], {value: {tcp: [], udp: []}, source: 'default'})
  assert.deepEqual(eff.server.bind, {value: '192.0.2.2', source: 'flag'})
  assert.deepEqual(eff.server.keyport, {value: 5840, source: 'file'}, 'the file outranks the config directory')
  assert.deepEqual(eff.server.pqcport, {value: 42424, source: 'config-dir'})
  assert.deepEqual(eff.server['host-ip'], {value: '198.51.100.7', source: 'config-dir'})
  assert.deepEqual(eff.server.keydir, {value: '/srv/keys', source: 'env'})
  assert.deepEqual(eff.server['config-dir'], {value: cfgDir, source: 'file'})
  assert.equal(eff.file, file.path)
  // Without file, flags or environment: the built-in defaults, documented in the schema.
  const none = effectiveConfig({}, {path: undefined, client: {}, server: {'config-dir': emptyDir}}, {})
  for (const section of ['client', 'server'] as const) {
    for (const [k, spec] of Object.entries(SCHEMA[section])) {
      const v = (none[section] as Record<string, {value: unknown; source: string}>)[k]!
      if (k === 'config-dir') continue
      assert.deepEqual(v, {value: spec.default, source: 'default'}, `${section}.${k}`)
    }
  }
  assert.deepEqual(valuesOf(none.server).pqcport, 624)
  // A default value is a copy: changing it does not change the schema.
  none.client.upstreams.value.push('192.0.2.53')
  assert.deepEqual(SCHEMA.client.upstreams.default, [])
})

test('flag values are checked like the file, naming the flag', () => {
  const e = errorOf(() => effectiveConfig({client: {'tun-addr': '10.43.0.1/33'}}, {path: undefined, client: {}, server: {'config-dir': emptyDir}}, {}))
  assert.equal(e.code, 'PQC_ERR_ARGUMENT')
  assert.match(e.message, /^--tun-addr must be an IPv4 address with a prefix/)
})

test('givenFlags drops the values oclif filled in from flag defaults, maps flag names to keys', () => {
  const flags = {mtu: 1280, tun: 'pqc9', upstream: ['9.9.9.9'], 'inbound-allow': ['tcp/22', 'udp/5353', 'tcp/80'], verbose: true, listen: '127.0.0.53:53'}
  const metadata = {flags: {mtu: {setFromDefault: true}, listen: {setFromDefault: true}, tun: {setFromDefault: false}}}
  assert.deepEqual(givenFlags('client', flags, metadata), {tun: 'pqc9', upstreams: ['9.9.9.9'], 'inbound-allow': {tcp: [22, 80], udp: [5353]}})
  assert.throws(() => givenFlags('client', {'inbound-allow': ['icmp/1']}, {flags: {}}), /--inbound-allow must be PROTO\/PORT/)
  const file = validateConfig({client: {mtu: 1400}}, 'f.json')
  const eff = effectiveConfig({client: givenFlags('client', flags, metadata)}, file, {})
  assert.deepEqual(eff.client.mtu, {value: 1400, source: 'file'}, 'an oclif default does not outrank the file')
})

test('config/pqc.example.json sets every key and loads', () => {
  const f = loadConfigFile(join(REPO_ROOT, 'config', 'pqc.example.json'))
  assert.deepEqual(Object.keys(f.client).sort(), Object.keys(SCHEMA.client).sort())
  assert.deepEqual(Object.keys(f.server).sort(), Object.keys(SCHEMA.server).sort())
})

test('pqc config show: one line per key with value and source; --json gives the effective config', async () => {
  const cfgDir = join(dir, 'show-config')
  writeConfigPorts(cfgDir, {pqcPort: 42424, keyPort: 42425})
  const path = writeConf('show.json', {client: {upstreams: ['192.0.2.53'], 'inbound-allow': {tcp: [22, 80]}}, server: {'config-dir': cfgDir}})
  const lines: string[] = []
  let json: unknown
  class Captured extends ConfigShow {
    override log(m = ''): void {
      lines.push(m)
    }

    override logJson(j: unknown): void {
      json = j
    }
  }
  const text = await Captured.run(['--config', path], REPO_ROOT)
  assert.equal(lines[0], `config file: ${path}`)
  assert.equal(lines.length, 1 + Object.keys(SCHEMA.client).length + Object.keys(SCHEMA.server).length)
  const row = (key: string): string[] => lines.find((l) => l.startsWith(`${key} `))!.trim().split(/ {2,}/)
  assert.deepEqual(row('client.upstreams'), ['client.upstreams', '192.0.2.53', 'file'])
  assert.deepEqual(row('client.inbound-allow'), ['client.inbound-allow', 'tcp 22,80; udp none', 'file'])
  assert.deepEqual(row('client.mtu'), ['client.mtu', '1280', 'default'])
  assert.deepEqual(row('server.pqcport'), ['server.pqcport', '42424', `config-dir (${cfgDir})`])
  assert.deepEqual(row('server.host-ip'), ['server.host-ip', '(none)', 'default'])
  lines.length = 0
  const result = await Captured.run(['--config', path, '--json'], REPO_ROOT) as EffectiveConfig
  assert.deepEqual(lines, [], 'nothing but JSON')
  assert.deepEqual(json, result)
  assert.deepEqual(result.server.keyport, {value: 42425, source: 'config-dir'})
  assert.deepEqual(text, result)
  const bad = writeConf('show-bad.json', {client: {mtu: 'big'}})
  await assert.rejects(Captured.run(['--config', bad], REPO_ROOT), (e: Error & {oclif?: {exit: number}}) => e.oclif?.exit === 3)
})
