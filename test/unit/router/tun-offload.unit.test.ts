/**
 * The TUN offload packet logic of the addon (router/native/offload.c) through its test hooks,
 * without a device: TCP/IPv4 super-packets (as the kernel hands them to an IFF_VNET_HDR TUN) split
 * into segments that an independent checksum implementation (test/helpers/tcp4-packets.ts) accepts, partial checksums
 * finished, same-flow segments merged into one GSO write that splits back into the originals byte
 * for byte, and everything malformed or not mergeable refused without a crash.
 */
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {test} from 'node:test'

import fc from 'fast-check'

import {loadAddon} from '../../../router/native/addon.js'
import {
  ACK, CWR, FIN, GSO_TCPV4, PSH, TS_OPTIONS, VNET_NEEDS_CSUM, cat, ihlOf, ipChecksumOk, l4ChecksumOk, pseudo, put16, put32,
  sum16, superPacket, tcp4, u16, u32, vnet,
} from '../../helpers/tcp4-packets.js'
import type {Tcp4} from '../../helpers/tcp4-packets.js'

const addon = loadAddon()

test('a TCP/IPv4 super-packet splits into valid segments: lengths, ids, seq, flags, options, checksums', () => {
  for (const ipOptions of [[], [1, 1, 1, 0]]) {
    const payload = randomBytes(10 * 1000 + 337)
    const segs = addon.tunSegmentForTest(superPacket(payload, 1000, ACK | PSH | FIN | CWR, ipOptions), 1500)
    const ihl = 20 + ipOptions.length
    assert.equal(segs.length, 11)
    segs.forEach((s, i) => {
      const last = i === segs.length - 1
      const plen = last ? 337 : 1000
      assert.equal(s.length, ihl + 32 + plen)
      assert.equal(ihlOf(s), ihl)
      assert.equal(u16(s, 2), s.length, 'IP total length')
      assert.equal(u16(s, 4), (0xfffe + i) & 0xffff, 'IP id (wraps)')
      assert.ok(ipChecksumOk(s), `IP checksum of segment ${i}`)
      assert.ok(l4ChecksumOk(s), `TCP checksum of segment ${i}`)
      assert.equal(u32(s, ihl + 4), (0xffffff00 + i * 1000) >>> 0, 'seq (wraps)')
      assert.equal(u32(s, ihl + 8), 0x01020304, 'ack')
      const f = s[ihl + 13]!
      assert.equal(f & ACK, ACK)
      assert.equal(f & CWR, i === 0 ? CWR : 0, 'CWR only on the first')
      assert.equal(f & (FIN | PSH), last ? FIN | PSH : 0, 'FIN and PSH only on the last')
      assert.deepEqual([...s.subarray(ihl + 20, ihl + 32)], TS_OPTIONS)
      assert.deepEqual(s.subarray(ihl + 32), payload.subarray(i * 1000, i * 1000 + plen))
    })
  }
})

test('a packet with a partial checksum (gso NONE, NEEDS_CSUM) is completed; without flags it is copied', () => {
  const tcp = tcp4({id: 7, seq: 99, flags: ACK | PSH, payload: randomBytes(301)}, true)
  assert.ok(!l4ChecksumOk(tcp))
  const [done] = addon.tunSegmentForTest(cat(vnet({flags: VNET_NEEDS_CSUM, gsoType: 0, hdrLen: 40, gsoSize: 0,
    csumStart: 20, csumOffset: 16}), tcp))
  assert.ok(done !== undefined && l4ChecksumOk(done))
  assert.deepEqual(done.subarray(0, 36), Buffer.from(tcp.subarray(0, 36)))
  assert.deepEqual(done.subarray(38), Buffer.from(tcp.subarray(38)))
  // UDP: the field at csum_start + 6.
  const udp = new Uint8Array(20 + 8 + 33)
  udp.set(tcp.subarray(0, 20))
  udp[9] = 17
  put16(udp, 2, udp.length)
  put16(udp, 10, 0)
  put16(udp, 10, (~sum16(udp.subarray(0, 20))) & 0xffff)
  put16(udp, 20, 5353)
  put16(udp, 22, 53)
  put16(udp, 24, 41)
  udp.set(randomBytes(33), 28)
  put16(udp, 26, pseudo(udp, 17, 41))
  const [u] = addon.tunSegmentForTest(cat(vnet({flags: VNET_NEEDS_CSUM, gsoType: 0, hdrLen: 28, gsoSize: 0,
    csumStart: 20, csumOffset: 6}), udp))
  assert.ok(u !== undefined && l4ChecksumOk(u) && u16(u, 26) !== 0)
  const plain = tcp4({id: 1, seq: 1, flags: ACK, payload: randomBytes(50)})
  assert.deepEqual(addon.tunSegmentForTest(cat(new Uint8Array(10), plain)), [Buffer.from(plain)])
})

