/**
 * Server address pool under genuine-handshake load (security-tests.md M-2: "unauthenticated and
 * oldest idle entries go first"): anyone can make real sessions (the server key is public), so
 * a client with an active tunnel must not lose its tunnel or its pool address to them. A real
 * ServerRouter with a /29 pool (5 client addresses) and a real ClientRouter on the virtual clock.
 * Before the fix the pool evicted the oldest *allocated* session: the client lost its tunnel.
 */
import assert from 'node:assert/strict'
import {after, before, test} from 'node:test'

import {mceliece6960119} from '../../../src/crypto/mceliece.js'
import {systemRng} from '../../../src/crypto/rng.js'
import {defaultHandshakeCrypto} from '../../../src/handshake/default-crypto.js'
import {createInitiation} from '../../../src/handshake/initiator.js'
import {ServerRouter} from '../../../router/server/server-router.js'
import {createTunChannelPair} from '../../../router/tun/channel.js'
import {packetAt} from '../../../router/tun/device.js'
import {PQC_PORT, RouterPair, SERVER_REAL, ipv4, makeServerKeys, type ServerKeys} from '../../helpers/router-pair.js'

let keys: ServerKeys
const pairs: RouterPair[] = []

before(async () => {
  keys = await makeServerKeys()
})

after(() => {
  for (const p of pairs) p.close()
})

const ATTACKER_SESSIONS = 12

test(`${ATTACKER_SESSIONS} genuine attacker sessions on a 5-address pool: the active client keeps its tunnel and address`, async () => {
  const pair = await RouterPair.create(keys, {latencyS: 0.01})
  pairs.push(pair)
  // Replace the server by one with a tiny pool (same socket address, key server and keys).
  pair.server.close()
  pair.serverSock = pair.bind(SERVER_REAL, PQC_PORT)
  pair.serverTun = createTunChannelPair({name: 'h4srv0', delivery: 'manual'})
  pair.serverTun.host.start((b) => {
    for (let i = 0; i < b.count; i++) pair.toServerApp.on(packetAt(b, i))
  })
  const c = defaultHandshakeCrypto(systemRng)
  const crypto = {...c, skem: pair.inflight.kem(c.skem), ekem: pair.inflight.kem(c.ekem)}
  pair.server = new ServerRouter({
    tun: pair.serverTun.device, sock: pair.serverSock, keyServer: pair.keyServer, crypto, poolCidr: '10.42.0.0/29',
    staticKeys: {mcelieceSecret: Buffer.from(keys.mcelieceSk), x25519Secret: Buffer.from(keys.x25519Sk)},
    clock: pair.clock, log: pair.logger('server'), timers: pair.clock,
  })
  pair.server.start()
  const internal = ipv4(pair.announce())
  assert.notEqual(await pair.advanceUntil(() => pair.client.peersByKey.get(keys.keyHashHex)?.lastConnectS !== undefined, 10), undefined)
  const legit = [...pair.server.peersByTid.values()][0]!
  let seq = 0
  for (let a = 0; a < ATTACKER_SESSIONS; a++) {
    // The client keeps using its tunnel; an attacker completes one real handshake per second.
    pair.sendFromClientApp(internal, seq++, 1)
    const eph = pair.keyServer.store.current(pair.clock.wall())!
    const init = await createInitiation(c, {prekey: await mceliece6960119.encapsulate(keys.mceliecePk), staticX25519: keys.x25519Pk,
      ephemeralSntrup: eph.sntrupPublic, ephemeralX25519: eph.x25519Public})
    pair.inject(`203.0.113.${a + 1}`, 4000 + a, init.message, SERVER_REAL, PQC_PORT)
    await pair.advance(1)
  }
  const h = pair.server.handshakes.counters
  console.log(`# ${h.succeeded} server sessions made, ${pair.server.peersByTid.size} held; the client's tunnel ` +
    `${pair.server.peersByTid.get(legit.tidKey) === legit ? 'kept' : 'LOST'}; delivered ${pair.toServerApp.seqs.length}/${seq}`)
  assert.equal(pair.server.peersByTid.get(legit.tidKey), legit, 'the active client lost its tunnel')
  assert.equal(pair.server.peersByAddr.get(legit.poolAddr), legit)
  assert.equal(pair.toServerApp.seqs.length, seq)
  assert.equal(h.succeeded, ATTACKER_SESSIONS + 1)
  assert.ok(pair.server.peersByTid.size <= 5, `${pair.server.peersByTid.size} sessions held on a 5-address pool`)
  // The attackers' sessions sent nothing after their handshake: idle at once, so they recycle
  // each other's addresses (none is refused while an idle one exists).
  assert.equal(pair.server.counters.sessionsRefused, 0)
  assert.equal(pair.client.peersByKey.get(keys.keyHashHex)!.handshakes, 1)
})
