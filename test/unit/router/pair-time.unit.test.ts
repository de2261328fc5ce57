/**
 * Client and server routers on a virtual clock over long stretches (issue 4, "Tests / Unit"):
 * epochs rolling over for 30 minutes with traffic, an idle tunnel kept alive by keepalives for 10
 * minutes, and a new handshake with the same internal address after the server forgot the client.
 */
import assert from 'node:assert/strict'
import {after, before, test} from 'node:test'

import {DEAD_PEER_S, EPOCH_DURATION_S, EPOCH_TIMEOUT_S, KEEPALIVE_INTERVAL_S, MAX_EPOCHS} from '../../../src/constants.js'
import {RouterPair, connectedPair as connect, ipv4, makeServerKeys, outOfPlace, type ServerKeys} from '../../helpers/router-pair.js'

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

test('epochs roll over for 30 virtual minutes with traffic, one handshake, bounded receive state', async () => {
  const {pair, internal, pool} = await connectedPair()
  const cp = pair.client.peersByKey.get(keys.keyHashHex)!
  const sp = [...pair.server.peersByTid.values()][0]!
  const start = pair.clock.mono()
  const seen = {client: new Set<number>(), server: new Set<number>()}
  let maxRecvEpochs = 0
  const steps = 30 * 60 / 5
  for (let i = 0; i < steps; i++) {
    pair.sendFromClientApp(internal, i * 20, 20)
    pair.sendFromServerApp(pool, i * 20, 20)
    await pair.advance(5)
    seen.client.add(cp.session!.sendEpoch)
    seen.server.add(sp.session.sendEpoch)
    maxRecvEpochs = Math.max(maxRecvEpochs, cp.session!.status().recvEpochs.length, sp.session.status().recvEpochs.length)
  }
  const elapsed = pair.clock.mono() - start
  const epochs = Math.floor(elapsed / EPOCH_DURATION_S)
  console.log(`# ${elapsed} s: client epoch ${cp.session!.sendEpoch}, server epoch ${sp.session.sendEpoch}, most receive epochs held ${maxRecvEpochs}`)
  assert.ok(Math.abs(elapsed - 1800) < 1e-6, `elapsed ${elapsed}`)
  // Every 30 s epoch was used in each direction (5 s traffic steps), ending at epoch 60 (+-1 for phase).
  assert.ok(Math.abs(cp.session!.sendEpoch - epochs) <= 1, `client epoch ${cp.session!.sendEpoch}`)
  assert.ok(Math.abs(sp.session.sendEpoch - epochs) <= 1, `server epoch ${sp.session.sendEpoch}`)
  assert.ok(seen.client.size >= epochs && seen.server.size >= epochs, `${seen.client.size} ${seen.server.size}`)
  assert.ok(maxRecvEpochs <= MAX_EPOCHS && maxRecvEpochs >= 2, `receive epochs held: ${maxRecvEpochs}`)
  const total = steps * 20
  assert.deepEqual(outOfPlace(pair.toServerApp.seqs, 0, total), [])
  assert.deepEqual(outOfPlace(pair.toClientApp.seqs, 0, total), [])
  assert.deepEqual([...pair.toServerApp.bad, ...pair.toClientApp.bad], [])
  assert.equal(pair.server.counters.tunnelDropped + pair.client.counters.tunnelDropped, 0)
  assert.equal(cp.handshakes, 1)
  assert.equal(pair.server.handshakes.counters.succeeded, 1)
  assert.equal(pair.count('c2s', 'init'), 1)
})

test('an idle tunnel lives 10 virtual minutes on keepalives (every 25 s both ways), then carries data without a handshake', async () => {
  const {pair, internal, pool} = await connectedPair()
  pair.sendFromClientApp(internal, 0, 1)
  pair.sendFromServerApp(pool, 0, 1)
  await pair.advance(1)
  const before = {c2s: pair.count('c2s', 'keepalive'), s2c: pair.count('s2c', 'keepalive')}
  const sent = {c2s: [] as number[], s2c: [] as number[]}
  pair.tap = (_d, info) => {
    if (info.kind === 'keepalive') sent[info.dir].push(info.at)
    return 'pass'
  }
  await pair.advance(600)
  pair.tap = undefined
  const ka = {c2s: pair.count('c2s', 'keepalive') - before.c2s, s2c: pair.count('s2c', 'keepalive') - before.s2c}
  const gaps = (t: number[]): number[] => t.slice(1).map((x, i) => Number((x - t[i]!).toFixed(3)))
  console.log(`# keepalives in 600 s: client ${ka.c2s}, server ${ka.s2c}; gaps client ${[...new Set(gaps(sent.c2s))]}, server ${[...new Set(gaps(sent.s2c))]}`)
  const expected = 600 / KEEPALIVE_INTERVAL_S
  assert.ok(Math.abs(ka.c2s - expected) <= 1, `client keepalives ${ka.c2s}`)
  assert.ok(Math.abs(ka.s2c - expected) <= 1, `server keepalives ${ka.s2c}`)
  // Never a silence near the 120 s receive timeout: every gap is about the 25 s interval.
  for (const g of [...gaps(sent.c2s), ...gaps(sent.s2c)]) assert.ok(g >= KEEPALIVE_INTERVAL_S && g <= KEEPALIVE_INTERVAL_S + 1.1, `gap ${g}`)
  assert.equal(pair.count('c2s', 'tunnel'), 1)
  assert.equal(pair.count('s2c', 'tunnel'), 1)
  const cp = pair.client.peersByKey.get(keys.keyHashHex)!
  assert.equal(cp.state, 'up')
  assert.ok(cp.session!.isAlive(pair.clock.mono()))
  assert.equal(pair.server.peersByTid.size, 1)
  // Data again, both ways, same tunnel.
  pair.sendFromClientApp(internal, 1, 50)
  pair.sendFromServerApp(pool, 1, 50)
  await pair.advance(1)
  assert.deepEqual(outOfPlace(pair.toServerApp.seqs, 0, 51), [])
  assert.deepEqual(outOfPlace(pair.toClientApp.seqs, 0, 51), [])
  assert.deepEqual([...pair.toServerApp.bad, ...pair.toClientApp.bad], [])
  assert.equal(cp.handshakes, 1)
  assert.equal(pair.count('c2s', 'init'), 1)
  assert.equal(pair.server.handshakes.counters.succeeded, 1)
})

