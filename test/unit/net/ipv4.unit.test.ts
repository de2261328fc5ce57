/**
 * Inner IPv4 rewriting (pq1-protocol.md section 3.3). Checksums are checked with a deliberately
 * naive one's-complement sum written here (byte pairs, fold every step), never with src/net, and
 * against a published header vector. fast-check compares incremental (RFC 1624) and full updates.
 */
import assert from 'node:assert/strict'
import {test} from 'node:test'

import fc from 'fast-check'

import {adjustChecksum32x2, internetChecksum} from '../../../src/net/checksum.js'
import {
  formatIpv4, ipVersion, ipv4Destination, ipv4HeaderLength, ipv4Source, isIpv6, parseIpv4, rewriteIpv4Addresses,
} from '../../../src/net/ipv4.js'
import {hex, unhex} from '../../helpers/hex.js'

// ---- naive reference (independent of src/net) ----

function onesSum(words: number[]): number {
  let s = 0
  for (const w of words) {
    s += w
    if (s > 0xffff) s = (s & 0xffff) + 1
  }
  return s
}

function wordsOf(b: Uint8Array): number[] {
  const out: number[] = []
  for (let i = 0; i < b.length; i += 2) out.push((b[i]! << 8) | (i + 1 < b.length ? b[i + 1]! : 0))
  return out
}

const addrWords = (b: Uint8Array, at: number): number[] => [(b[at]! << 8) | b[at + 1]!, (b[at + 2]! << 8) | b[at + 3]!]

/** Pseudo-header words + L4 bytes (checksum field as given). */
function l4Words(p: Uint8Array, l4Len?: number): number[] {
  const ihl = (p[0]! & 15) * 4
  const total = (p[2]! << 8) | p[3]!
  const len = l4Len ?? total - ihl
  return [...addrWords(p, 12), ...addrWords(p, 16), p[9]!, len, ...wordsOf(p.subarray(ihl, ihl + len))]
}

const headerOk = (p: Uint8Array): boolean => onesSum(wordsOf(p.subarray(0, (p[0]! & 15) * 4))) === 0xffff
const l4Ok = (p: Uint8Array, l4Len?: number): boolean => onesSum(l4Words(p, l4Len)) === 0xffff

/** Build IPv4 + L4 with correct checksums computed naively. */
function buildPacket(opts: {proto: number; src: string; dst: string; payload: Uint8Array; options?: Uint8Array;
  frag?: number; udpChecksum0?: boolean}): Buffer {
  const options = opts.options ?? new Uint8Array(0)
  const ihl = 20 + options.length
  const l4Header = opts.proto === 6 ? 20 : opts.proto === 17 ? 8 : 4
  const total = ihl + l4Header + opts.payload.length
  const p = Buffer.alloc(total)
  p[0] = 0x40 | (ihl / 4)
  p.writeUInt16BE(total, 2)
  p.writeUInt16BE(0x1234, 4)
  p.writeUInt16BE(opts.frag ?? 0x4000, 6)
  p[8] = 64
  p[9] = opts.proto
  p.set(unhex(parseIpv4(opts.src)!.toString(16).padStart(8, '0')), 12)
  p.set(unhex(parseIpv4(opts.dst)!.toString(16).padStart(8, '0')), 16)
  p.set(options, 20)
  const l4 = p.subarray(ihl)
  if (opts.proto === 6) {
    l4.writeUInt16BE(40000, 0)
    l4.writeUInt16BE(443, 2)
    l4.writeUInt32BE(0xdeadbeef, 4)
    l4[12] = 0x50
    l4[13] = 0x18
    l4.writeUInt16BE(502, 14)
  } else if (opts.proto === 17) {
    l4.writeUInt16BE(5353, 0)
    l4.writeUInt16BE(53, 2)
    l4.writeUInt16BE(8 + opts.payload.length, 4)
  } else {
    l4[0] = 8 // ICMP echo request
  }
  l4.set(opts.payload, l4Header)
  const at = opts.proto === 6 ? 16 : opts.proto === 17 ? 6 : 2
  const l4Sum = opts.proto === 6 || opts.proto === 17 ? onesSum(l4Words(p)) : onesSum(wordsOf(l4))
  let c = ~l4Sum & 0xffff
  if (opts.proto === 17 && c === 0) c = 0xffff
  l4.writeUInt16BE(opts.udpChecksum0 ? 0 : c, at)
  p.writeUInt16BE(~onesSum(wordsOf(p.subarray(0, ihl))) & 0xffff, 10)
  return p
}

