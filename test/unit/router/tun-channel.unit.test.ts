/**
 * The in-memory TUN pair (router/tun/channel.ts): packets cross in order and in batches, each
 * queue is bounded by CHANNEL_QUEUE_PACKETS and refuses beyond it (counted), batches are reused
 * and poisoned after the callback, manual delivery waits for flush().
 */
import assert from 'node:assert/strict'
import {test} from 'node:test'

import {CHANNEL_QUEUE_PACKETS, READ_BATCH_PACKETS} from '../../../src/constants.js'
import {createTunChannelPair} from '../../../router/tun/channel.js'
import {packetAt} from '../../../router/tun/device.js'
import type {PacketBatch} from '../../../router/tun/device.js'

const packet = (i: number): Uint8Array => {
  const p = new Uint8Array(20 + (i % 50))
  new DataView(p.buffer).setUint32(0, i)
  p.fill(i & 0xff, 4)
  return p
}
const seqOf = (p: Uint8Array): number => new DataView(p.buffer, p.byteOffset, p.length).getUint32(0)

/** Collects copies of everything delivered, with the size of each batch. */
function collector(): {seqs: number[]; sizes: number[]; bytes: Uint8Array[]; onBatch: (b: PacketBatch) => void} {
  const c = {seqs: [] as number[], sizes: [] as number[], bytes: [] as Uint8Array[], onBatch: (b: PacketBatch): void => {
    c.sizes.push(b.count)
    for (let i = 0; i < b.count; i++) {
      const p = packetAt(b, i)
      c.seqs.push(seqOf(p))
      c.bytes.push(Uint8Array.from(p))
    }
  }}
  return c
}

test('packets written on one end arrive on the other, in order, byte for byte, in both directions', () => {
  const {device, host} = createTunChannelPair({delivery: 'manual'})
  const atHost = collector()
  const atDevice = collector()
  host.start(atHost.onBatch)
  device.start(atDevice.onBatch)
  for (let i = 0; i < 200; i++) assert.equal(device.write(packet(i)), true)
  for (let i = 0; i < 10; i++) assert.equal(host.write(packet(1000 + i)), true)
  assert.equal(host.flush(), 200)
  assert.equal(device.flush(), 10)
  assert.deepEqual(atHost.seqs, [...Array(200).keys()])
  assert.deepEqual(atHost.bytes[57], packet(57))
  assert.deepEqual(atDevice.seqs, [...Array(10).keys()].map((i) => 1000 + i))
  // Batches are at most READ_BATCH_PACKETS long.
  assert.ok(atHost.sizes.every((n) => n > 0 && n <= READ_BATCH_PACKETS))
  assert.equal(atHost.sizes.reduce((a, b) => a + b, 0), 200)
  assert.equal(device.counters().txPackets, 200)
  assert.equal(host.counters().rxPackets, 200)
})

test('a full queue refuses packets beyond CHANNEL_QUEUE_PACKETS and counts them', () => {
  const {device, host} = createTunChannelPair({delivery: 'manual'})
  let accepted = 0
  for (let i = 0; i < CHANNEL_QUEUE_PACKETS + 25; i++) if (device.write(packet(i))) accepted++
  assert.equal(accepted, CHANNEL_QUEUE_PACKETS)
  assert.equal(host.pending(), CHANNEL_QUEUE_PACKETS)
  assert.equal(host.dropped, 25)
  assert.equal(device.counters().txQueueFull, 25)
  const got = collector()
  host.start(got.onBatch)
  host.flush()
  // The oldest packets were kept, the newest refused, like a kernel queue.
  assert.deepEqual(got.seqs, [...Array(CHANNEL_QUEUE_PACKETS).keys()])
  assert.equal(device.write(packet(9)), true, 'room again after draining')
})

test('a named smaller bound is honoured, and writeBatch stops at the full queue', () => {
  const {device, host} = createTunChannelPair({delivery: 'manual', queuePackets: 4})
  const data = new Uint8Array(6 * 32)
  const offsets = Uint32Array.from([0, 32, 64, 96, 128, 160])
  const lengths = new Uint32Array(6).fill(32)
  for (let i = 0; i < 6; i++) new DataView(data.buffer).setUint32(i * 32, i)
  assert.equal(device.writeBatch(data, offsets, lengths, 6), 4)
  assert.equal(host.pending(), 4)
  const got = collector()
  host.start(got.onBatch)
  host.flush()
  assert.deepEqual(got.seqs, [0, 1, 2, 3])
})

test('a batch is reused and poisoned after the callback: keepers must copy', () => {
  const {device, host} = createTunChannelPair({delivery: 'manual'})
  let kept: Uint8Array | undefined
  host.start((b) => {
    kept = packetAt(b, 0) // a view, not a copy
    assert.equal(seqOf(kept), 7)
  })
  device.write(packet(7))
  host.flush()
  assert.ok(kept !== undefined && kept.every((x) => x === 0), 'the view was wiped after the callback')
})

test('immediate delivery arrives asynchronously; stop() holds packets until start()', async () => {
  const {device, host} = createTunChannelPair()
  const got = collector()
  host.start(got.onBatch)
  device.write(packet(1))
  assert.deepEqual(got.seqs, [], 'not synchronous')
  await new Promise((r) => setImmediate(r))
  assert.deepEqual(got.seqs, [1])
  host.stop()
  device.write(packet(2))
  await new Promise((r) => setImmediate(r))
  assert.deepEqual(got.seqs, [1])
  assert.equal(host.pending(), 1)
  host.start(got.onBatch)
  await new Promise((r) => setImmediate(r))
  assert.deepEqual(got.seqs, [1, 2])
  host.close()
  assert.equal(device.write(packet(3)), false, 'the peer is closed')
})