test('malformed or unoffered input gives nothing', () => {
  const good = superPacket(randomBytes(5000), 1000, ACK)
  assert.equal(addon.tunSegmentForTest(good).length, 5)
  const mutate = (f: (b: Uint8Array) => void, input = good): Uint8Array => {
    const b = Uint8Array.from(input)
    f(b)
    return b
  }
  const cases: Record<string, Uint8Array> = {
    empty: new Uint8Array(0),
    shorterThanHeader: good.subarray(0, 9),
    headerOnly: good.subarray(0, 10),
    shortIp: good.subarray(0, 10 + 19),
    shortTcp: good.subarray(0, 10 + 20 + 19),
    headersOnly: good.subarray(0, 10 + 52),
    ihl4: mutate((b) => (b[10] = 0x44)),
    ihl15: mutate((b) => (b[10] = 0x4f)),
    ipv6: mutate((b) => (b[10] = 0x65)),
    doff4: mutate((b) => (b[10 + 32] = 0x40)),
    doff15BeyondPacket: mutate((b) => (b[10 + 32] = 0xf0), superPacket(randomBytes(20), 10, ACK)),
    udpProtocol: mutate((b) => (b[10 + 9] = 17)),
    fragment: mutate((b) => (b[10 + 6] = 0x20)),
    gsoSizeZero: mutate((b) => Buffer.from(b.buffer).writeUInt16LE(0, 4)),
    hugeSegmentCount: superPacket(randomBytes(60000), 1, ACK),
    tcpv6: mutate((b) => (b[1] = 4)),
    udpL4: mutate((b) => (b[1] = 5)),
    ecn: mutate((b) => (b[1] = 0x81)),
    wrongCsumStart: mutate((b) => Buffer.from(b.buffer).writeUInt16LE(24, 6)),
    hdrLenBeyond: mutate((b) => Buffer.from(b.buffer).writeUInt16LE(60000, 2)),
    csumFieldBeyond: cat(vnet({flags: VNET_NEEDS_CSUM, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 40, csumOffset: 20}),
      tcp4({id: 1, seq: 1, flags: ACK, payload: randomBytes(1)})),
  }
  for (const [name, input] of Object.entries(cases)) assert.deepEqual(addon.tunSegmentForTest(input), [], name)
  // Segments larger than the reader's slot are refused, not truncated.
  assert.deepEqual(addon.tunSegmentForTest(good, 1000), [])
  assert.equal(addon.tunSegmentForTest(good, 1052).length, 5)
})

/** A flow's consecutive segments as a receiver would coalesce them (ACK, PSH on the last). */
function flow(sizes: number[], over: Partial<Tcp4> = {}): Uint8Array[] {
  let seq = 1000
  return sizes.map((n, i) => {
    const p = tcp4({tcpOptions: TS_OPTIONS, id: 300 + i, seq, flags: ACK | (i === sizes.length - 1 ? PSH : 0),
      payload: randomBytes(n), ...over})
    seq += n
    return p
  })
}

