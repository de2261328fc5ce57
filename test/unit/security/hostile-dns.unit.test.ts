/**
 * An attacker's pq1 answers against the client router (security-tests.md M-2, M-3, A-3; reference
 * W10, W11): thousands of distinct pq1 names, each pointing at an address the attacker picks.
 * They must not take the internal address or the tunnel of a server in use, must not start more
 * than KEY_FETCH_MAX_CONCURRENT key downloads at once, and every download must end (no progress
 * for KEY_FETCH_STALL_S, or the deadline). Runs on the router pair's virtual clock.
 */
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {after, before, test} from 'node:test'

import {KEY_FETCH_MAX_CONCURRENT, KEY_FETCH_MAX_WAITING, KEY_FETCH_STALL_S, ROUTER_MAX_PEERS} from '../../../src/constants.js'
import {AddressPool} from '../../../src/dns/address-pool.js'
import {FetchSlots} from '../../../router/client/key-fetch.js'
import {KEY_PORT, PQC_PORT, RouterPair, connectedPair, ipv4, makeServerKeys, outOfPlace, type ServerKeys} from '../../helpers/router-pair.js'

let keys: ServerKeys
const pairs: RouterPair[] = []

before(async () => {
  keys = await makeServerKeys()
})

after(() => {
  for (const p of pairs) p.close()
})

const FLOOD_NAMES = ROUTER_MAX_PEERS + 1000

test(`${FLOOD_NAMES} attacker pq1 names: the server in use keeps its address and tunnel; downloads bounded and finite`, async () => {
  const {pair, internal, pool} = await connectedPair(keys)
  pairs.push(pair)
  const cp = pair.client.peersByKey.get(keys.keyHashHex)!
  const tid = cp.tidKey
  // Static-key requests to attacker addresses (nothing listens there: silent key servers).
  const victims = new Set<string>()
  let requests = 0
  pair.tap = (d, info) => {
    if (info.kind === 'static-req' && d.to.address.startsWith('100.')) {
      requests++
      victims.add(d.to.address)
    }
    return 'pass'
  }
  let seq = 0
  let maxActive = 0
  let refusedAnnouncements = 0
  for (let i = 0; i < FLOOD_NAMES; i++) {
    const addr = pair.client.announce({name: `evil${i}.test`, keyHashHex: randomBytes(32).toString('hex'),
      realAddrs: [`100.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`], pqcPort: PQC_PORT, keyPort: KEY_PORT})
    if (addr === undefined) refusedAnnouncements++
    else assert.notEqual(ipv4(addr), internal, `attacker name ${i} got the address of the server in use`)
    if (i % 100 === 0) {
      // The user keeps using the real server (its DNS answer cached: no new announcement).
      pair.sendFromClientApp(internal, seq, 1)
      pair.sendFromServerApp(pool, seq, 1)
      seq++
      await pair.advance(0.5)
    }
    maxActive = Math.max(maxActive, pair.client.fetchSlots.active)
  }
  // Every attacker download ends: waiting ones gave way, running ones stall out.
  const ended = await pair.advanceUntil(() => pair.client.fetchSlots.active === 0 && pair.client.fetchSlots.waiting === 0, 600)
  const s = pair.client.fetchSlots
  console.log(`# ${FLOOD_NAMES} names: ${refusedAnnouncements} refused, max ${s.maxActive} downloads at once, ${s.refused} gave way, ` +
    `${requests} key requests to ${victims.size} attacker addresses; all ended after ${ended?.toFixed(1)} s; peers held ${pair.client.peersByKey.size}`)
  assert.equal(pair.client.peersByKey.get(keys.keyHashHex), cp)
  assert.equal(cp.internalAddr, internal)
  assert.equal(cp.tidKey, tid)
  assert.equal(cp.handshakes, 1)
  assert.equal(pair.client.peersByAddr.get(internal), cp)
  assert.ok(pair.client.peersByKey.size <= ROUTER_MAX_PEERS)
  assert.ok(s.maxActive <= KEY_FETCH_MAX_CONCURRENT && maxActive <= KEY_FETCH_MAX_CONCURRENT, `max ${s.maxActive} downloads at once`)
  assert.ok(s.refused >= FLOOD_NAMES - KEY_FETCH_MAX_CONCURRENT - KEY_FETCH_MAX_WAITING - 100, `${s.refused} gave way`)
  assert.notEqual(ended, undefined, 'downloads still running after 600 s')
  // Each running download to a silent address ends after KEY_FETCH_STALL_S; first-contact pacing
  // keeps it to a handful of requests.
  assert.ok(requests <= 8 * (KEY_FETCH_MAX_CONCURRENT + KEY_FETCH_MAX_WAITING + 100), `${requests} requests`)
  // The real server's traffic flowed all along, in order, through the same tunnel.
  pair.sendFromClientApp(internal, seq, 1)
  pair.sendFromServerApp(pool, seq, 1)
  seq++
  await pair.advance(1)
  assert.deepEqual(outOfPlace(pair.toServerApp.seqs, 0, seq), [])
  assert.deepEqual(outOfPlace(pair.toClientApp.seqs, 0, seq), [])
  assert.equal(pair.server.handshakes.counters.succeeded, 1)
})

test('address pool: full of servers in use, a new name gets nothing (fail-open); an idle one is recycled, LRU first', () => {
  const p = new AddressPool('10.43.0.0/29', ['10.43.0.1'], 100) // 8 addresses: 5 usable
  const k = (i: number): string => i.toString(16).padStart(64, '0')
  const inUse = new Set([k(0), k(1), k(2), k(3), k(4)])
  const addrs = [0, 1, 2, 3, 4].map((i) => p.allocate(k(i), i, () => true))
  assert.equal(new Set(addrs).size, 5)
  assert.equal(p.allocate(k(9), 10, (x) => !inUse.has(x)), undefined)
  assert.equal(p.size, 5)
  inUse.delete(k(3))
  inUse.delete(k(1))
  // k(1) is the least recently used of the idle ones.
  assert.equal(p.allocate(k(9), 11, (x) => !inUse.has(x)), addrs[1])
  assert.equal(p.lookup(k(1)), undefined)
  assert.equal(p.lookup(k(3)), addrs[3])
  assert.deepEqual([0, 2, 4].map((i) => p.lookup(k(i))), [addrs[0], addrs[2], addrs[4]])
})

test('fetch slots: at most N at once, newest waiting served first, the oldest gives way beyond the bound', async () => {
  const s = new FetchSlots(2, 2)
  const order: string[] = []
  const r1 = await s.acquire()
  const r2 = await s.acquire()
  const w = ['a', 'b', 'c'].map((n) => s.acquire().then((rel) => {
    order.push(n)
    return rel
  }, (e: Error) => {
    order.push(`${n}: ${e.message}`)
    return undefined
  }))
  assert.equal(s.active, 2)
  assert.equal(s.waiting, 2)
  assert.equal(s.refused, 1)
  r1()
  r1() // releasing twice frees one slot only
  const c = await w[2]
  assert.equal(s.active, 2)
  r2()
  await w[1]
  c!()
  assert.equal(await w[0], undefined)
  assert.deepEqual(order, [`a: more than 2 key downloads waiting; the oldest gave way`, 'c', 'b'])
  assert.equal(s.maxActive, 2)
  assert.ok(KEY_FETCH_STALL_S <= 10)
})
