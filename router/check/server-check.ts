/**
 * `pqc server check NAME` (pq1-protocol.md section 9.3, extended): looks NAME up as a client
 * would, finds the pq1 announcement on the CNAME chain (section 2.3), reads the ports from the
 * label or the p=/ks. TXT records (section 2.2), downloads and verifies the static key over the
 * key port (section 5.4), compares with the local key and config directories when given, and asks
 * for one ephemeral key (section 5.5). Every step ends OK, FAIL (with the reason, a fix hint and
 * an error code for the exit status) or SKIP (an earlier step failed). Never throws.
 */
import {CHECK_EPHEMERAL_TRIES, CLIENT_POOL_CIDR, DNS_CNAME_MAX_HOPS, EPHEMERAL_FETCH_TIMEOUT_S, MCELIECE_PK_BYTES, X25519_BYTES} from '../../src/constants.js'
import {isMcEliecePublicKeyWellFormed} from '../../src/crypto/mceliece.js'
import {base32Encode} from '../../src/dns/base32.js'
import type {Announcement} from '../../src/dns/announcement.js'
import {analyzeChain} from '../../src/dns/chain.js'
import {parseCryptoPortTxt, parseKeyPortTxt, txtTexts} from '../../src/dns/txt-ports.js'
import {RCODE_NOERROR, RCODE_NXDOMAIN, TYPE_A, TYPE_TXT, asciiLower} from '../../src/dns/wire.js'
import {PqcError, type PqcErrorCode} from '../../src/errors.js'
import {parseIpv4} from '../../src/net/ipv4.js'
import {fetchEphemeralKeys} from '../client/key-fetch.js'
import {keyHashOfKeyDir} from '../keys/announce.js'
import {readConfigPorts} from '../keys/config-dir.js'
import {type DnsServer, lookup} from './dns-lookup.js'
import {type KeyProgress, probeStaticKey, udpKeyChannel} from './key-probe.js'

export type StepId = 'dns' | 'announcement' | 'address' | 'ports' | 'local-keys' | 'static-key' | 'ephemeral-key'

export interface CheckStep {
  id: StepId
  title: string
  status: 'ok' | 'fail' | 'skip'
  /** What was found (ok) or what is wrong (fail), one line. */
  detail: string
  hint?: string
  /** Error code of a failed step; the CLI exits with its status. */
  code?: PqcErrorCode
}

export interface ServerCheckReport {
  name: string
  dnsServer: string
  ok: boolean
  chain: string[]
  pq1Name?: string
  keyHashHex?: string
  keyHashBase32?: string
  address?: string
  pqcPort?: number
  keyPort?: number
  steps: CheckStep[]
}

export interface ServerCheckOptions {
  name: string
  dns: DnsServer
  /** Compare the announced hash with this key directory. */
  keydir?: string
  /** Compare the announced ports with this config directory (pqcport, keyport files). */
  configDir?: string
  /** Overall deadline of the static-key download. */
  deadlineS?: number
  onProgress?: (p: KeyProgress) => void
}

const TITLES: Record<StepId, string> = {
  'dns': 'DNS look-up',
  'announcement': 'pq1 announcement',
  'address': 'server address',
  'ports': 'ports',
  'local-keys': 'local keys',
  'static-key': 'static key',
  'ephemeral-key': 'ephemeral key',
}

const ANNOUNCE_HINT = 'publish the records printed by `pqc server announce`'

/** Is `addr` in the client pool (10.43.0.0/16), i.e. was the answer rewritten by a pqc proxy? */
function inClientPool(addr: string): boolean {
  const [base, bits] = CLIENT_POOL_CIDR.split('/')
  const a = parseIpv4(addr)
  const mask = Number(bits) === 0 ? 0 : (0xffffffff << (32 - Number(bits))) >>> 0
  return a !== undefined && ((a & mask) >>> 0) === ((parseIpv4(base!)! & mask) >>> 0)
}

