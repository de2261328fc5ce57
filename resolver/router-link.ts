/**
 * The resolver's end of the control channel to the router (architecture.md section 3): a Unix
 * socket carrying src/ipc frames. Reconnects while configured; requests time out after
 * ROUTER_REPLY_TIMEOUT_MS and are bounded by ROUTER_MAX_PENDING. A malformed frame closes the
 * connection (the router is local, but its bytes are still validated).
 */
import net from 'node:net'

import {ROUTER_MAX_PENDING, ROUTER_REPLY_TIMEOUT_MS} from '../src/constants.js'
import {FrameDecoder, encodeFrame} from '../src/ipc/frame.js'
import {type PeerAnnounced, type PeerGone, decodeMessage} from '../src/ipc/messages.js'

/** Retry interval while the router's socket is absent (it starts beside us, or restarts). */
const RECONNECT_MS = 250

export type RouterReply = {kind: 'address'; internalAddr: string} | {kind: 'refused'} | {kind: 'unavailable'}

export class RouterLink {
  readonly #path: string
  readonly #onGone: (m: PeerGone) => void
  readonly #onConnect: () => void
  #sock: net.Socket | undefined
  #connected = false
  #closed = false
  #nextId = 1
  readonly #pending = new Map<number, {resolve: (r: RouterReply) => void; timer: NodeJS.Timeout}>()
  #retry: NodeJS.Timeout | undefined
  readonly #connectWaiters = new Set<() => void>()

  /** onConnect: after every (re)connection, e.g. to tell a restarted router the servers it lost. */
  constructor(path: string, onGone: (m: PeerGone) => void, onConnect: () => void = () => undefined) {
    this.#path = path
    this.#onGone = onGone
    this.#onConnect = onConnect
    this.#connect()
  }

  get connected(): boolean {
    return this.#connected
  }

  #connect(): void {
    if (this.#closed) return
    const sock = net.connect(this.#path)
    const dec = new FrameDecoder()
    this.#sock = sock
    sock.on('connect', () => {
      this.#connected = true
      for (const w of this.#connectWaiters) w()
      this.#connectWaiters.clear()
      this.#onConnect()
    })
    sock.on('data', (chunk: Buffer) => {
      const r = dec.push(chunk)
      if (!r.ok) return void sock.destroy()
      for (const v of r.values) {
        const m = decodeMessage(v)
        if (m === undefined) return void sock.destroy()
        if (m.type === 'peer-gone') this.#onGone(m)
        else if (m.type === 'peer-address' || m.type === 'peer-refused') {
          const p = this.#pending.get(m.id)
          if (p === undefined) continue
          this.#pending.delete(m.id)
          clearTimeout(p.timer)
          p.resolve(m.type === 'peer-address' ? {kind: 'address', internalAddr: m.internalAddr} : {kind: 'refused'})
        }
      }
    })
    sock.on('error', () => undefined)
    sock.on('close', () => {
      this.#connected = false
      this.#sock = undefined
      for (const [id, p] of this.#pending) {
        clearTimeout(p.timer)
        p.resolve({kind: 'unavailable'})
        this.#pending.delete(id)
      }
      if (!this.#closed) this.#retry = setTimeout(() => this.#connect(), RECONNECT_MS)
    })
  }

  /** Resolves true once connected, or false after `timeoutMs` (bounded: ROUTER_MAX_PENDING waiters). */
  waitConnected(timeoutMs: number): Promise<boolean> {
    if (this.#connected) return Promise.resolve(true)
    if (this.#closed || this.#connectWaiters.size >= ROUTER_MAX_PENDING) return Promise.resolve(false)
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        resolve(true)
      }
      const timer = setTimeout(() => {
        this.#connectWaiters.delete(done)
        resolve(false)
      }, timeoutMs)
      this.#connectWaiters.add(done)
    })
  }

  announce(m: Omit<PeerAnnounced, 'type' | 'id'>): Promise<RouterReply> {
    const sock = this.#sock
    if (!this.#connected || sock === undefined || this.#pending.size >= ROUTER_MAX_PENDING) {
      return Promise.resolve({kind: 'unavailable'})
    }
    const id = this.#nextId
    this.#nextId = (this.#nextId + 1) >>> 0
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        resolve({kind: 'unavailable'})
      }, ROUTER_REPLY_TIMEOUT_MS)
      this.#pending.set(id, {resolve, timer})
      sock.write(encodeFrame({type: 'peer-announced', id, ...m}))
    })
  }

  close(): void {
    this.#closed = true
    clearTimeout(this.#retry)
    this.#sock?.destroy()
  }
}
