/**
 * End to end with real applications (issue 4, root): a client, a server and a DNS namespace on one
 * bridge (diagram in test/helpers/e2e-topology.ts). nsd serves `www.test` as a CNAME to the
 * server's pq1 name and `plain.test` as an ordinary name; the client runs `pqc client start` with
 * resolv.conf pointing at it, the server `pqc server start` beside HTTP, echo and iperf3 servers.
 * Unmodified dig, curl, ping and iperf3 run in the client namespace; tcpdump on the server's veth
 * checks that tunnelled flows are only UDP to the crypto and key ports. Timings are printed, never
 * asserted. PQC_E2E_LONG=1 idles a TCP connection for 180 s instead of 40 s.
 */
import assert from 'node:assert/strict'
import {chmodSync, existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, test} from 'node:test'

import {BODY_MARKER, IPERF_PORT, e2eBody, idleEcho, startAppServer} from '../helpers/e2e-apps.js'
import {type Capture, type CapturedPacket, PacketCapture} from '../helpers/e2e-capture.js'
import {e2eZone, startNsdIn} from '../helpers/e2e-nsd.js'
import {CLIENT_LISTEN, CLIENT_TUN, PQC_BIN, SERVER_TUN, type ServerKeys, keygen, startClient, startServer} from '../helpers/e2e-pqc.js'
import {E2E_NET, E2eTopology, type Service, leftovers} from '../helpers/e2e-topology.js'

const LONG = process.env.PQC_E2E_LONG === '1'
/** Milliseconds an idle TCP connection must survive (issue 4 asks for 3 minutes: PQC_E2E_LONG=1). */
const IDLE_MS = LONG ? 180_000 : 40_000
/** Milliseconds after a server restart within which a new lookup must reach it again. */
const RESTART_RECOVERY_MS = 15_000
const IPERF_SECONDS = 5

const body = e2eBody()
let topo: E2eTopology | undefined
let tmp = ''
let keys: ServerKeys
let server: Service
let client: Service
let coldCapture: Capture | undefined

const net = (): E2eTopology => {
  if (topo === undefined) throw new Error('the topology was not set up (see the before hook)')
  return topo
}
const logs = (): string => `\n${net().logs()}`

interface CurlResult {
  ok: boolean
  body: Buffer
  remoteIp: string
  /** Seconds from the end of name resolution to the first byte of the response. */
  dnsToFirstByte: number
  total: number
  detail: string
}

async function curl(url: string, file: string, maxSeconds = 60): Promise<CurlResult> {
  rmSync(file, {force: true})
  const r = await net().exec(net().client, 'curl', ['-sS', '--max-time', String(maxSeconds), '-o', file,
    '-w', '%{http_code} %{remote_ip} %{time_namelookup} %{time_starttransfer} %{time_total}', url], (maxSeconds + 10) * 1000)
  const [code, remoteIp, lookup, first, total] = r.stdout.trim().split(' ')
  return {
    ok: r.code === 0 && code === '200',
    body: existsSync(file) ? readFileSync(file) : Buffer.alloc(0),
    remoteIp: remoteIp ?? '',
    dnsToFirstByte: Number(first) - Number(lookup),
    total: Number(total),
    detail: `curl ${url}: exit ${r.code}, ${r.stdout.trim()} ${r.stderr.trim()}`,
  }
}

const CLIENT_ADDRS = new Set<string>([E2E_NET.clientIp, E2E_NET.clientIp6])
const SERVER_ADDRS = new Set<string>([E2E_NET.serverIp, E2E_NET.serverIp6])