const SRC = parseIpv4('10.42.0.7')!
const DST = parseIpv4('10.42.0.1')!
const PAYLOAD = Buffer.from('hello, post-quantum world!!')

test('published header vector: checksum 0xb861 (RFC 1071 example header)', () => {
  const h = unhex('45000073000040004011b861c0a80001c0a800c7')
  assert.ok(headerOk(h))
  const z = Buffer.from(h)
  z.writeUInt16BE(0, 10)
  assert.equal(internetChecksum(z, 0, 20), 0xb861)
})

test('addresses: parse, format, read', () => {
  assert.equal(parseIpv4('10.43.0.1'), 0x0a2b0001)
  assert.equal(parseIpv4('255.255.255.255'), 0xffffffff)
  assert.equal(formatIpv4(0xc0a800c7), '192.168.0.199')
  for (const bad of ['1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.x', '', '1..2.3']) assert.equal(parseIpv4(bad), undefined, bad)
  const p = buildPacket({proto: 6, src: '1.2.3.4', dst: '5.6.7.8', payload: PAYLOAD})
  assert.equal(formatIpv4(ipv4Source(p)!), '1.2.3.4')
  assert.equal(formatIpv4(ipv4Destination(p)!), '5.6.7.8')
  assert.equal(ipv4Source(new Uint8Array(10)), undefined)
})

test('version helpers', () => {
  assert.equal(ipVersion(Uint8Array.of(0x45)), 4)
  assert.equal(ipVersion(new Uint8Array(0)), undefined)
  const v6 = new Uint8Array(40)
  v6[0] = 0x60
  assert.ok(isIpv6(v6))
  assert.equal(isIpv6(v6.subarray(0, 39)), false)
  assert.equal(isIpv6(buildPacket({proto: 6, src: '1.2.3.4', dst: '5.6.7.8', payload: PAYLOAD})), false)
})

for (const [name, proto] of [['TCP', 6], ['UDP', 17]] as const) {
  test(`${name}: rewrite sets both addresses and leaves valid checksums`, () => {
    const p = buildPacket({proto, src: '10.43.0.1', dst: '10.43.0.2', payload: PAYLOAD})
    assert.ok(headerOk(p) && l4Ok(p), 'the naive builder makes valid packets')
    const before = Buffer.from(p)
    assert.ok(rewriteIpv4Addresses(p, SRC, DST))
    assert.equal(formatIpv4(ipv4Source(p)!), '10.42.0.7')
    assert.equal(formatIpv4(ipv4Destination(p)!), '10.42.0.1')
    assert.ok(headerOk(p), 'IPv4 header checksum')
    assert.ok(l4Ok(p), `${name} checksum`)
    assert.notEqual(hex(p), hex(before))
    // Only addresses and the two checksums changed.
    const l4c = 20 + (proto === 6 ? 16 : 6)
    for (let i = 0; i < p.length; i++) {
      if ((i >= 12 && i < 20) || i === 10 || i === 11 || i === l4c || i === l4c + 1) continue
      assert.equal(p[i], before[i], `byte ${i}`)
    }
  })

  test(`${name}: packet from a reference peer (destination zeroed, checksums stale) comes out valid`, () => {
    const p = buildPacket({proto, src: '10.43.0.1', dst: '10.43.0.5', payload: PAYLOAD})
    p.fill(0, 16, 20) // section 3.3 sender step 3: dst := 0.0.0.0, no checksum update
    assert.equal(headerOk(p), false)
    assert.equal(l4Ok(p), false)
    assert.ok(rewriteIpv4Addresses(p, SRC, DST))
    assert.ok(headerOk(p))
    assert.ok(l4Ok(p))
  })
}

test('IPv4 options: header checksum covers them and L4 starts after them', () => {
  const options = unhex('01010100 94040000') // NOP NOP NOP EOL, Router Alert
  const p = buildPacket({proto: 6, src: '10.43.0.1', dst: '10.43.0.2', payload: PAYLOAD, options})
  assert.equal(ipv4HeaderLength(p), 28)
  assert.ok(rewriteIpv4Addresses(p, SRC, DST))
  assert.ok(headerOk(p))
  assert.ok(l4Ok(p))
})

