/**
 * Fuzz of the server's key port (security-tests.md S-1, S-3, S-4, A-1, M-1; issue 6): random and
 * mutated datagrams (static and ephemeral key requests, their responses, initiations and tunnel
 * datagrams on the wrong port) into a real KeyServer over the in-memory UDP double on a frozen
 * virtual clock. Each datagram of a round comes from its own source port, so every reply is
 * matched to its request. Gates: nothing throws; at most one reply per request, never longer
 * than the request (amplification <= 1.0); a reply only to an exact, canonical request; no state
 * created; bounded heap; the key server and the tunnel still serve the legitimate client after.
 * Volume: PQC_FUZZ_DATAGRAMS (npm run test:fuzz: 10^6).
 */
import assert from 'node:assert/strict'
import {after, before, test} from 'node:test'

import {INITIATION_BYTES, TUNNEL_OVERHEAD_BYTES} from '../../../src/constants.js'
import {encodeEphemeralRequest, encodeStaticRequest} from '../../../src/wire/keyserver.js'
import {DatagramFuzzer, fuzzSeed, fuzzVolume, heapBound, heapUsed, rateLine} from '../../helpers/fuzz-datagrams.js'
import {FUZZ_ROUND_DATAGRAMS, fuzzPair, legitTraffic, yieldReal, type FuzzPair} from '../../helpers/fuzz-router.js'
import {KEY_PORT, SERVER_REAL, makeServerKeys} from '../../helpers/router-pair.js'

const ATTACKER = '203.0.113.99'
const FIRST_PORT = 30000
const EPHEMERAL_REQUEST = encodeEphemeralRequest()

let fp: FuzzPair

before(async () => {
  fp = await fuzzPair(await makeServerKeys())
})

after(() => fp.pair.close())

/** Is `d` exactly a request the key server must answer (independent of the server's decoder)? */
function canonical(d: Uint8Array): boolean {
  if (d.length < 11 || d[1] !== 0x00) return false
  if (d[0] === 0xf2) return Buffer.from(d).equals(EPHEMERAL_REQUEST)
  if (d[0] !== 0xf0) return false
  let expected: Buffer
  try {
    // f0 00 | 00 01 | depth | 00 02 | LE16 pos | BE16 L | L zero bytes (pq1-protocol.md 5.3)
    expected = encodeStaticRequest(d[4]!, d[7]! | (d[8]! << 8))
  } catch {
    return false // no such node
  }
  return expected.equals(d)
}