/** IP packets between the client's and the server's veth addresses (neighbour discovery excluded). */
function flow(cap: Capture): CapturedPacket[] {
  return cap.packets.filter((p) => (p.family === 'IP' || p.family === 'IP6')
    && ((CLIENT_ADDRS.has(p.src) && SERVER_ADDRS.has(p.dst)) || (SERVER_ADDRS.has(p.src) && CLIENT_ADDRS.has(p.dst)))
    && !(p.proto === 'icmp6' && /neighbor (solicitation|advertisement)|router (solicitation|advertisement)/.test(p.line)))
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'pqc-e2e-'))
  chmodSync(tmp, 0o755) // the workers run as the pqconnect user and must reach their sockets here
  keys = await keygen(join(tmp, 'server'))
  assert.equal(keys.label.length, 63, `keygen gave the label ${keys.label}`)
  topo = new E2eTopology()
  await startNsdIn(topo, topo.dns, join(tmp, 'nsd'), e2eZone({
    pq1Label: keys.label, serverIp: E2E_NET.serverIp, serverIp6: E2E_NET.serverIp6, dnsIp: E2E_NET.dnsIp,
  }))
  await startAppServer(topo, topo.server)
  const iperf = topo.start('iperf3 -s', topo.server, 'iperf3', ['-s', '-p', String(IPERF_PORT)])
  await topo.waitReady(iperf, `iperf3 on TCP ${IPERF_PORT}`, () => net().listening(net().server, 'tcp', IPERF_PORT), 10_000)
  server = await startServer(topo, topo.server, keys)
  topo.setResolvConf(topo.client, CLIENT_LISTEN)
  client = await startClient(topo, topo.client, `${E2E_NET.dnsIp}:53`, join(tmp, 'client'))
})

after(async () => {
  await topo?.cleanup()
  if (tmp !== '') rmSync(tmp, {recursive: true, force: true})
})

test('cold tunnel: curl http://www.test/ returns the exact 100 kB body through a 10.43 address', async () => {
  const capture = await PacketCapture.start(net(), net().server, E2E_NET.serverIf, join(tmp, 'cold.pcap'))
  const r = await curl('http://www.test/', join(tmp, 'cold.body'))
  coldCapture = await capture.stop()
  console.log(`cold tunnel (key fetch + handshake): first DNS answer to first byte ${r.dnsToFirstByte.toFixed(3)} s, ` +
    `total ${r.total.toFixed(3)} s`)
  assert.ok(r.ok, `${r.detail}${logs()}`)
  assert.match(r.remoteIp, /^10\.43\.\d+\.\d+$/, r.detail)
  assert.equal(r.body.length, body.length)
  assert.ok(r.body.equals(body), 'the body differs from what the server sent')
})

test('the capture on the server veth during that curl shows only UDP to the crypto and key ports', () => {
  assert.ok(coldCapture !== undefined, 'no capture (the previous test failed early)')
  const packets = flow(coldCapture)
  const bad = packets.filter((p) => p.proto !== 'udp' || !(
    (SERVER_ADDRS.has(p.dst) && (p.dport === keys.pqcPort || p.dport === keys.keyPort))
    || (SERVER_ADDRS.has(p.src) && (p.sport === keys.pqcPort || p.sport === keys.keyPort))))
  assert.deepEqual(bad.map((p) => p.line), [], 'packets of the flow other than UDP to the crypto/key ports')
  assert.ok(packets.some((p) => p.dport === keys.keyPort), `no request to the key port ${keys.keyPort}:\n${coldCapture.text}`)
  assert.ok(packets.some((p) => p.dport === keys.pqcPort), `no datagram to the crypto port ${keys.pqcPort}:\n${coldCapture.text}`)
  assert.deepEqual(coldCapture.packets.filter((p) => p.proto === 'tcp').map((p) => p.line), [], 'plaintext TCP on the wire')
  assert.equal(coldCapture.raw.includes(BODY_MARKER), false, 'the HTTP body appears in clear in the capture')
})

test('dig www.test gives only a 10.43 address, and no AAAA records', async () => {
  const a = await net().exec(net().client, 'dig', ['+short', 'www.test', 'A'])
  const addrs = a.stdout.split('\n').filter((l) => /^\d+\.\d+\.\d+\.\d+$/.test(l.trim()))
  assert.ok(addrs.length >= 1, `no A record: ${a.stdout} ${a.stderr}${logs()}`)
  for (const addr of addrs) assert.match(addr, /^10\.43\.\d+\.\d+$/, `dig +short www.test: ${a.stdout}`)
  const aaaa = await net().exec(net().client, 'dig', ['www.test', 'AAAA'])
  assert.match(aaaa.stdout, /status: NOERROR/, aaaa.stdout)
  const answer = aaaa.stdout.split(';; ANSWER SECTION:')[1]?.split('\n\n')[0] ?? ''
  assert.doesNotMatch(answer, /\sAAAA\s/, `AAAA records in the answer:\n${aaaa.stdout}`)
  assert.equal(aaaa.stdout.includes(E2E_NET.serverIp6), false, `the real IPv6 address leaked:\n${aaaa.stdout}`)
})

