/**
 * The listeners: one UDP socket and one TCP server on the configured address (default
 * 127.0.0.53:53). Bytes in, the pipeline's bytes out; socket errors are swallowed, never fatal.
 */
import dgram from 'node:dgram'
import net from 'node:net'

import {type HostPort, literalLookup} from './config.js'
import type {Counters} from './counters.js'
import {type Handler, createTcpServer} from './tcp.js'

export interface Listeners {
  udpPort: number
  tcpPort: number
  close(): Promise<void>
}

export async function listen(at: HostPort, handle: Handler, counters: Counters): Promise<Listeners> {
  const udp = dgram.createSocket({type: net.isIP(at.host) === 6 ? 'udp6' : 'udp4', lookup: literalLookup})
  udp.on('message', (bytes, rinfo) => {
    // No send callback: node then sends synchronously (uv_udp_try_send) with no request object
    // or completion callback; a failed send is an 'error' event, swallowed below.
    const out = handle(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), 'udp')
    if (out instanceof Promise) {
      void out.then((o) => {
        if (o !== undefined) udp.send(o, rinfo.port, rinfo.address)
      })
    } else if (out !== undefined) {
      udp.send(out, rinfo.port, rinfo.address)
    }
  })
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject)
    udp.bind(at.port, at.host, () => {
      udp.off('error', reject)
      resolve()
    })
  })
  udp.on('error', () => undefined)
  const {server: tcp, destroyAll} = createTcpServer(handle, counters)
  // Same port as UDP (matters when the configured port is 0 in tests).
  const udpPort = udp.address().port
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject)
    tcp.listen(udpPort, at.host, () => {
      tcp.off('error', reject)
      resolve()
    })
  }).catch((err: unknown) => {
    udp.close()
    throw err
  })
  return {
    udpPort,
    tcpPort: (tcp.address() as net.AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      udp.close()
      tcp.close(() => resolve())
      destroyAll()
    }),
  }
}
