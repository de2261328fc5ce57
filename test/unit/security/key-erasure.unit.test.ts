/**
 * Key erasure across the full routers (security-tests.md E-1, E-4; pq1-protocol.md 7.6): a real
 * ClientRouter and ServerRouter on the virtual clock for over an hour of traffic, with epoch
 * ratchets every 30 s and new handshakes after network outages. Every SCAN_EVERY_S virtual
 * seconds the test walks every session both routers hold (by key, by tid, by address) and the
 * key server's ephemeral secrets: no packet or chain key is older than MAX_KEY_AGE_S, no ephemeral
 * secret outlives its retention, and every key buffer a router let go of is all zero.
 */
import assert from 'node:assert/strict'
import {after, before, test} from 'node:test'

import {EPOCH_DURATION_S, EPOCH_TIMEOUT_S} from '../../../src/constants.js'
import {EPHEMERAL_RETAIN_S} from '../../../src/keyserver/ephemeral-store.js'
import type {TunnelSession} from '../../../src/session/tunnel-session.js'
import {RouterPair, ipv4, makeServerKeys, type ServerKeys} from '../../helpers/router-pair.js'

let keys: ServerKeys
const pairs: RouterPair[] = []

before(async () => {
  keys = await makeServerKeys()
})

after(() => {
  for (const p of pairs) p.close()
})

const MAX_KEY_AGE_S = EPOCH_TIMEOUT_S + EPOCH_DURATION_S
const SCAN_EVERY_S = 5
const RUN_S = 3900
/** Every OUTAGE_EVERY_S the network drops everything for OUTAGE_S: both tunnels die, then rekey. */
const OUTAGE_EVERY_S = 600
const OUTAGE_S = 150

const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0)

class Ledger {
  readonly firstSeen = new Map<Uint8Array, number>()
  maxAge = 0
  readonly violations: string[] = []
  dropped = 0

  /** Record what is held now; buffers no longer held must have been wiped. */
  scan(now: number, held: Array<{bytes: Uint8Array; what: string}>, bound: number): void {
    const current = new Set<Uint8Array>()
    for (const {bytes, what} of held) {
      current.add(bytes)
      if (!this.firstSeen.has(bytes)) this.firstSeen.set(bytes, now)
      const age = now - this.firstSeen.get(bytes)!
      this.maxAge = Math.max(this.maxAge, age)
      if (age > bound && this.violations.length < 20) this.violations.push(`${what} held ${age.toFixed(1)} s at t=${now.toFixed(1)}`)
    }
    for (const b of [...this.firstSeen.keys()]) {
      if (current.has(b)) continue
      if (!isZero(b) && this.violations.length < 20) this.violations.push(`a key buffer was dropped unwiped at t=${now.toFixed(1)}`)
      this.firstSeen.delete(b)
      this.dropped++
    }
  }
}

function sessionsOf(pair: RouterPair): Array<{side: string; s: TunnelSession}> {
  const out = new Set<TunnelSession>()
  const tagged: Array<{side: string; s: TunnelSession}> = []
  const add = (side: string, s: TunnelSession | undefined): void => {
    if (s === undefined || out.has(s)) return
    out.add(s)
    tagged.push({side, s})
  }
  for (const p of pair.client.peersByKey.values()) add('client', p.session)
  for (const p of pair.client.peersByTid.values()) add('client', p.session)
  for (const p of pair.client.peersByAddr.values()) add('client', p.session)
  for (const p of pair.server.peersByTid.values()) add('server', p.session)
  for (const p of pair.server.peersByAddr.values()) add('server', p.session)
  return tagged
}

test('the ledger can fail: an unwiped dropped buffer and an over-age key are both reported', () => {
  const l = new Ledger()
  l.scan(0, [{bytes: Buffer.from([1, 2]), what: 'k1'}, {bytes: Buffer.from([3]), what: 'k2'}], 10)
  const [, k2] = [...l.firstSeen.keys()]
  l.scan(11, [{bytes: k2!, what: 'k2'}], 10)
  assert.equal(l.violations.length, 2, l.violations.join('; '))
  assert.match(l.violations[0]!, /k2 held 11\.0 s/)
  assert.match(l.violations[1]!, /dropped unwiped/)
})