test('warm tunnel: curl http://www.test/ again', async () => {
  const r = await curl('http://www.test/', join(tmp, 'warm.body'))
  console.log(`warm tunnel: first DNS answer to first byte ${r.dnsToFirstByte.toFixed(3)} s, total ${r.total.toFixed(3)} s`)
  assert.ok(r.ok, `${r.detail}${logs()}`)
  assert.ok(r.body.equals(body), 'the body differs from what the server sent')
})

test('pqc status --json shows the server as up, with the bytes of both downloads and one handshake; servers list agrees', async () => {
  const r = await net().exec(net().client, process.execPath, [PQC_BIN, 'status', '--json',
    '--router-socket', join(tmp, 'client', 'run', 'router.sock'), '--server-socket', join(tmp, 'no-such.sock')])
  assert.equal(r.code, 0, `${r.stderr}${logs()}`)
  const st = JSON.parse(r.stdout) as {client: {mode: string; peers: Array<Record<string, unknown>>} | null; server: unknown}
  assert.equal(st.server, null)
  assert.equal(st.client?.mode, 'client')
  assert.equal(st.client.peers.length, 1, r.stdout)
  const peer = st.client.peers[0]
  assert.ok(peer !== undefined, r.stdout)
  assert.equal(peer.state, 'up')
  assert.match(String(peer.internalAddr), /^10\.43\./)
  assert.equal(peer.handshakes, 1)
  assert.ok(Number(peer.bytesIn) > 2 * body.length, `bytesIn ${String(peer.bytesIn)}`)
  // pqc servers list joins the resolver's table with the router's tunnel state.
  const l = await net().exec(net().client, process.execPath, [PQC_BIN, 'servers', 'list', '--json',
    '--control-socket', join(tmp, 'client', 'run', 'control.sock'), '--router-socket', join(tmp, 'client', 'run', 'router.sock')])
  assert.equal(l.code, 0, `${l.stderr}${logs()}`)
  const servers = (JSON.parse(l.stdout) as {servers: Array<{keyHash: string; internalAddr: string; tunnel: string}>}).servers
  assert.equal(servers.length, 1, l.stdout)
  assert.equal(servers[0]!.tunnel, 'up')
  assert.equal(servers[0]!.internalAddr, peer.internalAddr)
  assert.equal(servers[0]!.keyHash, peer.keyHash)
})

test('ping -c 5 www.test gets 5 replies through the tunnel', async () => {
  const r = await net().exec(net().client, 'ping', ['-c', '5', '-W', '2', 'www.test'])
  // ping prints the canonical name (the pq1 name the CNAME points to) and the address it pings.
  assert.match(r.stdout, /^PING \S+ \(10\.43\.\d+\.\d+\)/, `${r.stdout}${r.stderr}`)
  assert.match(r.stdout, /5 packets transmitted, 5 received/, `${r.stdout}${r.stderr}${logs()}`)
  assert.equal(r.code, 0)
})

test('curl http://plain.test/ (the server\'s real address, ordinary A record) is steered into the tunnel by nftables', async () => {
  const capture = await PacketCapture.start(net(), net().server, E2E_NET.serverIf, join(tmp, 'plain.pcap'))
  const r = await curl('http://plain.test/', join(tmp, 'plain.body'))
  // Control: the same request from the dns namespace (no pqc there) is plaintext on the same veth.
  const direct = await net().exec(net().dns, 'curl', ['-sS', '--max-time', '20', '-o', '/dev/null', '-w', '%{http_code}', `http://${E2E_NET.serverIp}/`], 30_000)
  const cap = await capture.stop()
  assert.ok(r.ok, `${r.detail}${logs()}`)
  assert.equal(r.remoteIp, E2E_NET.serverIp, 'the application sees the real address it connected to')
  assert.ok(r.body.equals(body), 'the body differs from what the server sent')
  const fromClient = flow(cap).filter((p) => p.proto === 'tcp')
  assert.deepEqual(fromClient.map((p) => p.line), [], 'TCP between the client and the server on the wire: not steered')
  assert.equal(direct.stdout.trim(), '200', `control curl from the dns namespace: ${direct.stdout} ${direct.stderr}`)
  assert.ok(cap.packets.some((p) => p.proto === 'tcp' && p.dport === 80), `the control's TCP to port 80 was not captured:\n${cap.text}`)
  assert.equal(cap.raw.includes(BODY_MARKER), true, 'the control\'s plaintext body is not in the capture: the capture check is blind')
  const table = await net().exec(net().client, 'nft', ['list', 'map', 'inet', 'pqconnect', 'steer4'])
  assert.match(table.stdout, new RegExp(`${E2E_NET.serverIp.replaceAll('.', '\\.')} : 10\\.43\\.`), table.stdout)
})

