/**
 * The in-memory UDP network (router/udp/channel.ts) and packed addresses (router/udp/address.ts):
 * datagrams reach the bound socket in order with the sender's address and port, a full inbound
 * queue drops silently (counted like kernel drops), the filter hook loses datagrams on demand.
 */
import assert from 'node:assert/strict'
import {test} from 'node:test'

import {CHANNEL_QUEUE_PACKETS} from '../../../src/constants.js'
import {addressAt, formatAddress, parseAddress} from '../../../router/udp/address.js'
import {UdpNetwork} from '../../../router/udp/channel.js'
import {packetAt} from '../../../router/tun/device.js'
import type {DatagramBatch} from '../../../router/udp/bind.js'

const seqOf = (p: Uint8Array): number => new DataView(p.buffer, p.byteOffset, p.length).getUint32(0)
const datagram = (i: number): Uint8Array => {
  const d = new Uint8Array(40)
  new DataView(d.buffer).setUint32(0, i)
  return d
}

test('addresses round-trip between text and packed bytes', () => {
  for (const [text, len] of [['10.99.0.1', 4], ['0.0.0.0', 4], ['2001:db8::1', 16], ['::', 16], ['fd00:98::2', 16],
    ['::ffff:10.0.0.1', 16], ['2001:db8:0:1:1:1:1:1', 16]] as const) {
    const p = parseAddress(text)
    assert.ok(p !== undefined, text)
    assert.equal(p.bytes.length, len)
    assert.equal(formatAddress(p.bytes), text === '::ffff:10.0.0.1' ? '::ffff:a00:1' : text)
  }
  assert.deepEqual(Array.from(parseAddress('1.2.3.4')!.bytes), [1, 2, 3, 4])
  assert.deepEqual(Array.from(parseAddress('::ffff:10.0.0.1')!.bytes.subarray(10)), [0xff, 0xff, 10, 0, 0, 1])
  for (const bad of ['', '1.2.3', '1.2.3.256', 'fe80::1%eth0', 'x::y', '::1::2']) assert.equal(parseAddress(bad), undefined, bad)
})

test('datagrams arrive in order with the sender address and port, both ways', () => {
  const net = new UdpNetwork({delivery: 'manual'})
  const a = net.bind('10.0.0.1', 42423)
  const b = net.bind('10.0.0.2', 624)
  const seen: {seq: number; from: string; port: number}[] = []
  b.start((batch: DatagramBatch) => {
    for (let i = 0; i < batch.count; i++) {
      seen.push({seq: seqOf(packetAt(batch, i)), from: formatAddress(addressAt(batch, i)), port: batch.ports[i]!})
    }
  })
  const to = parseAddress('10.0.0.2')!.bytes
  for (let i = 0; i < 150; i++) assert.equal(a.send(datagram(i), to, 624), true)
  assert.equal(net.flush(), 150)
  assert.deepEqual(seen.map((s) => s.seq), [...Array(150).keys()])
  assert.ok(seen.every((s) => s.from === '10.0.0.1' && s.port === 42423))
  // The reply path and sendBatch.
  const back: number[] = []
  a.start((batch) => {
    for (let i = 0; i < batch.count; i++) back.push(seqOf(packetAt(batch, i)))
  })
  const data = new Uint8Array(3 * 40)
  for (let i = 0; i < 3; i++) new DataView(data.buffer).setUint32(i * 40, 500 + i)
  const addrs = new Uint8Array(12)
  for (let i = 0; i < 3; i++) addrs.set(parseAddress('10.0.0.1')!.bytes, i * 4)
  assert.equal(b.sendBatch(data, Uint32Array.from([0, 40, 80]), new Uint32Array(3).fill(40), addrs,
    new Uint16Array(3).fill(42423), 3), 3)
  net.flush()
  assert.deepEqual(back, [500, 501, 502])
})

test('a full inbound queue drops silently beyond CHANNEL_QUEUE_PACKETS and counts the drops', () => {
  const net = new UdpNetwork({delivery: 'manual'})
  const a = net.bind('10.0.0.1', 0)
  const b = net.bind('10.0.0.2', 624)
  const to = parseAddress('10.0.0.2')!.bytes
  for (let i = 0; i < CHANNEL_QUEUE_PACKETS + 40; i++) assert.equal(a.send(datagram(i), to, 624), true)
  assert.equal(b.dropped, 40)
  assert.equal(b.counters().rxKernelDrops, 40)
  const got: number[] = []
  b.start((batch) => {
    for (let i = 0; i < batch.count; i++) got.push(seqOf(packetAt(batch, i)))
  })
  net.flush()
  assert.deepEqual(got, [...Array(CHANNEL_QUEUE_PACKETS).keys()])
})

test('unbound destinations and the filter lose datagrams; ports are exclusive', () => {
  let n = 0
  const net = new UdpNetwork({delivery: 'manual', filter: () => n++ % 2 === 0})
  const a = net.bind('10.0.0.1', 0)
  const b = net.bind('10.0.0.2', 624)
  assert.throws(() => net.bind('10.0.0.2', 624), /in use/)
  const got: number[] = []
  b.start((batch) => {
    for (let i = 0; i < batch.count; i++) got.push(seqOf(packetAt(batch, i)))
  })
  for (let i = 0; i < 10; i++) a.send(datagram(i), parseAddress('10.0.0.2')!.bytes, 624)
  a.send(datagram(99), parseAddress('10.0.0.3')!.bytes, 624)
  net.flush()
  assert.deepEqual(got, [0, 2, 4, 6, 8])
  assert.equal(net.filtered, 5)
  assert.equal(net.unroutable, 1, 'the 11th passed the filter but nobody bound 10.0.0.3')
  b.close()
  a.send(datagram(1), parseAddress('10.0.0.2')!.bytes, 624) // filtered (12th)
  a.send(datagram(2), parseAddress('10.0.0.2')!.bytes, 624) // passes, but the port is closed
  assert.equal(net.filtered, 6)
  assert.equal(net.unroutable, 2)
})
