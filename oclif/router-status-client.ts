/**
 * Asks a router's control socket for its status (`pqc status`): one request frame, one reply
 * frame, bounded by a timeout. Absent or dead sockets are "not running", not errors.
 */
import net from 'node:net'

import {FrameDecoder, encodeFrame} from '../src/ipc/frame.js'
import {decodeMessage, type RouterStatusBody} from '../src/ipc/messages.js'

export const STATUS_TIMEOUT_MS = 2000

export function queryRouterStatus(path: string): Promise<RouterStatusBody | undefined> {
  return new Promise((resolve) => {
    const sock = net.connect(path)
    const dec = new FrameDecoder()
    const done = (v: RouterStatusBody | undefined): void => {
      clearTimeout(timer)
      sock.destroy()
      resolve(v)
    }
    const timer = setTimeout(() => done(undefined), STATUS_TIMEOUT_MS)
    sock.on('error', () => done(undefined))
    sock.on('connect', () => sock.write(encodeFrame({type: 'router-status-request', id: 1})))
    sock.on('data', (chunk: Buffer) => {
      const r = dec.push(chunk)
      if (!r.ok) return done(undefined)
      for (const v of r.values) {
        const m = decodeMessage(v)
        if (m?.type === 'router-status' && m.id === 1) return done(m.status)
      }
    })
  })
}