test(`${RUN_S} virtual seconds of traffic with rekeys: no packet key held over ${MAX_KEY_AGE_S} s, every dropped key zeroed (E-1)`, async () => {
  const pair = await RouterPair.create(keys, {latencyS: 0.01})
  pairs.push(pair)
  const internal = ipv4(pair.announce())
  const tunnelKeys = new Ledger()
  const ephemeral = new Ledger()
  let scans = 0
  let maxSessions = 0
  let outage = false
  pair.tap = () => (outage ? 'drop' : 'pass')
  const scan = (): void => {
    const now = pair.clock.mono()
    const sessions = sessionsOf(pair)
    maxSessions = Math.max(maxSessions, sessions.length)
    const held = sessions.flatMap(({side, s}) => [...s.secrets()].map((x) => ({bytes: x.bytes, what: `${side} ${x.direction} ${x.kind} epoch ${x.epoch}`})))
    tunnelKeys.scan(now, held, MAX_KEY_AGE_S)
    const eph = pair.keyServer.store.candidates(pair.clock.wall()).flatMap((k) => [
      {bytes: k.x25519Secret, what: 'ephemeral x25519 secret'}, {bytes: k.sntrupSecret, what: 'ephemeral sntrup761 secret'}])
    ephemeral.scan(now, eph, EPHEMERAL_RETAIN_S + 1)
    scans++
  }
  const scanner = pair.clock.setInterval(scan, SCAN_EVERY_S * 1000)
  let seq = 0
  let serverSeq = 0
  const start = pair.clock.mono()
  for (let t = 0; t < RUN_S; t += 1) {
    outage = t % OUTAGE_EVERY_S >= OUTAGE_EVERY_S - OUTAGE_S
    const phase = Math.floor(t / 120) % 3 // busy, light, idle (keepalives only)
    if (!outage && phase !== 2 && (phase === 0 || t % 10 === 0)) {
      pair.sendFromClientApp(internal, seq, 2)
      seq += 2
      const sp = [...pair.server.peersByAddr.values()][0]
      if (sp !== undefined) pair.sendFromServerApp(sp.poolAddr, serverSeq++, 1)
    }
    await pair.advance(start + t + 1 - pair.clock.mono())
  }
  pair.clock.clearInterval(scanner)
  const handshakes = pair.server.handshakes.counters.succeeded
  console.log(`# ${scans} scans over ${RUN_S} s: ${handshakes} handshakes, max ${maxSessions} sessions held, ` +
    `tunnel keys: max age ${tunnelKeys.maxAge.toFixed(1)} s, ${tunnelKeys.dropped} dropped (all zero); ` +
    `ephemeral secrets: max age ${ephemeral.maxAge.toFixed(1)} s, ${ephemeral.dropped} dropped; delivered ${pair.toServerApp.seqs.length}/${pair.toClientApp.seqs.length}`)
  assert.deepEqual(tunnelKeys.violations, [])
  assert.deepEqual(ephemeral.violations, [])
  assert.ok(scans >= RUN_S / SCAN_EVERY_S - 1, `${scans} scans`)
  // Rekeys happened: a new handshake after each of the outages, epochs rolled (keys came and went).
  assert.ok(handshakes >= Math.floor(RUN_S / OUTAGE_EVERY_S), `${handshakes} handshakes`)
  assert.ok(tunnelKeys.dropped > 1000, `${tunnelKeys.dropped} keys dropped`)
  assert.ok(tunnelKeys.maxAge > 60 && tunnelKeys.maxAge <= MAX_KEY_AGE_S, `max age ${tunnelKeys.maxAge}`)
  assert.ok(ephemeral.dropped > 100, `${ephemeral.dropped} ephemeral secrets dropped`)
  assert.ok(pair.toServerApp.seqs.length > 1000 && pair.toClientApp.seqs.length > 500, 'traffic flowed')
  assert.deepEqual([pair.toServerApp.bad, pair.toClientApp.bad], [[], []])
})
