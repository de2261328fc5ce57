/**
 * The listeners: one UDP socket and one TCP server on the configured address (default
 * 127.0.0.53:53), bound here or handed over already bound by the root monitor (`fds`: port 53
 * needs privilege the resolver worker does not have). Bytes in, the pipeline's bytes out; socket
 * errors are swallowed, never fatal.
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

/** Descriptors of a bound UDP socket and a listening TCP socket, inherited from the monitor. */
export interface ListenFds {
  udp: number
  tcp: number
}

export async function listen(at: HostPort, handle: Handler, counters: Counters, fds?: ListenFds): Promise<Listeners> {
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
    const bound = (): void => {
      udp.off('error', reject)
      resolve()
    }
    if (fds === undefined) udp.bind(at.port, at.host, bound)
    else udp.bind({fd: fds.udp}, bound)
  })
  udp.on('error', () => undefined)
  const {server: tcp, destroyAll} = createTcpServer(handle, counters)
  // Same port as UDP (matters when the configured port is 0 in tests).
  const udpPort = udp.address().port
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject)
    const listening = (): void => {
      tcp.off('error', reject)
      resolve()
    }
    if (fds === undefined) tcp.listen(udpPort, at.host, listening)
    else tcp.listen({fd: fds.tcp}, listening)
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
