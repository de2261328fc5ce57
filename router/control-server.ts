/**
 * A router's control socket (architecture.md section 3): a Unix socket (mode 0600) carrying src/ipc
 * frames. On the client the resolver announces servers and gets their internal addresses; on both
 * sides `pqc status` asks for the router's status. Anything malformed closes that connection.
 * Bounded: at most CONTROL_MAX_CLIENTS connections at once.
 */
import {chmodSync, existsSync, mkdirSync, unlinkSync} from 'node:fs'
import net from 'node:net'
import {dirname} from 'node:path'

import {FrameDecoder, encodeFrame} from '../src/ipc/frame.js'
import {decodeMessage, type IpcMessage, type RouterStatusBody} from '../src/ipc/messages.js'
import type {Announcement} from './client/client-router.js'
import type {Logger} from './log.js'

export const CONTROL_MAX_CLIENTS = 8

export interface ControlHandlers {
  /** Client only: a server was announced; the internal address, or undefined to refuse. */
  announce?: (a: Announcement) => string | undefined
  status: () => RouterStatusBody
}

export class ControlServer {
  readonly #server: net.Server
  readonly #path: string

  private constructor(server: net.Server, path: string) {
    this.#server = server
    this.#path = path
  }

  static async listen(path: string, handlers: ControlHandlers, log: Logger): Promise<ControlServer> {
    mkdirSync(dirname(path), {recursive: true, mode: 0o755})
    if (existsSync(path)) unlinkSync(path) // a stale socket from a crash; we own this path
    const server = net.createServer((sock) => {
      const dec = new FrameDecoder()
      const reply = (m: IpcMessage): void => void sock.write(encodeFrame(m))
      sock.on('error', () => sock.destroy())
      sock.on('data', (chunk: Buffer) => {
        const r = dec.push(chunk)
        if (!r.ok) return void sock.destroy()
        for (const v of r.values) {
          const m = decodeMessage(v)
          if (m === undefined) {
            log.limited('control-bad', 'control: malformed message; connection closed')
            return void sock.destroy()
          }
          if (m.type === 'router-status-request') {
            reply({type: 'router-status', id: m.id, status: handlers.status()})
            continue
          }
          if (m.type !== 'peer-announced') continue
          if (handlers.announce === undefined) {
            reply({type: 'peer-refused', id: m.id, reason: 'not a client router'})
            continue
          }
          const addr = handlers.announce({name: m.name, keyHashHex: m.keyHash, realAddrs: m.realAddrs, pqcPort: m.pqcPort, keyPort: m.keyPort})
          reply(addr === undefined ? {type: 'peer-refused', id: m.id, reason: 'no IPv4 address for the server'} : {type: 'peer-address', id: m.id, internalAddr: addr})
        }
      })
    })
    server.maxConnections = CONTROL_MAX_CLIENTS
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(path, () => resolve())
    })
    chmodSync(path, 0o600)
    return new ControlServer(server, path)
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
    try {
      unlinkSync(this.#path)
    } catch {
      // already gone
    }
  }
}
