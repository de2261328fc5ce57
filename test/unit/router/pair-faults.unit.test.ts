/**
 * Client and server routers on a virtual clock under network faults (issue 4, "Tests / Unit"):
 * loss of data and of handshake datagrams, reordering and duplication within and beyond the
 * receive window, and a server that never answers (ICMP unreachable to the application in 5 s).
 */
import assert from 'node:assert/strict'
import {after, before, test} from 'node:test'

import {CONNECT_GIVE_UP_S, HANDSHAKE_CONFIRM_S, RECV_REORDER_WINDOW_PACKETS} from '../../../src/constants.js'
import {
  RouterPair, buildPacket, checkIcmp, connectedPair as connect, ipv4, makeServerKeys, outOfPlace, type ServerKeys,
} from '../../helpers/router-pair.js'

let keys: ServerKeys
const pairs: RouterPair[] = []

before(async () => {
  keys = await makeServerKeys()
})

after(() => {
  for (const p of pairs) p.close()
})

async function connectedPair(): ReturnType<typeof connect> {
  const r = await connect(keys)
  pairs.push(r.pair)
  return r
}

async function newPair(): Promise<RouterPair> {
  const pair = await RouterPair.create(keys, {latencyS: 0.01})
  pairs.push(pair)
  return pair
}

