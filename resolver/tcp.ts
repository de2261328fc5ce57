/**
 * Client TCP for the proxy (RFC 7766; dns-anchors.md row 1): 2-byte length framing, pipelined
 * queries answered out of order as they complete, an idle timeout, a cap on connections and on
 * queries in progress per connection (reading pauses above it).
 */
import net from 'node:net'

import {
  DNS_TCP_MAX_BYTES, RESOLVER_TCP_IDLE_TIMEOUT_MS, RESOLVER_TCP_MAX_CONNECTIONS, RESOLVER_TCP_MAX_PENDING_PER_CONN,
} from '../src/constants.js'
import type {Counters} from './counters.js'

/** The pipeline: a reply now (cache hit), later (promise), or none (undefined: drop). */
export type Handler = (bytes: Uint8Array, transport: 'udp' | 'tcp') => Uint8Array | undefined | Promise<Uint8Array | undefined>

export function serveConnection(sock: net.Socket, handle: Handler): void {
  let buf: Buffer = Buffer.alloc(0)
  let pending = 0
  let paused = false
  sock.setNoDelay(true)
  sock.setTimeout(RESOLVER_TCP_IDLE_TIMEOUT_MS)
  sock.on('timeout', () => {
    if (pending === 0) sock.destroy()
  })
  sock.on('error', () => undefined)
  const answer = (query: Uint8Array): void => {
    pending++
    if (pending >= RESOLVER_TCP_MAX_PENDING_PER_CONN && !paused) {
      paused = true
      sock.pause()
    }
    void Promise.resolve(handle(query, 'tcp')).then((out) => {
      pending--
      if (out !== undefined && out.length <= DNS_TCP_MAX_BYTES && !sock.destroyed) {
        const frame = Buffer.allocUnsafe(2 + out.length)
        frame.writeUInt16BE(out.length, 0)
        frame.set(out, 2)
        sock.write(frame)
      }
      if (paused && pending < RESOLVER_TCP_MAX_PENDING_PER_CONN) {
        paused = false
        sock.resume()
      }
    })
  }
  sock.on('data', (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk])
    let o = 0
    while (buf.length - o >= 2) {
      const len = buf.readUInt16BE(o)
      if (buf.length - o - 2 < len) break
      answer(new Uint8Array(buf.subarray(o + 2, o + 2 + len)))
      o += 2 + len
    }
    buf = o === 0 ? buf : buf.subarray(o)
  })
}

export function createTcpServer(handle: Handler, counters: Counters): {server: net.Server; destroyAll: () => void} {
  const open = new Set<net.Socket>()
  const server = net.createServer((sock) => {
    if (open.size >= RESOLVER_TCP_MAX_CONNECTIONS) {
      counters.tcpRejected++
      sock.destroy()
      return
    }
    open.add(sock)
    counters.tcpConnections++
    sock.on('close', () => open.delete(sock))
    serveConnection(sock, handle)
  })
  server.on('error', () => undefined)
  return {server, destroyAll: () => {
    for (const s of open) s.destroy()
  }}
}