test('UDP: checksum 0 ("none") stays 0; a computed 0 is sent as 0xffff', () => {
  const none = buildPacket({proto: 17, src: '10.43.0.1', dst: '10.43.0.2', payload: PAYLOAD, udpChecksum0: true})
  assert.ok(rewriteIpv4Addresses(none, SRC, DST))
  assert.equal(none.readUInt16BE(26), 0)
  assert.ok(headerOk(none))
  // Pick the last payload word so that the sum with the NEW addresses is 0xffff (checksum 0).
  const payload = Buffer.alloc(10)
  const probe = buildPacket({proto: 17, src: '10.42.0.7', dst: '10.42.0.1', payload})
  probe.writeUInt16BE(0, 26)
  payload.writeUInt16BE(0xffff - onesSum(l4Words(probe)), 8)
  const p = buildPacket({proto: 17, src: '10.43.0.1', dst: '10.43.0.2', payload})
  assert.ok(l4Ok(p))
  assert.ok(rewriteIpv4Addresses(p, SRC, DST))
  assert.equal(p.readUInt16BE(26), 0xffff)
  assert.ok(l4Ok(p))
})

test('UDP with IP padding after the datagram: checksum over the UDP length only', () => {
  const p = buildPacket({proto: 17, src: '10.43.0.1', dst: '10.43.0.2', payload: PAYLOAD})
  const padded = Buffer.concat([p, Buffer.from([0xaa, 0xbb, 0xcc])])
  padded.writeUInt16BE(padded.length, 2)
  assert.ok(rewriteIpv4Addresses(padded, SRC, DST))
  assert.ok(headerOk(padded))
  assert.ok(l4Ok(padded, 8 + PAYLOAD.length))
})

test('ICMP and other protocols: only the header checksum changes', () => {
  for (const proto of [1, 47, 50]) {
    const p = buildPacket({proto, src: '10.43.0.1', dst: '10.43.0.2', payload: PAYLOAD})
    const before = Buffer.from(p)
    assert.ok(rewriteIpv4Addresses(p, SRC, DST))
    assert.ok(headerOk(p))
    assert.deepEqual(p.subarray(20), before.subarray(20), `protocol ${proto} payload untouched`)
  }
})

test('fragments: first fragment patched incrementally to the whole-datagram checksum; later ones untouched', () => {
  for (const proto of [6, 17]) {
    const whole = buildPacket({proto, src: '10.43.0.1', dst: '10.43.0.2', payload: Buffer.alloc(600, 0x5c)})
    const expected = Buffer.from(whole)
    assert.ok(rewriteIpv4Addresses(expected, SRC, DST))
    const at = 20 + (proto === 6 ? 16 : 6)
    // First fragment: MF set, offset 0, 200 bytes of L4 data.
    const first = Buffer.from(whole.subarray(0, 220))
    first.writeUInt16BE(220, 2)
    first.writeUInt16BE(0x2000, 6)
    assert.ok(rewriteIpv4Addresses(first, SRC, DST))
    assert.ok(headerOk(first))
    assert.equal(first.readUInt16BE(at), expected.readUInt16BE(at), `protocol ${proto}`)
    // A later fragment: offset 25 (200 bytes), no L4 header in it.
    const later = Buffer.concat([whole.subarray(0, 20), whole.subarray(220, 420)])
    later.writeUInt16BE(220, 2)
    later.writeUInt16BE(25, 6)
    const beforeL4 = Buffer.from(later.subarray(20))
    assert.ok(rewriteIpv4Addresses(later, SRC, DST))
    assert.ok(headerOk(later))
    assert.deepEqual(later.subarray(20), beforeL4)
  }
})

test('malformed packets are refused (false) and left unchanged', () => {
  const good = buildPacket({proto: 6, src: '10.43.0.1', dst: '10.43.0.2', payload: PAYLOAD})
  const udp = buildPacket({proto: 17, src: '10.43.0.1', dst: '10.43.0.2', payload: PAYLOAD})
  const edit = (base: Buffer, f: (b: Buffer) => void): Buffer => {
    const b = Buffer.from(base)
    f(b)
    return b
  }
  const cases: Record<string, Buffer> = {
    empty: Buffer.alloc(0),
    'short header': good.subarray(0, 19),
    'version 6': edit(good, (b) => { b[0] = 0x65 }),
    'IHL 4': edit(good, (b) => { b[0] = 0x44 }),
    'IHL beyond total length': edit(good, (b) => { b[0] = 0x4f; b.writeUInt16BE(40, 2) }),
    'total length beyond buffer': edit(good, (b) => b.writeUInt16BE(good.length + 1, 2)),
    'total length below header': edit(good, (b) => b.writeUInt16BE(19, 2)),
    'TCP shorter than its header': edit(good, (b) => b.writeUInt16BE(39, 2)),
    'UDP shorter than its header': edit(udp, (b) => b.writeUInt16BE(27, 2)),
    'UDP length beyond the packet': edit(udp, (b) => b.writeUInt16BE(udp.length - 19, 24)),
    'UDP length below 8': edit(udp, (b) => b.writeUInt16BE(7, 24)),
    'first fragment too short for TCP': edit(good, (b) => { b.writeUInt16BE(0x2000, 6); b.writeUInt16BE(36, 2) }),
  }
  for (const [name, p] of Object.entries(cases)) {
    const before = Buffer.from(p)
    assert.equal(rewriteIpv4Addresses(p, SRC, DST), false, name)
    assert.deepEqual(p, before, `${name}: unchanged`)
  }
  // A short total length is fine when the buffer has trailing bytes: only `total` counts.
  const trailing = Buffer.concat([good, Buffer.alloc(5, 0xee)])
  assert.ok(rewriteIpv4Addresses(trailing, SRC, DST))
  assert.ok(l4Ok(trailing) && headerOk(trailing))
  assert.deepEqual(trailing.subarray(good.length), Buffer.alloc(5, 0xee))
})