/** Seeded PRNG (mulberry32): the same losses on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

const increasing = (s: number[]): boolean => s.every((v, i) => i === 0 || v > s[i - 1]!)

test('10% loss of tunnel datagrams both ways: every surviving packet arrives once, in order, intact', async () => {
  const {pair, internal, pool} = await connectedPair()
  const rnd = prng(1)
  pair.tap = (_d, info) => ((info.kind === 'tunnel' || info.kind === 'keepalive') && rnd() < 0.1 ? 'drop' : 'pass')
  const rounds = 200
  const per = 100
  for (let r = 0; r < rounds; r++) {
    pair.sendFromClientApp(internal, r * per, per)
    pair.sendFromServerApp(pool, r * per, per)
    await pair.advance(0.25)
  }
  pair.tap = undefined
  const total = rounds * per
  const lost = {c2s: pair.lost['c2s:tunnel'] ?? 0, s2c: pair.lost['s2c:tunnel'] ?? 0}
  console.log(`# ${total} packets each way, lost c2s ${lost.c2s}, s2c ${lost.s2c}`)
  assert.ok(lost.c2s > total * 0.08 && lost.c2s < total * 0.12 && lost.s2c > total * 0.08 && lost.s2c < total * 0.12)
  assert.equal(pair.toServerApp.seqs.length, total - lost.c2s)
  assert.equal(pair.toClientApp.seqs.length, total - lost.s2c)
  assert.ok(increasing(pair.toServerApp.seqs) && increasing(pair.toClientApp.seqs))
  assert.deepEqual([...pair.toServerApp.bad, ...pair.toClientApp.bad], [])
  assert.equal(pair.server.counters.tunnelDropped + pair.client.counters.tunnelDropped, 0) // gaps are skipped, not refused
  assert.equal(pair.client.peersByKey.get(keys.keyHashHex)!.handshakes, 1)
  // Loss over: everything gets through again.
  pair.sendFromClientApp(internal, total, 100)
  await pair.advance(1)
  assert.deepEqual(pair.toServerApp.seqs.slice(-100), Array.from({length: 100}, (_, i) => total + i))
})

test('a lost initiation is retried after the confirmation wait; one session on the server', async () => {
  const pair = await newPair()
  let inits = 0
  pair.tap = (_d, info) => (info.kind === 'init' && ++inits === 1 ? 'drop' : 'pass')
  const internal = ipv4(pair.announce())
  pair.sendFromClientApp(internal, 0, 5) // queued while the handshake is in flight
  const up = await pair.advanceUntil(() => pair.client.peersByKey.get(keys.keyHashHex)?.lastConnectS !== undefined, 10)
  const cp = pair.client.peersByKey.get(keys.keyHashHex)!
  console.log(`# first initiation lost: tunnel up after ${up} s (${cp.handshakes} initiations)`)
  assert.equal(inits, 2)
  assert.equal(cp.handshakes, 2)
  // The download (a few tenths of a second), the 1.5 s wait, then ephemeral keys and the second
  // initiation (2 RTT).
  assert.ok(up !== undefined && up >= HANDSHAKE_CONFIRM_S && up < 1.5 + HANDSHAKE_CONFIRM_S, `up after ${up}`)
  assert.equal(pair.server.handshakes.counters.succeeded, 1)
  assert.equal(pair.server.peersByTid.size, 1)
  // The 5 packets queued before went into the first (lost) tunnel: gone, and nobody was told
  // (they would be lost even with the initiation: see the KNOWN BUG test in pair-handshake).
  assert.equal(pair.toServerApp.seqs.length, 0)
  assert.equal(pair.toClientApp.icmp.length, 0)
  pair.toServerApp.expect = {src: [...pair.server.peersByTid.values()][0]!.poolAddr, dst: ipv4('10.42.0.1')}
  pair.sendFromClientApp(internal, 5, 5)
  await pair.advance(1)
  assert.deepEqual(pair.toServerApp.seqs, [5, 6, 7, 8, 9])
})

test('20% loss of every datagram from the start: the key download, the handshake and the data get through', async () => {
  const pair = await newPair()
  const rnd = prng(7)
  pair.tap = () => (rnd() < 0.2 ? 'drop' : 'pass')
  const internal = ipv4(pair.announce())
  const up = await pair.advanceUntil(() => pair.client.peersByKey.get(keys.keyHashHex)?.lastConnectS !== undefined, 30)
  const cp = pair.client.peersByKey.get(keys.keyHashHex)!
  const lostStatic = (pair.lost['c2s:static-req'] ?? 0) + (pair.lost['s2c:static-resp'] ?? 0)
  console.log(`# 20% loss: tunnel up after ${up} s, ${pair.count('c2s', 'static-req')} static requests (${lostStatic} requests or answers lost), ` +
    `${cp.handshakes} initiations, ${pair.server.handshakes.counters.succeeded} server sessions`)
  assert.ok(up !== undefined && up < 30, `not up in 30 s:\n${pair.logs.join('\n')}`)
  assert.ok(lostStatic > 100)
  assert.ok(pair.count('c2s', 'static-req') > 937) // retransmissions
  assert.equal(pair.client.counters.keyDownloads, 1)
  assert.equal(cp.state, 'up')
  assert.ok(pair.server.peersByTid.size >= 1 && pair.server.peersByTid.size <= cp.handshakes)
  const sp = pair.server.peersByTid.get([...pair.client.peersByTid.keys()][0]!)!
  assert.ok(sp !== undefined, 'the server holds the client\'s current tunnel')
  pair.toServerApp.expect = {src: sp.poolAddr, dst: ipv4('10.42.0.1')}
  pair.toClientApp.expect = {src: internal, dst: ipv4('10.43.0.1')}
  const before = pair.toServerApp.seqs.length
  pair.sendFromClientApp(internal, 100, 1000)
  pair.sendFromServerApp(sp.poolAddr, 100, 1000)
  await pair.advance(1)
  const got = {c2s: pair.toServerApp.seqs.length - before, s2c: pair.toClientApp.seqs.length}
  assert.ok(got.c2s > 700 && got.c2s < 900 && got.s2c > 700 && got.s2c < 900, JSON.stringify(got))
  assert.deepEqual([...pair.toServerApp.bad, ...pair.toClientApp.bad], [])
})

test('reordering (10-40 ms delays, up to ~200 packets deep) and 5% duplication: each packet delivered exactly once', async () => {
  const {pair, internal, pool} = await connectedPair()
  const rnd = prng(3)
  let duplicated = 0
  pair.tap = (d, info) => {
    if (info.kind !== 'tunnel') return 'pass'
    if (rnd() < 0.05) {
      duplicated++
      const copy = Uint8Array.from(d.data)
      const {from, to} = d
      pair.clock.setTimeout(() => pair.inject(from.address, from.port, copy, to.address, to.port), 30)
    }
    // Bursts of 100 every 20 ms, delays spread over 30 ms: a datagram is overtaken by at most its
    // own burst and the next one (< 200 packets), inside the receive window.
    return {delayS: 0.01 + rnd() * 0.03}
  }
  const rounds = 200
  const per = 100
  for (let r = 0; r < rounds; r++) {
    pair.sendFromClientApp(internal, r * per, per)
    pair.sendFromServerApp(pool, r * per, per)
    await pair.advance(0.02) // the next burst leaves while this one is still in flight
  }
  await pair.advance(1)
  pair.tap = undefined
  const total = rounds * per
  const inversions = (s: number[]): number => s.filter((v, i) => i > 0 && v < s[i - 1]!).length
  const inv = {c2s: inversions(pair.toServerApp.seqs), s2c: inversions(pair.toClientApp.seqs)}
  console.log(`# ${total} packets each way; arrivals out of order: c2s ${inv.c2s}, s2c ${inv.s2c}; duplicates injected ${duplicated}`)
  assert.ok(inv.c2s > total / 10 && inv.s2c > total / 10)
  const sorted = (s: number[]): number[] => [...s].sort((a, b) => a - b)
  assert.deepEqual(outOfPlace(sorted(pair.toServerApp.seqs), 0, total), [])
  assert.deepEqual(outOfPlace(sorted(pair.toClientApp.seqs), 0, total), [])
  assert.deepEqual([...pair.toServerApp.bad, ...pair.toClientApp.bad], [])
  assert.ok(duplicated > total * 2 * 0.04)
  // Every duplicate is refused as a replay, nothing else is.
  assert.equal(pair.server.counters.tunnelDropped + pair.client.counters.tunnelDropped, duplicated)
})

test(`a datagram late by ${RECV_REORDER_WINDOW_PACKETS - 56} packets is accepted, by ${RECV_REORDER_WINDOW_PACKETS + 44} refused`, async () => {
  const {pair, internal} = await connectedPair()
  for (const [late, accepted] of [[RECV_REORDER_WINDOW_PACKETS - 56, true], [RECV_REORDER_WINDOW_PACKETS + 44, false]] as const) {
    let held: Uint8Array | undefined
    pair.tap = (d, info) => {
      if (info.kind !== 'tunnel' || held !== undefined) return 'pass'
      held = Uint8Array.from(d.data)
      return 'drop'
    }
    const first = 100_000 * (accepted ? 1 : 2)
    const n0 = pair.toServerApp.seqs.length
    const dropped0 = pair.server.counters.tunnelDropped
    pair.sendFromClientApp(internal, first, late + 1)
    await pair.advance(0.1)
    pair.tap = undefined
    assert.equal(pair.toServerApp.seqs.length - n0, late)
    pair.inject('192.0.2.10', 40000, held!, '198.51.100.20', 624)
    await pair.advance(0.1)
    assert.equal(pair.toServerApp.seqs.length - n0, accepted ? late + 1 : late)
    assert.equal(pair.toServerApp.seqs.at(-1), accepted ? first : first + late)
    assert.equal(pair.server.counters.tunnelDropped - dropped0, accepted ? 0 : 1)
  }
})

test('a server that never answers: queued packets get ICMP host unreachable within 5 s, later ones at once', async () => {
  const pair = await newPair()
  // Announced at an address where nothing listens (no key server, no crypto port).
  const internal = ipv4(pair.announce({realAddr: '198.51.100.99'}))
  const sent = [0, 1, 2].map((i) => buildPacket(i % 2 === 0 ? 17 : 6, ipv4('10.43.0.1'), internal, i, 32))
  pair.sendFromClientApp(internal, 0, 3, 32)
  const after = await pair.advanceUntil(() => pair.toClientApp.icmp.length === 3, 10)
  console.log(`# silent server: ICMP for 3 queued packets after ${after} s; ${pair.net.unroutable} datagrams went nowhere`)
  assert.ok(after !== undefined && after <= 5, `ICMP after ${after}`)
  assert.equal(after, CONNECT_GIVE_UP_S)
  assert.ok(pair.net.unroutable > 0)
  pair.toClientApp.icmp.forEach((p, i) => assert.deepEqual(checkIcmp(p, sent[i]!), {src: internal, dst: ipv4('10.43.0.1'), type: 3, code: 1}))
  assert.equal(pair.client.counters.icmpSent, 3)
  // While the attempt is over, a new packet is answered at once.
  pair.sendFromClientApp(internal, 3, 1, 32)
  assert.equal(await pair.advanceUntil(() => pair.toClientApp.icmp.length === 4, 1), 0)
  assert.equal(pair.toServerApp.seqs.length, 0)
})

test('a known server that went away entirely: after the tunnel dies, queued packets get ICMP within 5 s', async () => {
  const {pair, internal} = await connectedPair()
  pair.server.close()
  pair.keyServer.close()
  // The client's receive chains expire EPOCH_TIMEOUT_S after the last server epoch; then its packets queue.
  await pair.advanceUntil(() => pair.client.peersByKey.get(keys.keyHashHex)!.state !== 'up', 130)
  assert.notEqual(pair.client.peersByKey.get(keys.keyHashHex)!.state, 'up')
  pair.sendFromClientApp(internal, 0, 2, 32)
  const after = await pair.advanceUntil(() => pair.toClientApp.icmp.length === 2, 10)
  console.log(`# cached key, server gone: ICMP after ${after} s`)
  assert.ok(after !== undefined && after <= 5, `ICMP after ${after}`)
  assert.equal(pair.client.counters.keyDownloads, 1) // no new download: the key was kept
})
