/**
 * Replay against the full routers (security-tests.md ): a real client's initiation and
 * tunnel datagrams, captured by the tap, are replayed at +1 s, +60 s and +200 s from the client's
 * own address and port, from its address with another port, and from an attacker; the server's
 * datagrams are replayed to the client the same way. None is accepted: no second session, no
 * endpoint change, no duplicate packet on either TUN, and the drops are counted.
 */
import assert from 'node:assert/strict'
import {after, before, test} from 'node:test'

import {
  CLIENT_PORT, CLIENT_REAL, PQC_PORT, RouterPair, SERVER_REAL, ipv4, makeServerKeys, outOfPlace, type ServerKeys,
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
const CAPTURED_PACKETS = 200
/** Sources the captured client datagrams are replayed from. */
const FROM: Array<[string, number]> = [[CLIENT_REAL, CLIENT_PORT], [CLIENT_REAL, CLIENT_PORT + 1], [ATTACKER, 5555]]

test('R-2/R-3: initiation and tunnel datagrams replayed at +1 s, +60 s, +200 s from 3 sources are all refused', async () => {
  const pair = await RouterPair.create(keys, {latencyS: 0.01})
  pairs.push(pair)
  const cap = {init: [] as Uint8Array[], c2s: [] as Uint8Array[], s2c: [] as Uint8Array[]}
  pair.tap = (d, info) => {
    if (info.kind === 'init') cap.init.push(Uint8Array.from(d.data))
    else if (info.kind === 'tunnel' || info.kind === 'keepalive') cap[info.dir].push(Uint8Array.from(d.data))
    return 'pass'
  }
  const internal = ipv4(pair.announce())
  assert.notEqual(await pair.advanceUntil(() => pair.client.peersByKey.get(keys.keyHashHex)?.lastConnectS !== undefined, 10), undefined)
  const sp = [...pair.server.peersByTid.values()][0]!
  const cp = pair.client.peersByKey.get(keys.keyHashHex)!
  pair.toServerApp.expect = {src: sp.poolAddr, dst: ipv4('10.42.0.1')}
  pair.toClientApp.expect = {src: internal, dst: ipv4('10.43.0.1')}
  pair.sendFromClientApp(internal, 0, CAPTURED_PACKETS)
  pair.sendFromServerApp(sp.poolAddr, 0, CAPTURED_PACKETS)
  await pair.advance(0.5)
  pair.tap = undefined
  assert.equal(cap.init.length, 1)
  // The data, plus the keepalives each side sent (the server's confirmation, at least).
  assert.ok(cap.c2s.length >= CAPTURED_PACKETS && cap.s2c.length >= CAPTURED_PACKETS + 1, `${cap.c2s.length} ${cap.s2c.length}`)
  const tid = sp.tidKey
  const captureAt = pair.clock.mono()
  let seq = CAPTURED_PACKETS // genuine traffic continues after the capture

  for (const delay of [1, 60, 200]) {
    // Keep the tunnel alive with fresh traffic both ways until the replay instant.
    while (pair.clock.mono() < captureAt + delay - 0.5) {
      pair.sendFromClientApp(internal, seq, 1)
      pair.sendFromServerApp(sp.poolAddr, seq, 1)
      seq++
      await pair.advance(Math.min(20, captureAt + delay - 0.5 - pair.clock.mono()))
    }
    await pair.advance(captureAt + delay - pair.clock.mono())
    const hs = {...pair.server.handshakes.counters}
    const sDrop = pair.server.counters.tunnelDropped
    const cDrop = pair.client.counters.tunnelDropped
    const sOut = pair.server.counters.tunOut
    const cOut = pair.client.counters.tunOut
    for (const [addr, port] of FROM) {
      for (const d of cap.init) pair.inject(addr, port, d, SERVER_REAL, PQC_PORT)
      for (const d of cap.c2s) pair.inject(addr, port, d, SERVER_REAL, PQC_PORT)
    }
    for (const [addr, port] of [[SERVER_REAL, PQC_PORT], [ATTACKER, PQC_PORT]] as const) {
      for (const d of cap.s2c) pair.inject(addr, port, d, CLIENT_REAL, CLIENT_PORT)
    }
    await pair.advance(2)
    const h = pair.server.handshakes.counters
    const what = `at +${delay} s`
    // Initiations: refused by the replay cache or, once their ephemeral keys are gone, by decapsulation.
    assert.equal(h.received - hs.received, FROM.length, what)
    assert.equal(h.succeeded, hs.succeeded, what)
    assert.equal((h.replays - hs.replays) + (h.failed - hs.failed), FROM.length, what)
    if (delay < 150) assert.equal(h.replays - hs.replays, FROM.length, `${what}: refused before decapsulation`)
    assert.equal(pair.server.peersByTid.size, 1, what)
    assert.equal(pair.server.peersByTid.get(tid), sp, what)
    // Tunnel datagrams: every one dropped, nothing written to either TUN, no roaming.
    assert.equal(pair.server.counters.tunnelDropped - sDrop, FROM.length * cap.c2s.length, what)
    assert.equal(pair.client.counters.tunnelDropped - cDrop, 2 * cap.s2c.length, what)
    assert.equal(pair.server.counters.tunOut, sOut, what)
    assert.equal(pair.client.counters.tunOut, cOut, what)
    assert.deepEqual([Buffer.from(sp.endpoint).join('.'), sp.port], [CLIENT_REAL, CLIENT_PORT], what)
    assert.equal(Buffer.from(cp.realAddr).join('.'), SERVER_REAL, what)
    assert.equal(pair.client.peersByTid.size, 1, what)
    console.log(`# ${what}: ${FROM.length} initiations (${h.replays - hs.replays} replay-cache, ${h.failed - hs.failed} failed), ` +
      `${FROM.length * cap.c2s.length} datagrams to the server and ${2 * cap.s2c.length} to the client dropped`)
  }
  // The genuine traffic all arrived, once each, in order; the tunnel is the first one.
  assert.deepEqual(outOfPlace(pair.toServerApp.seqs, 0, seq), [])
  assert.deepEqual(outOfPlace(pair.toClientApp.seqs, 0, seq), [])
  assert.deepEqual([pair.toServerApp.bad, pair.toClientApp.bad], [[], []])
  assert.equal(cp.handshakes, 1)
  assert.equal(pair.server.handshakes.counters.succeeded, 1)
})
