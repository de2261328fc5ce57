/**
 * TUN offload on real devices (root; skipped otherwise): two namespaces, each with an offload TUN
 * opened through LinuxTun, joined only by a JS relay (read batch on one device, writeBatch on the
 * other). A TCP transfer both ways arrives byte for byte; the reader split the kernel's TCP
 * super-packets, the writer merged segments into GSO writes, and ping works through the relay.
 * A TSO super-packet injected into a third offload TUN (AF_PACKET with PACKET_VNET_HDR) comes out
 * as exact, valid segments, all within one event-loop turn although they span three read batches.
 * The I/O runs in a child in namespace A (tun-offload-netns-child.ts); asserts are here.
 */
import assert from 'node:assert/strict'
import {after, before, test} from 'node:test'

import {NetnsLab, lastJson, siblingScript, waitForExit} from '../helpers/netns.js'
import {ACK, CWR, FIN, PSH, ipChecksumOk, l4ChecksumOk, u16, u32} from '../helpers/tcp4-packets.js'
import {unhex} from '../helpers/hex.js'

interface Side {
  rxPackets: number
  rxErrors: number
  txPackets: number
  txFailed: number
  rxSuperPackets: number
  rxSegments: number
  txMergedWrites: number
  txMergedPackets: number
}
interface Probe {
  segments: string[]
  turns: number[]
  superPackets: number
}
interface Report {
  probe: Probe
  probeStopped: Probe
  modes: {a: boolean; b: boolean; plain: boolean; kernelA: boolean; kernelPlain: boolean; handed: boolean[]}
  ping: boolean
  sentOk: boolean
  receivedOk: boolean
  received: number
  relay: {ab: {packets: number; dropped: number}; ba: {packets: number; dropped: number}}
  a: Side
  b: Side
}

const SIZE = 4 * 1024 * 1024
const root = process.getuid?.() === 0
let lab: NetnsLab | undefined
let report: Report

before(async () => {
  if (!root) return
  lab = new NetnsLab()
  const nsA = lab.addNamespace('offa')
  const nsB = lab.addNamespace('offb')
  const result = await waitForExit(lab.nodeIn(nsA, siblingScript(import.meta.url, 'tun-offload-netns-child'),
    [nsB, '5201', String(SIZE)]), 120_000)
  assert.equal(result.code, 0, `child failed:\n${result.stderr}\n${result.stdout}`)
  report = lastJson<Report>(result.stdout)
  console.log(`offload relay: A->B ${report.relay.ab.packets} packets (${report.a.rxSuperPackets} super-packets ` +
    `-> ${report.a.rxSegments} segments), B->A ${report.relay.ba.packets}; merged writes into B ` +
    `${report.b.txMergedWrites} (${report.b.txMergedPackets} packets), into A ${report.a.txMergedWrites} ` +
    `(${report.a.txMergedPackets} packets)`)
})

after(() => lab?.cleanup())

test('offload is on by default, off on request; a worker adopting the monitor\'s fd finds the mode', {skip: !root && 'needs root'}, () => {
  assert.deepEqual(report.modes, {a: true, b: true, plain: false, kernelA: true, kernelPlain: false, handed: [true, false]})
})

/** The 11 segments of the probe's super-packet: exact, valid, the payload whole. */
function checkProbe(p: Probe): void {
  assert.equal(p.superPackets, 1)
  assert.equal(p.segments.length, 11, `turns ${p.turns}`)
  const payload: number[] = []
  p.segments.map(unhex).forEach((s, i) => {
    const last = i === 10
    assert.equal(u16(s, 2), s.length)
    assert.equal(u16(s, 4), (0xfffe + i) & 0xffff)
    assert.ok(ipChecksumOk(s) && l4ChecksumOk(s), `checksums of segment ${i}`)
    assert.equal(u32(s, 24), (0xffffff00 + i * 1000) >>> 0)
    assert.equal(s[33], ACK | (i === 0 ? CWR : 0) | (last ? PSH | FIN : 0))
    assert.equal(s.length, 52 + (last ? 337 : 1000))
    payload.push(...s.subarray(52))
  })
  assert.deepEqual(payload, Array.from({length: 10337}, (_, i) => (i * 7) & 0xff))
}

test('an injected super-packet comes out as exact valid segments, all in one loop turn across batches', {skip: !root && 'needs root'}, () => {
  checkProbe(report.probe)
  const {turns} = report.probe
  assert.ok(turns.every((t) => t === turns[0]), `the rest of the super-packet waited for a later turn: ${turns}`)
})

test('stopped after its first batch and started again, the reader still delivers the rest', {skip: !root && 'needs root'}, () => {
  checkProbe(report.probeStopped)
})

test('ping goes through the relay', {skip: !root && 'needs root'}, () => {
  assert.equal(report.ping, true)
})

test('a TCP transfer both ways arrives byte for byte', {skip: !root && 'needs root'}, () => {
  assert.equal(report.sentOk, true, 'A -> B: the server saw the exact bytes')
  assert.equal(report.received, SIZE)
  assert.equal(report.receivedOk, true, 'B -> A: the exact bytes')
})

test('the readers split super-packets and the writers merged segments, without errors', {skip: !root && 'needs root'}, () => {
  for (const side of [report.a, report.b]) {
    assert.ok(side.rxSuperPackets > 0, JSON.stringify(side))
    assert.ok(side.rxSegments > side.rxSuperPackets, 'more packets delivered than read(2) calls returned')
    assert.ok(side.txMergedWrites > 0, JSON.stringify(side))
    assert.ok(side.txMergedPackets >= 2 * side.txMergedWrites)
    assert.equal(side.rxErrors, 0)
    assert.equal(side.txFailed, 0)
  }
})