test('key port: replies only to canonical requests, never longer than the request, no state, still serving', async () => {
  const {pair} = fp
  const ks = pair.keyServer
  const n = fuzzVolume()
  const s = fp.seeds
  const seeds = [...s.staticReq, ...s.ephReq, ...s.staticResp, ...s.ephResp, ...s.init, ...s.c2sTunnel]
  assert.ok(s.staticReq.length >= 4 && s.staticResp.length >= 2, 'seeds captured')
  const lengths = [...new Set([...s.staticReq, ...s.ephReq, ...s.staticResp].map((d) => d.length)), INITIATION_BYTES, TUNNEL_OVERHEAD_BYTES]
  // Unmodified requests are a tenth of the seeds' share: the answered path runs too.
  const fuzz = new DatagramFuzzer(fuzzSeed(0x5eed_0425), seeds, lengths, 0.1)
  const replies = new Array<number>(FUZZ_ROUND_DATAGRAMS).fill(0)
  const replyBytes = new Array<number>(FUZZ_ROUND_DATAGRAMS).fill(0)
  let stray = 0
  pair.tap = (d) => {
    const i = d.to.port - FIRST_PORT
    if (d.from.port !== KEY_PORT || d.to.address !== ATTACKER || i < 0 || i >= FUZZ_ROUND_DATAGRAMS) stray++
    else {
      replies[i]!++
      replyBytes[i] = d.data.length
    }
    return 'pass'
  }
  // One started (discarding) socket per source port: replies are counted by the tap, and none
  // piles up in a queue that would count against the key server's heap.
  for (let j = 0; j < FUZZ_ROUND_DATAGRAMS; j++) pair.bind(ATTACKER, FIRST_PORT + j).start(() => undefined)
  // Replies go straight to them (the pair's latency would park each reply in a virtual timer).
  const latency = pair.latencyS
  pair.latencyS = 0
  const round: Uint8Array[] = []
  const stats = {answered: 0, canonical: 0, bytesIn: 0, bytesOut: 0, worstRatio: 0}
  const store0 = [ks.store.size, ks.store.missing(pair.clock.wall()).length]
  const counters0 = {...ks.counters}
  const sock0 = pair.keySock.counters()
  const serverStatus0 = JSON.stringify(pair.server.status())
  const logs0 = pair.logs.length
  const timers0 = pair.clock.pending
  const escapes: unknown[] = []
  const onRejection = (e: unknown): void => void escapes.push(e)
  process.on('unhandledRejection', onRejection)
  const heap0 = heapUsed()
  const t0 = performance.now()
  try {
    for (let i = 0; i < n; i++) {
      const d = fuzz.next().data
      round.push(d)
      pair.inject(ATTACKER, FIRST_PORT + round.length - 1, d, SERVER_REAL, KEY_PORT)
      if (round.length < FUZZ_ROUND_DATAGRAMS && i < n - 1) continue
      pair.flush() // an exception in the key server surfaces here and fails the test
      for (let j = 0; j < round.length; j++) {
        const req = round[j]!
        const ok = canonical(req)
        stats.bytesIn += req.length
        if (ok) stats.canonical++
        if (replies[j] === 0) {
          assert.ok(!ok, `no reply to a canonical request of ${req.length} bytes (type ${req[0]})`)
          continue
        }
        assert.equal(replies[j], 1, 'one reply per request')
        assert.ok(ok, `reply to a non-canonical request: ${Buffer.from(req.subarray(0, 16)).toString('hex')}... (${req.length} bytes)`)
        assert.ok(replyBytes[j]! <= req.length, `amplification: ${replyBytes[j]} bytes out for ${req.length} in`)
        stats.answered++
        stats.bytesOut += replyBytes[j]!
        stats.worstRatio = Math.max(stats.worstRatio, replyBytes[j]! / req.length)
      }
      assert.equal(stray, 0, 'no datagram to anyone else')
      replies.fill(0)
      round.length = 0
      await yieldReal()
    }
    await pair.settle()
  } finally {
    process.off('unhandledRejection', onRejection)
    pair.tap = undefined
    pair.latencyS = latency
  }
  const ms = performance.now() - t0
  const heap1 = heapUsed()
  const c = ks.counters
  const sock = pair.keySock.counters()
  console.log(rateLine('key port', n, ms))
  console.log(`# kinds ${JSON.stringify(fuzz.made)}`)
  console.log(`# answered ${stats.answered} (canonical ${stats.canonical}), dropped ${c.dropped - counters0.dropped}; ` +
    `bytes in ${stats.bytesIn}, out ${stats.bytesOut} (ratio ${(stats.bytesOut / stats.bytesIn).toFixed(3)}, worst single ${stats.worstRatio.toFixed(3)})`)
  console.log(`# heap delta ${((heap1.bytes - heap0.bytes) / 1024).toFixed(0)} KiB (${heap1.exact ? 'after GC' : 'no --expose-gc'})`)

  assert.deepEqual(escapes, [], 'no unhandled rejection')
  assert.equal(sock.rxDatagrams - sock0.rxDatagrams, n, 'every datagram reached the key server')
  assert.equal(sock.txDatagrams - sock0.txDatagrams, stats.answered)
  assert.equal(stats.answered, stats.canonical, 'every canonical request answered, nothing else')
  assert.ok(stats.answered > 0 && stats.answered < n, 'both paths ran')
  assert.ok(stats.worstRatio <= 1 && stats.bytesOut <= stats.bytesIn)
  // The key server's own accounting agrees.
  assert.equal(c.bytesIn - counters0.bytesIn, stats.bytesIn)
  assert.equal(c.bytesOut - counters0.bytesOut, stats.bytesOut)
  assert.equal(c.dropped - counters0.dropped, n - stats.answered)
  // No state: the ephemeral store is as full as before, the tunnels untouched, no log per datagram.
  assert.deepEqual([ks.store.size, ks.store.missing(pair.clock.wall()).length], store0)
  assert.equal(JSON.stringify(pair.server.status()), serverStatus0)
  assert.equal(pair.clock.pending, timers0, 'no timer created')
  assert.equal(pair.logs.length, logs0, pair.logs.slice(logs0, logs0 + 5).join('\n'))
  assert.ok(heap1.bytes - heap0.bytes < heapBound(heap1.exact), `heap grew ${heap1.bytes - heap0.bytes} bytes`)
  // Still serving: the session carries traffic, and a fresh client gets its key material.
  const legit = await legitTraffic(fp, 1000, 50)
  assert.deepEqual(legit, {toServer: 50, toClient: 50, bad: []})
})

test('key port regression (reference W1): a 2-byte f2 00 and a 2-byte f0 00 get no reply', async () => {
  const {pair} = fp
  let sent = 0
  pair.tap = () => {
    sent++
    return 'pass'
  }
  try {
    for (const d of [[0xf2, 0x00], [0xf0, 0x00], [0xf2], [], EPHEMERAL_REQUEST.subarray(0, EPHEMERAL_REQUEST.length - 1)]) {
      pair.inject(ATTACKER, FIRST_PORT, Uint8Array.from(d), SERVER_REAL, KEY_PORT)
    }
    await pair.settle()
    assert.equal(sent, 0)
    pair.inject(ATTACKER, FIRST_PORT, EPHEMERAL_REQUEST, SERVER_REAL, KEY_PORT)
    await pair.settle()
    assert.equal(sent, 1, 'the full request is answered (the test can fail)')
  } finally {
    pair.tap = undefined
  }
})