// ---- properties ----

const addr = fc.integer({min: 0, max: 0xffffffff})
const packetArb = fc.record({
  proto: fc.constantFrom(6, 17),
  src: addr, dst: addr, newSrc: addr, newDst: addr,
  payload: fc.uint8Array({maxLength: 1400}),
  optionWords: fc.integer({min: 0, max: 10}),
})

function makeRandomPacket(r: {proto: number; src: number; dst: number; payload: Uint8Array; optionWords: number}): Buffer {
  return buildPacket({proto: r.proto, src: formatIpv4(r.src), dst: formatIpv4(r.dst), payload: r.payload,
    options: new Uint8Array(r.optionWords * 4).fill(1)})
}

test('property: RFC 1624 incremental update equals full recomputation', () => {
  fc.assert(fc.property(packetArb, (r) => {
    const p = makeRandomPacket(r)
    const ihl = ipv4HeaderLength(p)
    const at = ihl + (r.proto === 6 ? 16 : 6)
    const old = p.readUInt16BE(at)
    const incremental = adjustChecksum32x2(old, r.src, r.newSrc, r.dst, r.newDst)
    // Full recomputation, naive, with the new addresses.
    const q = Buffer.from(p)
    q.writeUInt32BE(r.newSrc, 12)
    q.writeUInt32BE(r.newDst, 16)
    q.writeUInt16BE(0, at)
    let full = ~onesSum(l4Words(q)) & 0xffff
    if (r.proto === 17 && full === 0) full = 0xffff
    const inc = r.proto === 17 && incremental === 0 ? 0xffff : incremental
    assert.equal(inc, full)
  }), {numRuns: 2000})
})

test('property: rewrite always leaves valid checksums, whole or as a first fragment', () => {
  fc.assert(fc.property(packetArb, fc.boolean(), (r, asFragment) => {
    const p = makeRandomPacket(r)
    const ihl = ipv4HeaderLength(p)
    const expected = Buffer.from(p)
    assert.ok(rewriteIpv4Addresses(expected, r.newSrc, r.newDst))
    assert.ok(headerOk(expected))
    assert.ok(l4Ok(expected))
    assert.equal(ipv4Source(expected), r.newSrc)
    assert.equal(ipv4Destination(expected), r.newDst)
    if (asFragment) {
      const cut = Math.min(p.length, ihl + (r.proto === 6 ? 20 : 8) + 8 * Math.floor(r.payload.length / 16))
      const first = Buffer.from(p.subarray(0, cut))
      first.writeUInt16BE(cut, 2)
      first.writeUInt16BE(0x2000, 6)
      assert.ok(rewriteIpv4Addresses(first, r.newSrc, r.newDst))
      assert.ok(headerOk(first))
      const at = ihl + (r.proto === 6 ? 16 : 6)
      assert.equal(first.readUInt16BE(at), expected.readUInt16BE(at))
    }
  }), {numRuns: 1000})
})

test('property: random bytes never throw; refused input is left unchanged', () => {
  const v4ish = fc.uint8Array({minLength: 20, maxLength: 200}).map((b) => { b[0] = 0x40 | (b[0]! & 0x0f); return b })
  fc.assert(fc.property(fc.oneof(fc.uint8Array({maxLength: 200}), v4ish), addr, addr, (b, s, d) => {
    const before = Buffer.from(b)
    if (!rewriteIpv4Addresses(b, s, d)) assert.deepEqual(Buffer.from(b), before)
    else assert.ok(headerOk(b))
  }), {numRuns: 3000})
})