test('rehandshake: after the server forgets the client, its packets lead to a new handshake, same internal address', async () => {
  const {pair, internal} = await connectedPair()
  const cp = pair.client.peersByKey.get(keys.keyHashHex)!
  const oldTid = [...pair.client.peersByTid.keys()][0]
  pair.sendFromClientApp(internal, 0, 10)
  await pair.advance(1)
  assert.equal(pair.toServerApp.seqs.length, 10)

  // The server process restarts: a new router with the same long-term keys, knowing no tunnel.
  pair.server.close()
  pair.startServer()
  const restartedAt = pair.clock.mono()
  pair.toServerApp.expect = undefined // the new server gives a new pool address; checked below
  // The application keeps sending (one packet a second) until the tunnel is back.
  let seq = 10
  let recoveredAfter: number | undefined
  for (let s = 0; s < EPOCH_TIMEOUT_S + 30 && recoveredAfter === undefined; s++) {
    pair.sendFromClientApp(internal, seq++, 1)
    await pair.advance(1)
    if (pair.server.counters.tunOut > 0) recoveredAfter = pair.clock.mono() - restartedAt
  }
  console.log(`# server restarted at ${restartedAt.toFixed(1)} s; client packets reach the new server after ${recoveredAfter?.toFixed(3)} s; ` +
    `new server dropped ${pair.server.counters.tunnelDropped} tunnel datagrams meanwhile`)
  assert.ok(recoveredAfter !== undefined, `no recovery:\n${pair.logs.slice(-30).join('\n')}`)
  // Dead-peer detection: data unanswered for DEAD_PEER_S on a tunnel that answered before leads to
  // a new handshake (plus a tick, the ephemeral fetch and a round trip), not to 120 s of blackhole.
  assert.ok(recoveredAfter <= DEAD_PEER_S + 3, `recovered after ${recoveredAfter} s`)
  assert.equal(cp.handshakes, 2)
  assert.equal(pair.server.handshakes.counters.succeeded, 1)
  assert.equal(pair.server.peersByTid.size, 1)
  assert.notEqual([...pair.client.peersByTid.keys()][0], oldTid)
  assert.equal(pair.client.peersByTid.size, 1)
  assert.equal(pair.client.counters.keyDownloads, 1) // the verified static key is kept in memory
  // Same internal address on the client; the packets that arrive carry the new pool address.
  assert.equal(ipv4(pair.announce()), internal)
  assert.equal(cp.internalAddr, internal)
  const newPool = [...pair.server.peersByTid.values()][0]!.poolAddr
  pair.toServerApp.expect = {src: newPool, dst: ipv4('10.42.0.1')}
  pair.toClientApp.expect = {src: internal, dst: ipv4('10.43.0.1')}
  pair.sendFromClientApp(internal, 1000, 20)
  pair.sendFromServerApp(newPool, 1000, 20)
  await pair.advance(1)
  assert.deepEqual(pair.toServerApp.seqs.slice(-20), Array.from({length: 20}, (_, i) => 1000 + i))
  assert.deepEqual(pair.toClientApp.seqs, Array.from({length: 20}, (_, i) => 1000 + i))
  assert.deepEqual([...pair.toServerApp.bad, ...pair.toClientApp.bad], [])
  // What the blackhole cost: packets sent while the client still used the forgotten tunnel.
  const arrivedAfterRestart = pair.toServerApp.seqs.length - 10 - 20
  console.log(`# after the restart ${seq - 10} packets sent, ${arrivedAfterRestart} arrived, ${pair.server.counters.tunnelDropped} dropped by the new server`)
  assert.equal(pair.server.counters.tunnelDropped + arrivedAfterRestart, pair.count('c2s', 'tunnel') - 10 - 20 - 0)
})
