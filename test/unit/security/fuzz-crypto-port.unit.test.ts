/**
 * Fuzz of the server's crypto port (security-tests.md S-1, S-3, S-4, M-1; issue 6): random and
 * mutated datagrams (initiations, tunnel datagrams of a live session, key messages on the wrong
 * port) into a real ServerRouter and its handshake pipeline, over the in-memory UDP double on a
 * frozen virtual clock. Gates: nothing throws, not one datagram is sent, no state is created, the
 * heap stays bounded, and the session set up before the fuzz still carries traffic after it.
 * Volume: PQC_FUZZ_DATAGRAMS (npm run test:fuzz: 10^6).
 */
import assert from 'node:assert/strict'
import {after, before, test} from 'node:test'

import {INITIATION_BYTES, TUNNEL_OVERHEAD_BYTES} from '../../../src/constants.js'
import {DatagramFuzzer, fuzzSeed, fuzzVolume, heapBound, rateLine} from '../../helpers/fuzz-datagrams.js'
import {fuzzPair, legitTraffic, pumpDatagrams, sources, type FuzzPair} from '../../helpers/fuzz-router.js'
import {CLIENT_PORT, CLIENT_REAL, PQC_PORT, SERVER_REAL, makeServerKeys} from '../../helpers/router-pair.js'

let fp: FuzzPair

/** The pipeline's admission counters (malformed, stale, returning), where the pipeline has them. */
const admission = (): Record<string, number> => ({...(fp.pair.server.handshakes as unknown as {admission?: Record<string, number>}).admission})

before(async () => {
  fp = await fuzzPair(await makeServerKeys())
})

after(() => fp.pair.close())

test('crypto port: random and mutated datagrams get no reply, create no state, and the tunnel survives', async () => {
  const {pair} = fp
  const server = pair.server
  const n = fuzzVolume()
  const s = fp.seeds
  const seeds = [...s.init, ...s.c2sTunnel, ...s.s2cTunnel, ...s.staticReq, ...s.staticResp, ...s.ephReq, ...s.ephResp]
  assert.ok(s.init.length >= 1 && s.c2sTunnel.length >= 2 && s.s2cTunnel.length >= 2, 'seeds captured')
  const lengths = [INITIATION_BYTES, TUNNEL_OVERHEAD_BYTES, ...s.c2sTunnel.map((d) => d.length)]
  const fuzz = new DatagramFuzzer(fuzzSeed(0x5eed_0424), seeds, lengths, 0.05)
  // The legitimate client's address from another port, and its very endpoint, spoofed.
  const srcs = sources([{address: CLIENT_REAL, port: CLIENT_PORT + 1}, {address: CLIENT_REAL, port: CLIENT_PORT}])
  const status0 = JSON.stringify(server.status())
  const clientStatus0 = JSON.stringify(pair.client.status())
  const hs0 = {...server.handshakes.counters}
  const adm0 = {...admission()}
  const counters0 = {...server.counters}
  const sock0 = pair.serverSock.counters()
  const logs0 = pair.logs.length
  const timers0 = pair.clock.pending
  const {escapes, ms, heap0, heap1} = await pumpDatagrams(fp, srcs, n, () => fuzz.next().data, SERVER_REAL, PQC_PORT)
  const hs = server.handshakes.counters
  const adm = admission()
  const d = (k: keyof typeof hs): number => hs[k] - hs0[k]
  const da = (k: string): number => (adm[k] ?? 0) - (adm0[k] ?? 0)
  const sock = pair.serverSock.counters()
  console.log(rateLine('crypto port', n, ms))
  console.log(`# kinds ${JSON.stringify(fuzz.made)}`)
  console.log(`# handshakes received ${d('received')}: malformed ${da('malformed')}, replays ${d('replays')}, rate-limited ${d('rateLimited')}, ` +
    `queue full ${d('queueFull')}, stale ${da('stale')}, failed ${d('failed')} (decapsulated); tunnel dropped ${server.counters.tunnelDropped - counters0.tunnelDropped}`)
  console.log(`# heap delta ${((heap1.bytes - heap0.bytes) / 1024).toFixed(0)} KiB (${heap1.exact ? 'after GC' : 'no --expose-gc'})`)

  assert.deepEqual(escapes, [], 'no unhandled rejection')
  assert.equal(sock.rxDatagrams - sock0.rxDatagrams, n, 'every datagram reached the router')
  // Silence: not one datagram from the crypto port (or anyone else) during the fuzz.
  assert.equal(fp.sentCount, 0, `sent: ${JSON.stringify(fp.sent)}`)
  assert.equal(sock.txDatagrams - sock0.txDatagrams, 0)
  // No state: the tunnel table, the handshake outcome and the session are exactly as before.
  assert.equal(JSON.stringify(server.status()), status0)
  assert.equal(JSON.stringify(pair.client.status()), clientStatus0)
  assert.equal(server.peersByTid.size, 1)
  assert.equal(server.peersByAddr.size, 1)
  assert.equal(hs.succeeded, hs0.succeeded)
  assert.equal(hs.duplicateTid, hs0.duplicateTid)
  assert.equal(server.counters.tunnelIn, counters0.tunnelIn, 'no fuzz datagram authenticated')
  assert.equal(server.counters.tunOut, counters0.tunOut, 'nothing written to the TUN')
  assert.equal(server.handshakes.inFlight, 0)
  // Every initiation-shaped datagram is dropped and counted under exactly one reason (S-1).
  assert.equal(d('received'), da('malformed') + da('stale') + d('replays') + d('rateLimited') + d('queueFull') + d('failed') + d('duplicateTid'))
  assert.ok(d('failed') > 0, 'initiation-shaped input reached the decapsulation')
  assert.equal(server.handshakes.queued, 0)
  assert.equal(pair.clock.pending, timers0, 'no timer created')
  // No log line per datagram (L-2).
  assert.equal(pair.logs.length, logs0, pair.logs.slice(logs0, logs0 + 5).join('\n'))
  assert.ok(heap1.bytes - heap0.bytes < heapBound(heap1.exact), `heap grew ${heap1.bytes - heap0.bytes} bytes`)
  // The session set up before the fuzz still carries traffic both ways.
  const legit = await legitTraffic(fp, 1000, 50)
  assert.deepEqual(legit, {toServer: 50, toClient: 50, bad: []})
})