export async function checkServer(o: ServerCheckOptions): Promise<ServerCheckReport> {
  const name = asciiLower(o.name.trim()).replace(/\.$/, '')
  const server = o.dns.host.includes(':') ? `[${o.dns.host}]:${o.dns.port}` : `${o.dns.host}:${o.dns.port}`
  const report: ServerCheckReport = {name, dnsServer: server, ok: false, chain: [name], steps: []}
  const ok = (id: StepId, detail: string): void => void report.steps.push({id, title: TITLES[id], status: 'ok', detail})
  const fail = (id: StepId, code: PqcErrorCode, detail: string, hint: string): false => {
    report.steps.push({id, title: TITLES[id], status: 'fail', detail, hint, code})
    return false
  }
  const finish = (): ServerCheckReport => {
    for (const id of Object.keys(TITLES) as StepId[]) {
      if (!report.steps.some((s) => s.id === id) && !(id === 'local-keys' && o.keydir === undefined)) {
        report.steps.push({id, title: TITLES[id], status: 'skip', detail: 'not checked: an earlier step failed'})
      }
    }
    report.steps.sort((a, b) => Object.keys(TITLES).indexOf(a.id) - Object.keys(TITLES).indexOf(b.id))
    report.ok = report.steps.every((s) => s.status !== 'fail')
    return report
  }

  // 1. The chain from NAME to its addresses, asking again for the end when an answer stops at a CNAME.
  let announcement: {name: string; value: Announcement} | undefined
  let addresses: string[] = []
  for (let current = name, hop = 0; ; hop++) {
    const r = await lookup(o.dns, current, TYPE_A)
    if (r.kind === 'timeout') {
      fail('dns', 'PQC_ERR_IO', `no answer from the DNS server ${server} for ${current}`, 'check --server (default: the first nameserver of /etc/resolv.conf) and that it is reachable')
      return finish()
    }
    if (r.kind === 'error') {
      fail('dns', 'PQC_ERR_IO', `${current}: ${r.reason}`, 'check the name and --server')
      return finish()
    }
    const chain = analyzeChain(r.buf, r.msg, asciiLower(current), TYPE_A)
    // NXDOMAIN after a CNAME is about the target: the chain (and its announcement) still counts.
    if (r.rcode === RCODE_NXDOMAIN && chain.names.length === 1) {
      fail('dns', 'PQC_ERR_NOT_ANNOUNCED', `${current} does not exist (NXDOMAIN from ${server})`, `check the spelling, then ${ANNOUNCE_HINT}`)
      return finish()
    }
    if (r.rcode !== RCODE_NOERROR && r.rcode !== RCODE_NXDOMAIN) {
      fail('dns', 'PQC_ERR_IO', `${server} answered rcode ${r.rcode} for ${current}`, 'the DNS server cannot resolve the name: check its logs or try another --server')
      return finish()
    }
    report.chain.push(...chain.names.slice(1))
    announcement ??= chain.announcement
    addresses = chain.addresses
    if (chain.broken) {
      fail('dns', 'PQC_ERR_NOT_ANNOUNCED', `the CNAME chain of ${name} loops or is longer than ${DNS_CNAME_MAX_HOPS}`, 'fix the CNAME records')
      return finish()
    }
    if (!chain.partial || hop >= DNS_CNAME_MAX_HOPS) break
    current = chain.end
  }
  ok('dns', report.chain.join(' -> ') + (addresses.length > 0 ? `: A ${addresses.join(', ')}` : ': no A record'))

  // 2. The pq1 label (section 2.3: first announcement anywhere on the chain).
  if (announcement === undefined) {
    fail('announcement', 'PQC_ERR_NOT_ANNOUNCED', `no pq1 label in the CNAME chain of ${name}`, `add the CNAME record printed by \`pqc server announce\` (${name} CNAME pq1....)`)
  } else {
    report.pq1Name = announcement.name
    report.keyHashHex = Buffer.from(announcement.value.keyHash).toString('hex')
    report.keyHashBase32 = base32Encode(announcement.value.keyHash)
    ok('announcement', `${announcement.name}: key hash ${report.keyHashHex}`)
  }

  // 3. The address a client sends to: like the reference, the last A record at the chain's end.
  if (addresses.length === 0) {
    fail('address', 'PQC_ERR_NOT_ANNOUNCED', `no IPv4 address (A record) at ${report.chain.at(-1)}`, 'give the pq1 name an A record with the server\'s public address (`pqc server announce --address IP`)')
  } else if (inClientPool(addresses.at(-1)!)) {
    fail('address', 'PQC_ERR_ARGUMENT', `${addresses.at(-1)} is an internal address handed out by a pqc client's DNS proxy, not the server's`,
      'ask a DNS server outside this client, e.g. --server 9.9.9.9')
  } else {
    report.address = addresses.at(-1)!
    ok('address', report.address + (addresses.length > 1 ? ` (last of ${addresses.length}, as clients use)` : ''))
  }
  if (announcement === undefined) return finish()

  // 4. Ports: in the 63-character label, else the TXT records (section 2.2).
  if (!(await checkPorts(o, report, announcement, fail, ok))) return finish()

  // 5. The local key directory, when given.
  if (o.keydir !== undefined) {
    let local: string | undefined
    try {
      local = Buffer.from(keyHashOfKeyDir(o.keydir)).toString('hex')
    } catch (err) {
      const e = err as Error
      fail('local-keys', err instanceof PqcError ? err.code : 'PQC_ERR_KEYDIR', e.message, err instanceof PqcError && err.hint !== undefined ? err.hint : 'check --keydir')
    }
    if (local !== undefined && local !== report.keyHashHex) {
      fail('local-keys', 'PQC_ERR_KEY_INVALID', `DNS announces key ${(report.keyHashHex ?? '').slice(0, 16)}..., the key in ${o.keydir} is ${local.slice(0, 16)}...`,
        `publish the records printed by \`pqc server announce --keydir ${o.keydir}\`, or point --keydir at the server's key directory`)
    } else if (local !== undefined) ok('local-keys', `the announced hash is the key in ${o.keydir}`)
  }
  if (report.address === undefined) return finish()

  // 6 and 7. The key port: full static key, then one ephemeral key.
  const ch = udpKeyChannel(report.address, report.keyPort!)
  try {
    const at = `${report.address} UDP ${report.keyPort}`
    const probe = await probeStaticKey(ch, announcement.value.keyHash, {deadlineS: o.deadlineS, onProgress: o.onProgress})
    if (probe.kind === 'silent') {
      fail('static-key', 'PQC_ERR_IO', `key port ${report.keyPort} silent: no answer from ${at} in ${probe.seconds.toFixed(1)} s (${probe.requests} requests)`,
        `is \`pqc server start\` running, is UDP ${report.keyPort} open in the firewall`)
      return finish()
    }
    if (probe.kind === 'mismatch') {
      fail('static-key', 'PQC_ERR_KEY_INVALID', `the key server at ${at} serves a key that does not match the announced hash`,
        'the server runs with other keys than DNS announces: publish the records of `pqc server announce --keydir DIR` for the running server\'s DIR, or start it with the announced keys')
      return finish()
    }
    if (probe.kind === 'incomplete') {
      const p = probe.progress
      fail('static-key', 'PQC_ERR_IO', `key download from ${at} incomplete: ${p.nodesDone} of ${p.nodesTotal} nodes verified, ${probe.answers} answers to ${probe.requests} requests`,
        `packets are lost on the way: check firewalls and rate limits for UDP ${report.keyPort}, then try again`)
      return finish()
    }
    if (probe.key.mceliecePk.length !== MCELIECE_PK_BYTES || probe.key.x25519Pk.length !== X25519_BYTES || !isMcEliecePublicKeyWellFormed(probe.key.mceliecePk)) {
      fail('static-key', 'PQC_ERR_KEY_INVALID', 'the key matches the hash but is not a well-formed McEliece 6960119 public key', 'generate new keys with `pqc server keygen --force` and announce them')
      return finish()
    }
    ok('static-key', `${MCELIECE_PK_BYTES + X25519_BYTES} bytes from ${at} in ${probe.requests} requests, ${probe.seconds.toFixed(2)} s; verified against the hash`)
    try {
      await fetchEphemeralKeys(ch, CHECK_EPHEMERAL_TRIES, EPHEMERAL_FETCH_TIMEOUT_S)
      ok('ephemeral-key', `current sntrup761 and X25519 keys from ${at}`)
    } catch {
      fail('ephemeral-key', 'PQC_ERR_IO', `no answer to the ephemeral-key request from ${at} (${CHECK_EPHEMERAL_TRIES} tries)`,
        'the server serves its static key but no ephemeral keys: restart `pqc server start` and check its log')
    }
  } finally {
    ch.close()
  }
  return finish()
}