test('segments of one flow merge into one GSO write that splits back into them byte for byte', () => {
  const segs = flow([1200, 1200, 1200, 1200, 700])
  const writes = addon.tunCoalesceForTest(segs)
  assert.equal(writes.length, 1)
  const {header, packet} = writes[0]!
  assert.equal(header[0], VNET_NEEDS_CSUM)
  assert.equal(header[1], GSO_TCPV4)
  assert.deepEqual([header.readUInt16LE(2), header.readUInt16LE(4), header.readUInt16LE(6), header.readUInt16LE(8)],
    [52, 1200, 20, 16])
  assert.equal(packet.length, 52 + 4 * 1200 + 700)
  assert.equal(u16(packet, 2), packet.length)
  assert.ok(ipChecksumOk(packet))
  assert.equal(u16(packet, 36), pseudo(packet, 6, packet.length - 20), 'TCP field: pseudo-header sum (CHECKSUM_PARTIAL)')
  assert.equal(packet[33], ACK | PSH)
  const back = addon.tunSegmentForTest(cat(header, packet), 1500)
  assert.equal(back.length, segs.length)
  back.forEach((s, i) => assert.deepEqual(s, Buffer.from(segs[i]!), `segment ${i}`))
  // A write without PSH at the end is as good.
  const noPsh = flow([500, 500, 500]).map((p, i) => (i === 2 ? tcp4({tcpOptions: TS_OPTIONS, id: 302, seq: 2000, flags: ACK,
    payload: p.subarray(52)}) : p))
  const [w] = addon.tunCoalesceForTest(noPsh)
  assert.deepEqual(addon.tunSegmentForTest(cat(w!.header, w!.packet)), noPsh.map((p) => Buffer.from(p)))
})

test('only what may be merged is merged: flows, gaps, flags, sizes, checksums, headers', () => {
  const counts = (packets: Uint8Array[]): number[] => addon.tunCoalesceForTest(packets).map((w) => {
    if (w.header.every((b) => b === 0)) return 1
    return addon.tunSegmentForTest(cat(w.header, w.packet)).length
  })
  const a = flow([1000, 1000, 1000])
  const b = flow([1000, 1000, 1000], {sport: 40001})
  assert.deepEqual(counts([a[0]!, b[0]!, a[1]!, b[1]!]), [1, 1, 1, 1], 'two interleaved flows')
  assert.deepEqual(counts([...a, ...b]), [3, 3], 'two flows one after the other')
  const gap = flow([1000, 1000, 1000])
  put32(gap[2]!, 24, u32(gap[2]!, 24) + 1)
  put16(gap[2]!, 36, 0)
  put16(gap[2]!, 36, (~sum16(gap[2]!.subarray(20), pseudo(gap[2]!, 6, gap[2]!.length - 20))) & 0xffff)
  assert.ok(l4ChecksumOk(gap[2]!))
  assert.deepEqual(counts(gap), [2, 1], 'a seq gap')
  const bad = flow([1000, 1000, 1000])
  bad[1]![100] = bad[1]![100]! ^ 1
  assert.deepEqual(counts(bad), [1, 1, 1], 'a bad TCP checksum is written alone, unchanged')
  assert.deepEqual(addon.tunCoalesceForTest(bad)[1]!.packet, Buffer.from(bad[1]!))
  assert.deepEqual(counts(flow([1000, 600, 1000])), [2, 1], 'a short segment ends a group')
  assert.deepEqual(counts(flow([1000, 1000, 1200])), [2, 1], 'a longer one does not join')
  const psh = flow([1000, 1000, 1000]).map((p, i) => tcp4({tcpOptions: TS_OPTIONS, id: 300 + i, seq: 1000 + i * 1000,
    flags: ACK | PSH, payload: p.subarray(52)}))
  assert.deepEqual(counts(psh), [1, 1, 1], 'PSH ends a group')
  const fin = flow([1000, 1000]).map((p, i) => tcp4({tcpOptions: TS_OPTIONS, id: 300 + i, seq: 1000 + i * 1000,
    flags: ACK | FIN, payload: p.subarray(52)}))
  assert.deepEqual(counts(fin), [1, 1], 'FIN is never merged')
  const acks = [0x01020304, 0x01020305].map((ack, i) => tcp4({tcpOptions: TS_OPTIONS, id: i, seq: 1000 + i * 1000, ack,
    flags: ACK, payload: randomBytes(1000)}))
  assert.deepEqual(counts(acks), [1, 1], 'different ack')
  const ts = [0, 1].map((i) => tcp4({tcpOptions: TS_OPTIONS.map((v, k) => (k === 7 ? v + i : v)), id: i,
    seq: 1000 + i * 1000, flags: ACK, payload: randomBytes(1000)}))
  assert.deepEqual(counts(ts), [1, 1], 'different option bytes')
  const ttl = [0, 1].map((i) => tcp4({ttl: 64 - i, id: i, seq: 1000 + i * 1000, flags: ACK, payload: randomBytes(1000)}))
  assert.deepEqual(counts(ttl), [1, 1], 'different IP header fields')
  const ipOpt = flow([1000, 1000], {ipOptions: [1, 1, 1, 0]})
  assert.deepEqual(counts(ipOpt), [1, 1], 'IP options')
  assert.deepEqual(counts(flow([0, 0])), [1, 1], 'no payload')
  const udp = Uint8Array.from(a[0]!)
  udp[9] = 17
  assert.deepEqual(counts([udp, udp]), [1, 1], 'not TCP')
  assert.deepEqual(counts([new Uint8Array(3), new Uint8Array(0), a[0]!]), [1, 1, 1], 'short packets')
})

