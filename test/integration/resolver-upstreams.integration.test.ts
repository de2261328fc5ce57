/**
 * The resolver against scripted upstreams on loopback (dns-anchors.md rows 4, 9, 11, 18, 19):
 * a dead first upstream, garbage and spoofed replies, a silent upstream (SERVFAIL before 5 s),
 * partial CNAME chains completed by asking the target, DNSSEC AD/RRSIG handling, the router
 * control channel and the status socket used by `pqc servers list`.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync} from 'node:fs'
import net from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, test} from 'node:test'

import dnsPacket from 'dns-packet'

import ServersList from '../../oclif/commands/servers/list.js'
import ServersShow from '../../oclif/commands/servers/show.js'
import {resolveConfig} from '../../resolver/config.js'
import {requestStatus} from '../../resolver/control.js'
import {type RunningResolver, startResolver} from '../../resolver/main.js'
import {formatAnnouncementLabel} from '../../src/dns/announcement.js'
import {FrameDecoder, encodeFrame} from '../../src/ipc/frame.js'
import {type PeerAnnounced, decodeMessage} from '../../src/ipc/messages.js'
import {dig} from '../helpers/dig.js'
import {type FakeUpstream, answer, startFakeUpstream} from '../helpers/fake-upstream-dns.js'
import {freePort} from '../helpers/free-port.js'
import {REPO_ROOT} from '../helpers/repo.js'

const cleanups: Array<() => Promise<void> | void> = []
after(async () => {
  for (const c of cleanups.reverse()) await c()
})

async function resolverWith(upstreamPorts: number[], extra: {routerSocket?: string; controlSocket?: string} = {}): Promise<RunningResolver> {
  const r = await startResolver(resolveConfig({listen: '127.0.0.1:0', upstreams: upstreamPorts.map((p) => `127.0.0.1:${p}`), ...extra}))
  cleanups.push(() => r.close())
  return r
}

async function fake(h: Parameters<typeof startFakeUpstream>[0], tcp = false): Promise<FakeUpstream> {
  const f = await startFakeUpstream(h, tcp)
  cleanups.push(() => f.close())
  return f
}

const good = (): Promise<FakeUpstream> => fake((q) => answer(q, [{type: 'A', name: q.questions![0]!.name, ttl: 60, data: '192.0.2.1'}]))

test('a dead first upstream: the answer comes from the second, well within a second', async () => {
  const dead = await freePort()
  const ok = await good()
  const r = await resolverWith([dead, ok.port])
  const t0 = Date.now()
  const a = await dig(r.port, 'dead-first.example')
  assert.equal(a.answers[0]!.data, '192.0.2.1')
  assert.ok(Date.now() - t0 < 1500, `${Date.now() - t0} ms`)
})

test('an upstream that returns garbage never crashes the resolver; failover to a good one', async () => {
  const garbage = await fake(() => [Uint8Array.of(1, 2, 3), new Uint8Array(600).fill(0xc0), Uint8Array.from({length: 40}, (_, i) => (i * 37) & 255)])
  const ok = await good()
  const r = await resolverWith([garbage.port, ok.port])
  const a = await dig(r.port, 'garbage-first.example')
  assert.equal(a.answers[0]!.data, '192.0.2.1')
  assert.ok(r.counters.upstreamMismatched >= 3)
  assert.equal(r.counters.internalErrors, 0)
})

test('garbage-only and silent upstreams: SERVFAIL before the client would time out (5 s)', async () => {
  const garbage = await fake(() => Uint8Array.of(0xde, 0xad))
  const silent = await fake(() => undefined)
  for (const up of [garbage, silent]) {
    const r = await resolverWith([up.port])
    const t0 = Date.now()
    const a = await dig(r.port, 'nothing.example')
    const ms = Date.now() - t0
    assert.equal(a.status, 'SERVFAIL')
    assert.ok(ms < 4000, `${ms} ms`)
    assert.ok(r.counters.upstreamTimeouts >= 1)
  }
})

test('spoofed replies (wrong ID, wrong question) are dropped; the real one is accepted', async () => {
  const up = await fake((q) => {
    const real = answer(q, [{type: 'A', name: q.questions![0]!.name, ttl: 60, data: '192.0.2.7'}])
    const wrongId = {...answer(q, [{type: 'A', name: q.questions![0]!.name, ttl: 60, data: '6.6.6.6'}]), id: (q.id! + 1) & 0xffff}
    const wrongQ = {...answer(q, [{type: 'A', name: 'evil.example', ttl: 60, data: '6.6.6.6'}]), questions: [{type: 'A', name: 'evil.example'}]} as dnsPacket.Packet
    return [wrongId, wrongQ, real]
  })
  const r = await resolverWith([up.port])
  const a = await dig(r.port, 'spoof.example')
  assert.deepEqual(a.answers.map((x) => x.data), ['192.0.2.7'])
  assert.ok(r.counters.upstreamMismatched >= 2)
  // Upstream queries use fresh IDs and EDNS0 1232 (dns-anchors.md rows 3 and 10).
  const sent = up.queries.at(-1)!
  const opt = sent.additionals!.find((x) => x.type === 'OPT') as dnsPacket.OptAnswer | undefined
  assert.equal(opt?.udpPayloadSize, 1232)
})

const LABEL = formatAnnouncementLabel(Uint8Array.from({length: 32}, (_, i) => 200 - i), {pqcPort: 624, keyPort: 584})

test('a partial chain is completed by asking for the target; a pq1 target is then rewritten', async () => {
  const up = await fake((q) => {
    const name = q.questions![0]!.name.toLowerCase()
    if (name === 'www.part.example') return answer(q, [{type: 'CNAME', name: 'www.part.example', ttl: 60, data: `${LABEL}.cdn.example`}])
    if (name === `${LABEL}.cdn.example`) return answer(q, [{type: 'A', name: `${LABEL}.cdn.example`, ttl: 60, data: '192.0.2.99'}])
    if (name === 'plain.part.example') return answer(q, [{type: 'CNAME', name: 'plain.part.example', ttl: 60, data: 'host.cdn.example'}])
    if (name === 'host.cdn.example') return answer(q, [{type: 'A', name: 'host.cdn.example', ttl: 60, data: '192.0.2.98'}])
    return answer(q, [], {flags: 3})
  })
  const r = await resolverWith([up.port])
  const a = await dig(r.port, 'www.part.example')
  assert.deepEqual(a.answers.map((x) => x.type), ['CNAME', 'A'])
  assert.match(a.answers[1]!.data, /^10\.43\./)
  const p = await dig(r.port, 'plain.part.example')
  assert.deepEqual(p.answers.map((x) => x.data), ['host.cdn.example.', '192.0.2.98'])
  assert.ok(r.counters.chainsCompleted >= 2)
  assert.deepEqual(r.status().servers.map((s) => s.realAddrs), [['192.0.2.99']])
})

test('DNSSEC: DO and RRSIGs pass through with AD from a loopback upstream; a rewrite strips RRSIGs and clears AD', async () => {
  const sig = (name: string, covered: string): dnsPacket.Answer => ({
    type: 'RRSIG', name, ttl: 60, data: {typeCovered: covered, algorithm: 13, labels: 2, originalTTL: 60,
      expiration: 2_000_000_000, inception: 1_600_000_000, keyTag: 1, signersName: 'example', signature: Buffer.alloc(64, 7)},
  })
  const up = await fake((q) => {
    const name = q.questions![0]!.name
    const ad = dnsPacket.AUTHENTIC_DATA | dnsPacket.RECURSION_AVAILABLE
    const opt = {type: 'OPT', name: '.', udpPayloadSize: 1232, flags: dnsPacket.DNSSEC_OK} as dnsPacket.Answer
    if (name === 'signed.example') return answer(q, [{type: 'A', name, ttl: 60, data: '192.0.2.5'}, sig(name, 'A')], {flags: ad, additionals: [opt]})
    return answer(q, [{type: 'CNAME', name, ttl: 60, data: `${LABEL}.example`}, sig(name, 'CNAME'),
      {type: 'A', name: `${LABEL}.example`, ttl: 60, data: '192.0.2.6'}, sig(`${LABEL}.example`, 'A')], {flags: ad, additionals: [opt]})
  })
  const r = await resolverWith([up.port])
  const plain = await dig(r.port, '+dnssec', 'signed.example')
  assert.ok(plain.flags.includes('ad'))
  assert.deepEqual(plain.answers.map((x) => x.type), ['A', 'RRSIG'])
  assert.equal((up.queries.at(-1)!.additionals![0] as dnsPacket.OptAnswer).flags! & dnsPacket.DNSSEC_OK, dnsPacket.DNSSEC_OK)
  const pq = await dig(r.port, '+dnssec', 'pq-signed.example')
  assert.ok(!pq.flags.includes('ad'))
  assert.deepEqual(pq.answers.map((x) => x.type), ['CNAME', 'A'])
  assert.match(pq.answers[1]!.data, /^10\.43\./)
})

test('with a router on the control channel, the internal address comes from the router', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pqc-ctl-'))
  cleanups.push(() => rmSync(dir, {recursive: true, force: true}))
  const routerPath = join(dir, 'router.sock')
  const controlPath = join(dir, 'resolver.sock')
  const seen: PeerAnnounced[] = []
  const router = net.createServer((s) => {
    const dec = new FrameDecoder()
    s.on('data', (d) => {
      const res = dec.push(d)
      assert.ok(res.ok)
      for (const v of res.values) {
        const m = decodeMessage(v)
        if (m?.type !== 'peer-announced') continue
        seen.push(m)
        s.write(encodeFrame({type: 'peer-address', id: m.id, internalAddr: '10.43.9.9'}))
      }
    })
  })
  await new Promise<void>((res) => router.listen(routerPath, () => res()))
  cleanups.push(() => new Promise<void>((res) => router.close(() => res())))
  const up = await fake((q) => {
    const name = q.questions![0]!.name
    return answer(q, [{type: 'CNAME', name, ttl: 60, data: `${LABEL}.example`}, {type: 'A', name: `${LABEL}.example`, ttl: 60, data: '192.0.2.6'}])
  })
  const r = await resolverWith([up.port], {routerSocket: routerPath, controlSocket: controlPath})
  for (let i = 0; i < 50 && !r.status().routerConnected; i++) await new Promise((res) => setTimeout(res, 20))
  assert.ok(r.status().routerConnected)
  const a = await dig(r.port, 'www.routed.example')
  assert.equal(a.answers.at(-1)!.data, '10.43.9.9')
  assert.equal(seen.length, 1)
  assert.equal(seen[0]!.name, `${LABEL}.example`)
  assert.deepEqual(seen[0]!.realAddrs, ['192.0.2.6'])
  assert.equal(seen[0]!.pqcPort, 624)
  assert.equal(seen[0]!.keyPort, 584)
  assert.equal(seen[0]!.keyHash, Buffer.from(Uint8Array.from({length: 32}, (_, i) => 200 - i)).toString('hex'))
  const st = await requestStatus(controlPath)
  assert.equal(st.servers[0]!.internalAddr, '10.43.9.9')
  assert.equal(st.servers[0]!.state, 'router')
  assert.ok(st.counters.rewrites! >= 1)
  // The CLI reads the same socket (pqc servers list / show --json).
  const list = await ServersList.run(['--json', '--control-socket', controlPath], REPO_ROOT)
  assert.equal(list.servers[0]!.internalAddr, '10.43.9.9')
  const one = await ServersShow.run([LABEL, '--json', '--control-socket', controlPath], REPO_ROOT)
  assert.equal(one.keyHash, seen[0]!.keyHash)
})