async function checkPorts(o: ServerCheckOptions, report: ServerCheckReport, a: {name: string; value: Announcement},
  fail: (id: StepId, code: PqcErrorCode, detail: string, hint: string) => false, ok: (id: StepId, detail: string) => void): Promise<boolean> {
  let {pqcPort, keyPort} = a.value
  let source = 'in the pq1 label'
  if (pqcPort === undefined || keyPort === undefined) {
    source = 'from the TXT records'
    const txt = async (owner: string): Promise<string[]> => {
      const r = await lookup(o.dns, owner, TYPE_TXT)
      return r.kind === 'answer' ? txtTexts(r.buf, r.msg, asciiLower(owner)) : []
    }
    pqcPort = parseCryptoPortTxt(await txt(a.name))
    keyPort = parseKeyPortTxt(await txt(`ks.${a.name}`))
    const missing = [pqcPort === undefined ? `"p=PORT" TXT at ${a.name}` : '', keyPort === undefined ? `"ip=ADDR;p=PORT" TXT at ks.${a.name}` : ''].filter((s) => s !== '')
    if (missing.length > 0) {
      return fail('ports', 'PQC_ERR_NOT_ANNOUNCED', `the 55-character label carries no ports and there is no ${missing.join(' and no ')}`,
        `publish the TXT records printed by \`pqc server announce\`, or announce the 63-character label with --pqcport and --keyport`)
    }
  }
  report.pqcPort = pqcPort
  report.keyPort = keyPort
  if (o.configDir !== undefined) {
    let local: ReturnType<typeof readConfigPorts>
    try {
      local = readConfigPorts(o.configDir)
    } catch (err) {
      return fail('ports', 'PQC_ERR_CONFIG_INVALID', (err as Error).message, 'fix the pqcport and keyport files of --config-dir')
    }
    const diffs = [
      local.pqcPort !== undefined && local.pqcPort !== pqcPort ? `crypto port ${pqcPort} (${o.configDir}/pqcport: ${local.pqcPort})` : '',
      local.keyPort !== undefined && local.keyPort !== keyPort ? `key port ${keyPort} (${o.configDir}/keyport: ${local.keyPort})` : '',
    ].filter((s) => s !== '')
    if (diffs.length > 0) {
      return fail('ports', 'PQC_ERR_CONFIG_INVALID', `DNS announces ${diffs.join(', ')}`,
        'update your DNS: publish the records printed by `pqc server announce`, or fix the config directory')
    }
  }
  ok('ports', `crypto ${pqcPort}/udp, keys ${keyPort}/udp, ${source}`)
  return true
}
