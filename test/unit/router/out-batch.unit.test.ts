/**
 * router/out-batch.ts: packets built in preallocated slots reach the socket (with their own
 * address and port) or the TUN in order, in one call per flush; a full batch flushes before it
 * hands out another slot; what the device does not take is counted; a wrong-family address is
 * refused without taking a slot.
 */
import assert from 'node:assert/strict'
import {test} from 'node:test'

import {OutBatch} from '../../../router/out-batch.js'
import {createTunChannelPair} from '../../../router/tun/channel.js'
import {packetAt} from '../../../router/tun/device.js'
import {addressAt, formatAddress, parseAddress} from '../../../router/udp/address.js'
import {UdpNetwork} from '../../../router/udp/channel.js'
import type {DatagramBatch} from '../../../router/udp/bind.js'

test('datagrams go out in order with their own destinations; a full batch flushes itself', () => {
  const net = new UdpNetwork({delivery: 'manual'})
  const a = net.bind('10.0.0.1', 1000)
  const b = net.bind('10.0.0.2', 2000)
  const c = net.bind('10.0.0.3', 3000)
  const got: string[] = []
  const sink = (name: string) => (batch: DatagramBatch): void => {
    for (let i = 0; i < batch.count; i++) got.push(`${name}:${packetAt(batch, i)[0]}:${packetAt(batch, i).length}:${formatAddress(addressAt(batch, i))}`)
  }
  b.start(sink('b'))
  c.start(sink('c'))
  let calls = 0
  const sendBatch = a.sendBatch.bind(a)
  a.sendBatch = (...args: Parameters<typeof a.sendBatch>): number => {
    calls++
    return sendBatch(...args)
  }
  const out = OutBatch.forUdp(a, 4, 64)
  for (let i = 0; i < 6; i++) {
    const slot = out.slot()
    slot[0] = i
    assert.equal(out.commit(10 + i, parseAddress(i % 2 === 0 ? '10.0.0.2' : '10.0.0.3')!.bytes, i % 2 === 0 ? 2000 : 3000), true)
  }
  assert.equal(calls, 1, 'the 5th slot flushed the first four')
  assert.equal(out.count, 2)
  assert.equal(out.flush(), 0)
  assert.equal(calls, 2)
  assert.equal(out.flush(), 0, 'an empty batch sends nothing')
  assert.equal(calls, 2)
  net.flush()
  assert.deepEqual(got.sort(), ['b:0:10:10.0.0.1', 'b:2:12:10.0.0.1', 'b:4:14:10.0.0.1', 'c:1:11:10.0.0.1', 'c:3:13:10.0.0.1', 'c:5:15:10.0.0.1'])
  // An IPv6 address on an IPv4 socket's batch is refused and takes no slot.
  out.slot()
  assert.equal(out.commit(10, parseAddress('2001:db8::1')!.bytes, 1), false)
  assert.equal(out.count, 0)
})

test('TUN packets: one writeBatch per flush, the ones the queue refuses are counted, inSlot tells slot from fresh buffers', () => {
  const {device, host} = createTunChannelPair({queuePackets: 3, delivery: 'manual'})
  const out = OutBatch.forTun(device, 8, 64)
  for (let i = 0; i < 5; i++) {
    const slot = out.slot()
    assert.equal(out.inSlot(slot.subarray(0, 20)), true)
    assert.equal(out.inSlot(Buffer.alloc(20)), false)
    slot.fill(i, 0, 20)
    out.commit(20)
  }
  assert.equal(out.flush(), 2, 'a queue of 3 takes 3 of 5')
  assert.equal(out.dropped, 2)
  const seen: number[] = []
  host.start((batch) => {
    for (let i = 0; i < batch.count; i++) seen.push(packetAt(batch, i)[0]!)
  })
  device.flush()
  host.flush()
  assert.deepEqual(seen, [0, 1, 2])
})

test('put: a packet built in the slot is committed in place, another is copied into a slot, one that fits no slot goes out on its own', () => {
  const net = new UdpNetwork({delivery: 'manual'})
  const a = net.bind('10.0.0.1', 1000)
  const b = net.bind('10.0.0.2', 2000)
  const got: number[] = []
  b.start((batch: DatagramBatch) => {
    for (let i = 0; i < batch.count; i++) got.push(packetAt(batch, i).length)
  })
  let batches = 0
  const sendBatch = a.sendBatch.bind(a)
  a.sendBatch = (...args: Parameters<typeof a.sendBatch>): number => {
    batches++
    return sendBatch(...args)
  }
  const to = parseAddress('10.0.0.2')!.bytes
  const out = OutBatch.forUdp(a, 4, 64)
  const slot = out.slot()
  slot.fill(1, 0, 30)
  assert.equal(out.put(slot.subarray(0, 30), to, 2000), true)
  assert.equal(out.put(Buffer.alloc(40, 2), to, 2000), true)
  assert.equal(out.count, 2, 'in place and copied: both in the batch')
  assert.equal(out.put(Buffer.alloc(100, 3), to, 2000), true, 'larger than a slot: sent on its own')
  assert.equal(out.count, 2)
  assert.equal(out.put(Buffer.alloc(10, 4), parseAddress('2001:db8::2')!.bytes, 2000), false, 'other family: refused by the IPv4 socket')
  assert.equal(out.count, 2)
  out.flush()
  assert.equal(batches, 1)
  net.flush()
  assert.deepEqual(got, [100, 30, 40])
})
