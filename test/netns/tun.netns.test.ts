/**
 * Real TUN through the native addon, as root in a namespace of our own: link setup through
 * router/net/link.ts (address, MTU 1280, up), UDP from a kernel socket read out of the TUN as
 * IPv4 packets, ICMP echo requests written into the TUN answered by the kernel, the device gone
 * after close. The I/O runs in a child inside the namespace (tun-netns-child.ts); asserts are here.
 */
import assert from 'node:assert/strict'
import {after, before, test} from 'node:test'

import {hex, unhex} from '../helpers/hex.js'
import {LAB_IF_PREFIX, NetnsLab, lastJson, siblingScript, waitForExit} from '../helpers/netns.js'
import {icmpEchoRequest, internetChecksum, parseIpv4, udpChecksumOk} from './tun-packets.js'

interface Report {
  name: string
  link: {mtu: number; up: boolean; addresses: string[]}
  udpPackets: string[]
  icmpReplies: string[]
  wroteSingle: boolean
  wroteBatch: number
  reads: {packets: number; perSecond: number}
  writes: {written: number; received: number; perSecond: number}
  writesDropped: {written: number; perSecond: number}
  counters: {rxErrors: number; txFailed: number}
  stillThere: boolean
}

let lab: NetnsLab
let report: Report
let api: Record<string, unknown>
let apiExitMs: number

before(async () => {
  lab = new NetnsLab()
  const ns = lab.addNamespace('tun')
  const result = await waitForExit(lab.nodeIn(ns, siblingScript(import.meta.url, 'tun-netns-child')))
  assert.equal(result.code, 0, `child failed:\n${result.stderr}\n${result.stdout}`)
  report = lastJson<Report>(result.stdout)
  const apiRun = await waitForExit(lab.nodeIn(ns, siblingScript(import.meta.url, 'tun-api-netns-child')))
  assert.equal(apiRun.code, 0, `api child failed:\n${apiRun.stderr}\n${apiRun.stdout}`)
  api = lastJson<Record<string, unknown>>(apiRun.stdout)
  apiExitMs = Date.now() - (api.exitingAt as number)
  console.log(`TUN batched reads: ${report.reads.perSecond} packets/s (${report.reads.packets} packets of 1400 B); ` +
    `writes delivered to a local socket: ${report.writes.perSecond} packets/s; ` +
    `writes dropped by the stack: ${report.writesDropped.perSecond} packets/s`)
})

after(() => lab.cleanup())

test('the link is configured: 10.99.0.1/24, MTU 1280, up', () => {
  assert.equal(report.name, `${LAB_IF_PREFIX}test0`)
  assert.ok(report.link.addresses.includes('10.99.0.1/24'), JSON.stringify(report.link))
  assert.equal(report.link.mtu, 1280)
  assert.equal(report.link.up, true)
})

test('UDP datagrams sent to 10.99.0.2 come out of the TUN as IPv4 packets, in order', () => {
  assert.equal(report.udpPackets.length, 5)
  report.udpPackets.forEach((h, i) => {
    const p = unhex(h)
    const ip = parseIpv4(p)
    assert.equal(ip.version, 4)
    assert.equal(ip.protocol, 17)
    assert.equal(ip.src, '10.99.0.1')
    assert.equal(ip.dst, '10.99.0.2')
    assert.equal(ip.totalLength, p.length)
    assert.ok(ip.headerChecksumOk)
    assert.ok(udpChecksumOk(p))
    assert.equal((ip.payload[2]! << 8) | ip.payload[3]!, 5555)
    assert.equal(Buffer.from(ip.payload.subarray(8)).toString(), `pqc-tun-test-${i}`)
  })
})

test('ICMP echo requests written into the TUN (single and batch) get kernel echo replies', () => {
  assert.equal(report.wroteSingle, true)
  assert.equal(report.wroteBatch, 3)
  assert.equal(report.icmpReplies.length, 4)
  const seqs = report.icmpReplies.map((h) => {
    const p = unhex(h)
    const ip = parseIpv4(p)
    assert.equal(ip.version, 4)
    assert.equal(ip.protocol, 1)
    assert.equal(ip.src, '10.99.0.1')
    assert.equal(ip.dst, '10.99.0.2')
    assert.ok(ip.headerChecksumOk)
    const icmp = ip.payload
    assert.equal(icmp[0], 0, 'echo reply')
    assert.equal(internetChecksum(icmp), 0, 'ICMP checksum')
    const seq = (icmp[6]! << 8) | icmp[7]!
    // The reply carries the request's identifier and data.
    const request = parseIpv4(icmpEchoRequest([10, 99, 0, 2], [10, 99, 0, 1], 0x5051, seq,
      Buffer.from(`pqc-echo-${seq}-`.padEnd(48, 'x')))).payload
    assert.equal(hex(icmp.subarray(4)), hex(request.subarray(4)))
    return seq
  })
  assert.deepEqual(seqs.sort(), [1, 2, 3, 4])
})

test('batched reads and writes move packets without errors; the device is gone after close', () => {
  assert.ok(report.reads.packets >= 12 * 8192 * 0.99, `read ${report.reads.packets}`)
  assert.equal(report.writes.received, report.writes.written)
  assert.ok(report.writes.written > 0 && report.writesDropped.written > 0)
  assert.equal(report.counters.rxErrors, 0)
  assert.equal(report.counters.txFailed, 0)
  assert.equal(report.stillThere, false)
})

test('setup errors throw with errno names or argument codes', () => {
  assert.equal(api.longName, 'ERR_INVALID_ARG_VALUE')
  assert.equal(api.badFd, 'EBADF')
  assert.equal(api.badFamily, 'ERR_INVALID_ARG_VALUE')
  assert.equal(api.badAddress, 'ERR_INVALID_ARG_VALUE')
  assert.equal(api.inUse, 'EADDRINUSE')
  assert.equal(api.secondReader, 'EEXIST')
  assert.equal(api.outOfRange, 'ERR_OUT_OF_RANGE')
})

test('a reader closed in its callback stops; a throwing callback is an uncaught exception', () => {
  assert.equal(api.callsBeforeClose, 1)
  assert.equal(api.caught, 'thrown in onBatch')
})

test('multi-queue TUN opens two queues of one device, and closing lets the process exit at once', () => {
  assert.deepEqual(api.multiQueue, [`${LAB_IF_PREFIX}mq0`, `${LAB_IF_PREFIX}mq0`])
  assert.ok(apiExitMs < 5000, `exit took ${apiExitMs} ms after close`)
})
