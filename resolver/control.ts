/**
 * The resolver's local control socket (dns-anchors.md row 16): a Unix socket where the CLI asks
 * for the status (counters, upstream health, servers seen) with src/ipc frames. Bounded number
 * of connections; malformed frames close the connection.
 */
import {existsSync, unlinkSync} from 'node:fs'
import net from 'node:net'

import {FrameDecoder, encodeFrame} from '../src/ipc/frame.js'
import {type ResolverStatus, decodeMessage} from '../src/ipc/messages.js'

const CONTROL_MAX_CONNECTIONS = 16

export async function serveControl(path: string, status: () => ResolverStatus): Promise<{close(): void}> {
  if (existsSync(path)) unlinkSync(path) // a stale socket of a previous run
  let open = 0
  const server = net.createServer((sock) => {
    if (open >= CONTROL_MAX_CONNECTIONS) return void sock.destroy()
    open++
    sock.on('close', () => open--)
    sock.on('error', () => undefined)
    const dec = new FrameDecoder()
    sock.on('data', (chunk: Buffer) => {
      const r = dec.push(chunk)
      if (!r.ok) return void sock.destroy()
      for (const v of r.values) {
        const m = decodeMessage(v)
        if (m?.type !== 'status-request') return void sock.destroy()
        sock.write(encodeFrame({type: 'status', id: m.id, status: status()}))
      }
    })
  })
  server.on('error', () => undefined)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(path, () => resolve())
  })
  return {close: () => {
    server.close()
    try {
      unlinkSync(path)
    } catch {
      // already gone
    }
  }}
}

/** Client side, used by `pqc servers list/show`: one status request, with a timeout. */
export function requestStatus(path: string, timeoutMs = 2000): Promise<ResolverStatus> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(path)
    const dec = new FrameDecoder()
    const timer = setTimeout(() => {
      sock.destroy()
      reject(new Error('the resolver did not answer'))
    }, timeoutMs)
    sock.on('connect', () => sock.write(encodeFrame({type: 'status-request', id: 1})))
    sock.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    sock.on('data', (chunk: Buffer) => {
      const r = dec.push(chunk)
      const m = r.ok ? r.values.map(decodeMessage).find((x) => x?.type === 'status') : undefined
      if (!r.ok || (r.values.length > 0 && m === undefined)) {
        clearTimeout(timer)
        sock.destroy()
        return reject(new Error('malformed status from the resolver'))
      }
      if (m?.type === 'status') {
        clearTimeout(timer)
        sock.end()
        resolve(m.status)
      }
    })
  })
}
