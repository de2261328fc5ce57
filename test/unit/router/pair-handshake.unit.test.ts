/**
 * Client and server routers joined by the in-memory doubles on a virtual clock (issue 4, "Tests /
 * Unit"): the handshake through the key server, 10^5 packets each way with addresses rewritten and
 * checksums valid, and replay of captured tunnel datagrams and of a captured initiation.
 */
import assert from 'node:assert/strict'
import {after, before, test} from 'node:test'

import {
  CLIENT_PORT, CLIENT_REAL, PQC_PORT, RouterPair, SERVER_REAL, connectedPair as connect, ipv4, ipv4Text, makeServerKeys, outOfPlace,
  type ServerKeys,
} from '../../helpers/router-pair.js'

let keys: ServerKeys
const pairs: RouterPair[] = []

before(async () => {
  keys = await makeServerKeys()
})

after(() => {
  for (const p of pairs) p.close()
})

const ATTACKER = '203.0.113.66'

async function connectedPair(): ReturnType<typeof connect> {
  const r = await connect(keys)
  pairs.push(r.pair)
  return r
}

test('handshake: static key download, ephemeral keys, initiation, the server keepalive confirms', async () => {
  const {pair, internal, pool, upAfterS} = await connectedPair()
  const peer = pair.client.peersByKey.get(keys.keyHashHex)!
  // One 20 ms round trip per paced window of the 1.1 MB download, then ephemeral keys (1 RTT),
  // then the initiation and the server's keepalive (1 RTT): about a second of virtual time.
  assert.ok(upAfterS > 0.04 && upAfterS < 3, `up after ${upAfterS} s`)
  assert.match(ipv4Text(internal), /^10\.43\./)
  assert.match(ipv4Text(pool), /^10\.42\./)
  assert.equal(pair.client.counters.keyDownloads, 1)
  const ks = pair.keyServer.counters
  assert.ok(ks.staticAnswered >= 900, `static answers ${ks.staticAnswered}`) // 1 MB in nodes of at most 1152 bytes
  assert.equal(ks.staticAnswered, pair.count('c2s', 'static-req'))
  assert.equal(ks.bytesOut, ks.bytesIn) // every answer exactly the request's size (section 5.6)
  assert.equal(ks.ephemeralAnswered, 1)
  assert.equal(pair.count('c2s', 'init'), 1)
  assert.deepEqual(pair.server.handshakes.counters, {received: 1, rateLimited: 0, queueFull: 0, failed: 0, replays: 0, duplicateTid: 0, succeeded: 1})
  // The server's immediate keepalive is what confirmed the tunnel: one 56-byte datagram, nothing else.
  assert.equal(pair.count('s2c', 'keepalive'), 1)
  assert.equal(pair.count('s2c', 'tunnel'), 0)
  assert.equal(pair.client.counters.tunnelIn, 1)
  assert.equal(peer.state, 'up')
  assert.equal(peer.handshakes, 1)
  assert.equal(peer.lastConnectS, upAfterS)
  assert.equal(pair.client.peersByTid.size, 1)
  assert.equal([...pair.client.peersByTid.keys()][0], [...pair.server.peersByTid.keys()][0]) // same tid on both sides
})

test('packets queued during the handshake reach the server: it holds them until the session exists', async () => {
  // The client flushes its queue into the new tunnel right behind the initiation; the server is
  // still decapsulating (async, ~70 ms real; here the same virtual instant) and has no session for
  // that tid yet, so it holds them (bounded) and opens them once the handshake completes.
  const pair = await RouterPair.create(keys, {latencyS: 0.01})
  pairs.push(pair)
  const internal = ipv4(pair.announce())
  pair.sendFromClientApp(internal, 0, 5)
  await pair.advanceUntil(() => pair.client.peersByKey.get(keys.keyHashHex)?.lastConnectS !== undefined, 10)
  await pair.advance(0.1)
  assert.equal(pair.client.counters.queued, 5)
  assert.equal(pair.count('c2s', 'tunnel'), 5) // sent at once, right behind the initiation
  assert.equal(pair.server.handshakes.counters.succeeded, 1)
  assert.equal(pair.server.counters.tunnelDropped, 0)
  assert.equal(pair.server.counters.tunOut, 5)
  assert.deepEqual(pair.toServerApp.seqs, [0, 1, 2, 3, 4])
  assert.equal(pair.toServerApp.bad.length, 0)
})

