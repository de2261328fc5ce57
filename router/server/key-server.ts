/**
 * The key server on the key port (pq1-protocol.md section 5): static Merkle nodes answered only at
 * exactly the request's size, ephemeral public keys of the current 30 s slot answered only to a
 * full 1196-byte request (no amplification, section 5.6), and the rolling store of ephemeral keys
 * kept filled ahead of time (no daily gap, section 14 item 27). Everything else is dropped silently.
 */

import type {Rng} from '../../src/crypto/interfaces.js'
import {sntrup761} from '../../src/crypto/sntrup.js'
import {x25519Keypair} from '../../src/crypto/x25519.js'
import {EphemeralKeyStore} from '../../src/keyserver/ephemeral-store.js'
import type {MerkleTree} from '../../src/keys/merkle.js'
import {answerEphemeralRequest, StaticAnswers} from '../../src/wire/keyserver.js'
import {systemTimers, type Clock, type TimerHandle, type Timers} from '../clock.js'
import type {Logger} from '../log.js'
import {OutBatch} from '../out-batch.js'
import {packetAt} from '../tun/device.js'
import {addressAt} from '../udp/address.js'
import type {UdpBind} from '../udp/bind.js'

/** How often the store is topped up and pruned. */
export const EPHEMERAL_REFILL_INTERVAL_MS = 1000

export interface KeyServerCounters {
  staticAnswered: number
  ephemeralAnswered: number
  dropped: number
  bytesIn: number
  bytesOut: number
}

export class KeyServer {
  readonly store = new EphemeralKeyStore()
  readonly counters: KeyServerCounters = {staticAnswered: 0, ephemeralAnswered: 0, dropped: 0, bytesIn: 0, bytesOut: 0}
  readonly #sock: UdpBind
  readonly #static: StaticAnswers
  /** The answers to one receive batch, sent with one sendBatch (UDP GSO runs to each client). */
  readonly #out: OutBatch
  readonly #clock: Clock
  readonly #rng: Rng
  readonly #log: Logger
  readonly #timers: Timers
  #timer: TimerHandle | undefined

  /** `timers` defaults to Node's; unit tests inject virtual ones matching `clock`. */
  constructor(opts: {sock: UdpBind; tree: MerkleTree; clock: Clock; rng: Rng; log: Logger; timers?: Timers}) {
    this.#sock = opts.sock
    this.#static = new StaticAnswers(opts.tree)
    this.#out = OutBatch.forUdp(opts.sock)
    this.#clock = opts.clock
    this.#rng = opts.rng
    this.#log = opts.log
    this.#timers = opts.timers ?? systemTimers
  }

  async start(): Promise<void> {
    await this.refill()
    this.#timer = this.#timers.setInterval(() => void this.refill(), EPHEMERAL_REFILL_INTERVAL_MS)
    this.#timer.unref()
    this.#sock.start((batch) => {
      for (let i = 0; i < batch.count; i++) {
        const req = packetAt(batch, i)
        this.counters.bytesIn += req.length
        const first = req[0]
        const resp = first === 0xf0 ? this.#static.answer(req)
          : first === 0xf2 ? answerEphemeralRequest(this.store.current(this.#clock.wall()), req) : undefined
        if (resp === undefined || resp.length > req.length) {
          this.counters.dropped++
          continue
        }
        if (first === 0xf0) this.counters.staticAnswered++
        else this.counters.ephemeralAnswered++
        this.counters.bytesOut += resp.length
        this.#out.put(resp, addressAt(batch, i), batch.ports[i]!)
      }
      this.#out.flush()
    })
  }

  /** Generate the missing slots (current first), prune expired ones. */
  async refill(): Promise<void> {
    const now = this.#clock.wall()
    for (const slot of this.store.missing(now)) {
      const sn = await sntrup761.keypair()
      const x = x25519Keypair(this.#rng)
      const added = this.store.add(slot, {
        sntrupPublic: sn.publicKey, sntrupSecret: sn.secretKey, x25519Public: x.publicKey, x25519Secret: x.secretKey,
      }, this.#clock.wall())
      if (added) this.#log.verbose(`ephemeral keys ready for slot ${slot} (${(slot - now).toFixed(0)} s ahead)`)
    }
    this.store.prune(this.#clock.wall())
  }

  close(): void {
    if (this.#timer !== undefined) this.#timers.clearInterval(this.#timer)
    this.#sock.close()
    this.store.destroy()
  }
}

