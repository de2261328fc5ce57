/**
 * A load bench for the server's handshake pipeline on a VirtualClock (security-tests.md H-2): the
 * real HandshakePipeline, real X25519/AEAD/sntrup761, and a McEliece double whose decapsulation
 * takes T_DEC_S of virtual time (measured: ~70 ms on the CI machine), so "capacity" is
 * HANDSHAKE_CONCURRENCY / T_DEC_S handshakes per virtual second however slow the machine is. Like
 * the real adapter, a ciphertext with nonzero padding bits is rejected at once (implicit rejection).
 */
import {randomBytes} from 'node:crypto'
import {setImmediate as realImmediate} from 'node:timers/promises'

import {HANDSHAKE_CONCURRENCY, INITIATION_BYTES, MCELIECE_CT_BYTES, MCELIECE_CT_PADDING_MASK} from '../../../src/constants.js'
import {shake256} from '../../../src/crypto/hash.js'
import type {Kem} from '../../../src/crypto/interfaces.js'
import {systemRng} from '../../../src/crypto/rng.js'
import {sntrup761} from '../../../src/crypto/sntrup.js'
import {x25519Keypair} from '../../../src/crypto/x25519.js'
import type {HandshakeCrypto} from '../../../src/handshake/crypto.js'
import {defaultHandshakeCrypto} from '../../../src/handshake/default-crypto.js'
import {createInitiation} from '../../../src/handshake/initiator.js'
import type {EphemeralKeySet} from '../../../src/keyserver/ephemeral-store.js'
import {HandshakePipeline, type HandshakeSource} from '../../../router/server/handshakes.js'
import {InFlight} from '../../helpers/router-pair.js'
import {VirtualClock} from '../../helpers/virtual-clock.js'

/** Virtual cost of one McEliece decapsulation (measured 69.9 ms per call on the CI machine). */
export const T_DEC_S = 0.07
/** Handshakes per virtual second the server can complete. */
export const CAPACITY_PER_S = HANDSHAKE_CONCURRENCY / T_DEC_S

export const source = (ip: string, port: number): HandshakeSource =>
  ({address: Uint8Array.from(ip.split('.').map(Number)), port, key: ip})

export class HandshakeBench {
  readonly clock = new VirtualClock()
  readonly tracker = new InFlight()
  /** Decapsulations that cost virtual time (padding bits valid). */
  decaps = 0
  maxInFlight = 0
  readonly pipeline: HandshakePipeline
  readonly #mcSk = randomBytes(32)
  readonly #staticX = x25519Keypair(systemRng)
  readonly #ephemeral: EphemeralKeySet[] = []
  readonly #crypto: HandshakeCrypto
  /** tid (hex) -> callback when the server creates that session. */
  readonly #waiting = new Map<string, () => void>()
  sessions = 0

  private constructor() {
    const base = defaultHandshakeCrypto(systemRng)
    this.#crypto = {...base, skem: this.#virtualMcEliece(), ekem: {...sntrup761,
      encapsulate: (pk) => this.tracker.track(sntrup761.encapsulate(pk)),
      decapsulate: (ct, sk) => this.tracker.track(sntrup761.decapsulate(ct, sk))}}
    this.pipeline = new HandshakePipeline({
      crypto: this.#crypto,
      keys: {mcelieceSecret: this.#mcSk, x25519Secret: this.#staticX.secretKey},
      ephemeral: () => this.#ephemeral,
      mono: () => this.clock.mono(),
      wall: () => this.clock.wall(),
      hasTid: () => false,
      onSession: (secrets) => {
        this.sessions++
        this.#waiting.get(Buffer.from(secrets.tid).toString('hex'))?.()
      },
    })
  }

  static async create(): Promise<HandshakeBench> {
    const b = new HandshakeBench()
    const sn = await sntrup761.keypair()
    const ex = x25519Keypair(systemRng)
    b.#ephemeral.push({sntrupPublic: sn.publicKey, sntrupSecret: sn.secretKey, x25519Public: ex.publicKey, x25519Secret: ex.secretKey})
    return b
  }

  #virtualMcEliece(): Kem {
    return {
      name: 'mceliece6960119 (virtual time)', publicKeyBytes: 32, secretKeyBytes: 32, ciphertextBytes: MCELIECE_CT_BYTES,
      keypair: () => Promise.reject(new Error('not used')),
      encapsulate: (pk) => {
        const ct = randomBytes(MCELIECE_CT_BYTES)
        ct[MCELIECE_CT_BYTES - 1]! &= ~MCELIECE_CT_PADDING_MASK & 0xff
        return Promise.resolve({ciphertext: ct, key: shake256(pk, ct)})
      },
      decapsulate: (ct, sk) => {
        if ((ct[MCELIECE_CT_BYTES - 1]! & MCELIECE_CT_PADDING_MASK) !== 0) return Promise.resolve(randomBytes(32))
        this.decaps++
        const key = shake256(sk, ct)
        return new Promise((resolve) => this.clock.setTimeout(() => resolve(key), T_DEC_S * 1000))
      },
    }
  }

  /** A genuine initiation to this server (and the tid its session will have). */
  async initiation(): Promise<{message: Buffer; tidHex: string}> {
    const e = this.#ephemeral[0]!
    const init = await this.tracker.track(createInitiation(this.#crypto, {
      prekey: await this.#crypto.skem.encapsulate(this.#mcSk), staticX25519: this.#staticX.publicKey,
      ephemeralSntrup: e.sntrupPublic, ephemeralX25519: e.x25519Public,
    }))
    return {message: init.message, tidHex: Buffer.from(init.secrets.tid).toString('hex')}
  }

  /** Calls `fn` when the session of `tidHex` is created. */
  onSession(tidHex: string, fn: (() => void) | undefined): void {
    if (fn === undefined) this.#waiting.delete(tidHex)
    else this.#waiting.set(tidHex, fn)
  }

  offer(message: Uint8Array, from: HandshakeSource): void {
    this.pipeline.offer(message, from)
    this.maxInFlight = Math.max(this.maxInFlight, this.pipeline.inFlight)
  }

  /** Garbage of the right length and type; `validPadding` makes it pass any cheap check. */
  static garbage(validPadding: boolean): Buffer {
    const m = randomBytes(INITIATION_BYTES)
    m[0] = 0x01
    m[1] = 0x00
    if (validPadding) m[2 + MCELIECE_CT_BYTES - 1]! &= ~MCELIECE_CT_PADDING_MASK & 0xff
    return m
  }

  /** Runs every timer up to `untilS`, letting real work finish at each instant. */
  async runUntil(untilS: number): Promise<void> {
    await this.#settle()
    while (this.clock.jumpToNextDue(untilS)) await this.#settle()
    this.clock.setNow(untilS)
    await this.#settle()
  }

  async #settle(): Promise<void> {
    for (;;) {
      await realImmediate()
      if (this.tracker.count > 0) {
        await this.tracker.idle()
        continue
      }
      if (this.clock.runDue() === 0) {
        await realImmediate()
        if (this.tracker.count === 0 && this.clock.runDue() === 0) return
      }
    }
  }
}