test('a merged write stays within 65535 bytes and 64 packets', () => {
  const big = flow(Array.from({length: 60}, () => 1448))
  const sizes = addon.tunCoalesceForTest(big).map((w) => w.packet.length)
  assert.ok(sizes.length >= 2 && sizes.every((n) => n <= 65535), `${sizes}`)
  const many = flow(Array.from({length: 150}, () => 100))
  const groups = addon.tunCoalesceForTest(many).map((w) => addon.tunSegmentForTest(cat(w.header, w.packet)).length)
  assert.deepEqual(groups, [64, 64, 22])
  assert.deepEqual(addon.tunCoalesceForTest(many).flatMap((w) => addon.tunSegmentForTest(cat(w.header, w.packet))),
    many.map((p) => Buffer.from(p)))
})

test('random and mutated input never crashes and never yields a segment beyond the bound', () => {
  const base = superPacket(randomBytes(3000), 700, ACK | PSH)
  fc.assert(fc.property(
    fc.oneof(
      fc.uint8Array({maxLength: 400}),
      fc.tuple(fc.uint8Array({minLength: 10, maxLength: 10}), fc.uint8Array({maxLength: 3000})).map(([h, p]) => {
        h[1] = h[1]! & 1
        return cat(h, p)
      }),
      fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({min: 0, max: 255})), {minLength: 1, maxLength: 6})
        .map((edits) => {
          const b = Uint8Array.from(base)
          for (const [at, v] of edits) b[at] = v
          return b
        }),
    ),
    fc.integer({min: 1, max: 2000}),
    (input, maxOut) => {
      const segs = addon.tunSegmentForTest(input, maxOut)
      assert.ok(segs.every((s) => s.length <= maxOut))
    }), {numRuns: 400})
  const segs = flow([900, 900, 900, 900, 300])
  fc.assert(fc.property(
    fc.array(fc.oneof(fc.uint8Array({maxLength: 200}), fc.constantFrom(...segs),
      fc.tuple(fc.constantFrom(...segs), fc.nat(1000), fc.integer({min: 0, max: 255})).map(([p, at, v]) => {
        const b = Uint8Array.from(p)
        b[at % b.length] = v
        return b
      })), {maxLength: 20}),
    (packets) => {
      const writes = addon.tunCoalesceForTest(packets)
      const split = writes.flatMap((w) => w.header.every((b) => b === 0) ? [w.packet] : addon.tunSegmentForTest(cat(w.header, w.packet)))
      // Every packet comes out once, in order; merged ones exactly as they went in.
      assert.equal(split.length, packets.length)
      split.forEach((s, i) => assert.deepEqual(s, Buffer.from(packets[i]!)))
    }), {numRuns: 300})
})