test('10^5 packets each way over 50 virtual seconds: all arrive in order, rewritten, checksums valid', async () => {
  const {pair, internal, pool} = await connectedPair()
  const rounds = 200
  const perRound = 500
  const t0 = Date.now()
  for (let r = 0; r < rounds; r++) {
    pair.sendFromClientApp(internal, r * perRound, perRound, r % 7 === 0 ? 1200 : 64)
    pair.sendFromServerApp(pool, r * perRound, perRound, r % 5 === 0 ? 1200 : 64)
    await pair.advance(0.25)
  }
  const total = rounds * perRound
  const realS = (Date.now() - t0) / 1000
  console.log(`# ${total} packets each way in ${realS.toFixed(1)} s real, ${pair.clock.mono().toFixed(1)} s virtual`)
  assert.deepEqual(pair.toServerApp.bad, [])
  assert.deepEqual(pair.toClientApp.bad, [])
  assert.deepEqual(outOfPlace(pair.toServerApp.seqs, 0, total), [])
  assert.deepEqual(outOfPlace(pair.toClientApp.seqs, 0, total), [])
  assert.equal(pair.server.counters.tunOut, total)
  assert.equal(pair.client.counters.tunOut, total)
  assert.equal(pair.server.counters.tunnelDropped + pair.client.counters.tunnelDropped, 0)
  // 50 s crossed at least one 30 s epoch boundary on both sides, without a new handshake.
  const cs = pair.client.peersByKey.get(keys.keyHashHex)!.session!
  const ss = [...pair.server.peersByTid.values()][0]!.session
  assert.ok(cs.sendEpoch >= 1 && ss.sendEpoch >= 1, `epochs ${cs.sendEpoch} ${ss.sendEpoch}`)
  assert.equal(pair.server.handshakes.counters.succeeded, 1)
  assert.equal(pair.client.peersByKey.get(keys.keyHashHex)!.handshakes, 1)
})

test('replay: captured tunnel datagrams and a captured initiation are refused, no second session', async () => {
  const pair = await RouterPair.create(keys, {latencyS: 0.01})
  pairs.push(pair)
  const captured: {init: Uint8Array[]; c2s: Uint8Array[]; s2c: Uint8Array[]} = {init: [], c2s: [], s2c: []}
  pair.tap = (d, info) => {
    if (info.kind === 'init') captured.init.push(Uint8Array.from(d.data))
    if (info.kind === 'tunnel') captured[info.dir].push(Uint8Array.from(d.data))
    return 'pass'
  }
  const internal = ipv4(pair.announce())
  assert.notEqual(await pair.advanceUntil(() => pair.client.peersByKey.get(keys.keyHashHex)?.lastConnectS !== undefined, 10), undefined)
  const sp = [...pair.server.peersByTid.values()][0]!
  pair.toServerApp.expect = {src: sp.poolAddr, dst: ipv4('10.42.0.1')}
  pair.toClientApp.expect = {src: internal, dst: ipv4('10.43.0.1')}
  pair.sendFromClientApp(internal, 0, 100)
  pair.sendFromServerApp(sp.poolAddr, 0, 100)
  await pair.advance(1)
  pair.tap = undefined
  assert.equal(captured.init.length, 1)
  assert.equal(captured.c2s.length, 100)
  assert.equal(captured.s2c.length, 100)
  assert.equal(pair.toServerApp.seqs.length, 100)
  assert.equal(pair.toClientApp.seqs.length, 100)

  // Tunnel datagrams replayed from the client's own address and from elsewhere: all dropped,
  // nothing reaches the applications, and the server's idea of the client's endpoint stays put.
  const sDrop = pair.server.counters.tunnelDropped
  const cDrop = pair.client.counters.tunnelDropped
  for (const d of captured.c2s) pair.inject(CLIENT_REAL, CLIENT_PORT, d, SERVER_REAL, PQC_PORT)
  for (const d of captured.c2s) pair.inject(ATTACKER, 5555, d, SERVER_REAL, PQC_PORT)
  for (const d of captured.s2c) pair.inject(SERVER_REAL, PQC_PORT, d, CLIENT_REAL, CLIENT_PORT)
  await pair.advance(1)
  assert.equal(pair.server.counters.tunnelDropped - sDrop, 200)
  assert.equal(pair.client.counters.tunnelDropped - cDrop, 100)
  assert.equal(pair.toServerApp.seqs.length, 100)
  assert.equal(pair.toClientApp.seqs.length, 100)
  assert.equal(Buffer.from(sp.endpoint).join('.'), CLIENT_REAL)
  assert.equal(sp.port, CLIENT_PORT)

  // The initiation replayed from the client's address and from an attacker, 5 s later: refused
  // before decapsulation by the replay cache; still one session.
  pair.inject(CLIENT_REAL, CLIENT_PORT, captured.init[0]!, SERVER_REAL, PQC_PORT)
  pair.inject(ATTACKER, 5555, captured.init[0]!, SERVER_REAL, PQC_PORT)
  await pair.advance(5)
  let hc = pair.server.handshakes.counters
  assert.equal(hc.received, 3)
  assert.equal(hc.replays, 2)
  assert.equal(hc.succeeded, 1)
  assert.equal(pair.server.peersByTid.size, 1)
  assert.equal(pair.server.peersByAddr.size, 1)

  // Ten minutes on (the tunnel kept alive by traffic), past every ephemeral key the initiation
  // could use: replayed again, still no session (refused by the cache or by decapsulation).
  for (let i = 0; i < 20; i++) {
    pair.sendFromClientApp(internal, 1000 + i, 1)
    await pair.advance(30)
  }
  pair.inject(ATTACKER, 5556, captured.init[0]!, SERVER_REAL, PQC_PORT)
  await pair.advance(2)
  hc = pair.server.handshakes.counters
  assert.equal(hc.received, 4)
  assert.equal(hc.replays + hc.failed, 3)
  assert.equal(hc.succeeded, 1)
  assert.equal(pair.server.peersByTid.size, 1)
  assert.equal(pair.toServerApp.seqs.length, 120)
  assert.deepEqual(pair.toServerApp.bad, [])
})
