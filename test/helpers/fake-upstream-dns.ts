/**
 * A scripted upstream DNS server on 127.0.0.1 (UDP, and TCP when asked) for the resolver tests:
 * each query is decoded with dns-packet and given to a handler, which returns a packet to encode,
 * raw bytes (garbage, spoofed replies), a list of them, or nothing (a silent server).
 */
import dgram from 'node:dgram'
import net from 'node:net'

import dnsPacket from 'dns-packet'

export type FakeReply = dnsPacket.Packet | Uint8Array | undefined
export type FakeHandler = (q: dnsPacket.DecodedPacket, transport: 'udp' | 'tcp') => FakeReply | FakeReply[]

export interface FakeUpstream {
  port: number
  queries: dnsPacket.DecodedPacket[]
  close(): Promise<void>
}

const toBytes = (r: dnsPacket.Packet | Uint8Array): Uint8Array => (r instanceof Uint8Array ? r : dnsPacket.encode(r))

export async function startFakeUpstream(handler: FakeHandler, withTcp = false): Promise<FakeUpstream> {
  const queries: dnsPacket.DecodedPacket[] = []
  const udp = dgram.createSocket('udp4')
  udp.on('message', (bytes, rinfo) => {
    let q: dnsPacket.DecodedPacket
    try {
      q = dnsPacket.decode(bytes)
    } catch {
      return
    }
    queries.push(q)
    const r = handler(q, 'udp')
    for (const one of Array.isArray(r) ? r : [r]) if (one !== undefined) udp.send(toBytes(one), rinfo.port, rinfo.address)
  })
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', () => resolve()))
  const port = udp.address().port
  let tcp: net.Server | undefined
  if (withTcp) {
    tcp = net.createServer((s) => {
      s.on('error', () => undefined)
      s.on('data', (d: Buffer) => {
        if (d.length < 2) return
        const q = dnsPacket.decode(d.subarray(2))
        queries.push(q)
        const r = handler(q, 'tcp')
        for (const one of Array.isArray(r) ? r : [r]) {
          if (one === undefined) continue
          const b = toBytes(one)
          s.write(Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]))
        }
      })
    })
    await new Promise<void>((resolve) => tcp!.listen(port, '127.0.0.1', () => resolve()))
  }
  return {
    port, queries,
    close: () => new Promise<void>((resolve) => {
      udp.close()
      if (tcp === undefined) resolve()
      else tcp.close(() => resolve())
    }),
  }
}

/** A reply to `q` with the given answers (and flags), echoing its ID and question. */
export function answer(q: dnsPacket.DecodedPacket, answers: dnsPacket.Answer[], extra: Partial<dnsPacket.Packet> = {}): dnsPacket.Packet {
  return {
    id: q.id, type: 'response', flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: q.questions, answers, ...extra,
  }
}