test(`iperf3 through the tunnel by name and by real address (steered) (${IPERF_SECONDS} s each; printed, not asserted on speed)`, async () => {
  const rates: string[] = []
  for (const host of ['www.test', 'plain.test']) {
    const r = await net().exec(net().client, 'iperf3', ['-c', host, '-p', String(IPERF_PORT), '-t', String(IPERF_SECONDS), '-J'],
      (IPERF_SECONDS + 30) * 1000)
    const j = JSON.parse(r.stdout || '{}') as {end?: {sum_received?: {bits_per_second?: number; bytes?: number}}; error?: string}
    const recv = j.end?.sum_received
    assert.ok(r.code === 0 && recv !== undefined && (recv.bytes ?? 0) > 0, `iperf3 -c ${host}: exit ${r.code} ${j.error ?? r.stderr}${logs()}`)
    rates.push(`${host} ${((recv.bits_per_second ?? 0) / 1e6).toFixed(1)} Mbit/s`)
  }
  console.log(`iperf3 TCP throughput: ${rates.join(', ')}`)
})

test(`an idle TCP connection through the tunnel survives ${IDLE_MS / 1000} s`, {timeout: IDLE_MS + 120_000}, async () => {
  const r = await idleEcho(net(), net().client, 'www.test', IDLE_MS)
  assert.equal(r.error, undefined, `${r.error}\n${r.log}${logs()}`)
  assert.match(r.remoteAddress, /^10\.43\.\d+\.\d+$/)
  assert.equal(r.first, 'first-before-idle\n')
  assert.equal(r.second, 'second-after-idle\n')
})

test('a restarted server is reached again by a new lookup', async () => {
  const stopped = await server.stop('SIGTERM')
  assert.deepEqual(stopped, {code: 0, signal: null, killed: false}, `pqc server did not exit cleanly on SIGTERM${logs()}`)
  assert.equal(await net().hasLink(net().server, SERVER_TUN), false, `${SERVER_TUN} left behind after exit`)
  server = await startServer(net(), net().server, keys, 'pqc server (restarted)')
  const started = Date.now()
  let attempts = 0
  let last: CurlResult | undefined
  while (Date.now() - started < RESTART_RECOVERY_MS) {
    attempts++
    last = await curl('http://www.test/', join(tmp, 'restart.body'), 5)
    if (last.ok) break
  }
  console.log(`after the server restart: ${last?.ok === true ? 'reached' : 'not reached'} after ${attempts} curl attempt(s), ` +
    `${((Date.now() - started) / 1000).toFixed(1)} s`)
  assert.ok(last?.ok === true, `no successful curl within ${RESTART_RECOVERY_MS} ms: ${last?.detail}${logs()}`)
  assert.ok(last.body.equals(body), 'the body differs from what the server sent')
})

test('pqc client and pqc server exit 0 on SIGTERM and remove their TUN devices', async () => {
  const c = await client.stop('SIGTERM')
  assert.deepEqual(c, {code: 0, signal: null, killed: false}, `pqc client did not exit cleanly${logs()}`)
  assert.equal(await net().hasLink(net().client, CLIENT_TUN), false, `${CLIENT_TUN} left behind`)
  assert.equal(await net().listening(net().client, 'udp', 53), false, 'the resolver still listens')
  const s = await server.stop('SIGTERM')
  assert.deepEqual(s, {code: 0, signal: null, killed: false}, `pqc server did not exit cleanly${logs()}`)
  assert.equal(await net().hasLink(net().server, SERVER_TUN), false, `${SERVER_TUN} left behind`)
})

test('cleanup leaves no namespace, /etc/netns directory or process behind', async () => {
  await net().cleanup()
  assert.deepEqual(leftovers(), [])
  for (const s of net().services) {
    assert.equal(s.running, false, `${s.name} still runs`)
    assert.throws(() => process.kill(s.child.pid!, 0), {code: 'ESRCH'}, `${s.name} (pid ${s.child.pid}) still exists`)
  }
})
