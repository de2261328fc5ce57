/**
 * The client's conversations with a server's key port (pq1-protocol.md sections 5.4 and 5.5):
 * the paced, verified static-key download and the ephemeral-key request, each with a deadline
 * (the download also ends after KEY_FETCH_STALL_S without progress), and the slots that bound how
 * many downloads run at once (an attacker's pq1 answers must not start thousands, A-3).
 * Datagrams go out through `send` and come back through `deliver` (the router routes key-server
 * responses from exactly that server address and port here, so off-path injection needs spoofing).
 */
import {
  EPHEMERAL_FETCH_TIMEOUT_S, EPHEMERAL_FETCH_TRIES, KEY_FETCH_MAX_CONCURRENT, KEY_FETCH_MAX_WAITING, KEY_FETCH_STALL_S,
} from '../../src/constants.js'
import {StaticKeyFetch} from '../../src/keyfetch/static-fetch.js'
import type {StaticPublicKey} from '../../src/keys/merkle-assembler.js'
import {decodeEphemeralResponse, encodeEphemeralRequest, type EphemeralPublicKeys} from '../../src/wire/keyserver.js'
import {systemTimers, type Clock, type TimerHandle, type Timers} from '../clock.js'

export interface KeyChannel {
  send(datagram: Uint8Array): void
  /** Datagrams given to send() may wait for this (one sendBatch for a step's requests). */
  flush?(): void
  /** Install the receiver of datagrams from the key port (replacing any earlier one). */
  listen(onDatagram: ((d: Uint8Array) => void) | undefined): void
}

export class FetchError extends Error {}

/**
 * Bounds concurrent static-key downloads: KEY_FETCH_MAX_CONCURRENT run, up to KEY_FETCH_MAX_WAITING
 * wait (newest served first: most likely what a user just asked for); beyond that the oldest
 * waiting download fails at once with a FetchError.
 */
export class FetchSlots {
  active = 0
  maxActive = 0
  /** Waiting downloads failed because too many waited. */
  refused = 0
  readonly #waiting: Array<{resolve: (release: () => void) => void; reject: (e: Error) => void}> = []

  constructor(readonly max = KEY_FETCH_MAX_CONCURRENT, readonly maxWaiting = KEY_FETCH_MAX_WAITING) {}

  get waiting(): number {
    return this.#waiting.length
  }

  /** Resolves with the release function once a slot is ours. */
  acquire(): Promise<() => void> {
    if (this.active < this.max) return Promise.resolve(this.#grant())
    if (this.#waiting.length >= this.maxWaiting) {
      this.refused++
      this.#waiting.shift()!.reject(new FetchError(`more than ${this.maxWaiting} key downloads waiting; the oldest gave way`))
    }
    return new Promise((resolve, reject) => this.#waiting.push({resolve, reject}))
  }

  #grant(): () => void {
    this.active++
    this.maxActive = Math.max(this.maxActive, this.active)
    let released = false
    return () => {
      if (released) return
      released = true
      this.active--
      this.#waiting.pop()?.resolve(this.#grant())
    }
  }
}

export function downloadStaticKey(ch: KeyChannel, root: Uint8Array, clock: Clock, deadlineS?: number,
  timers: Timers = systemTimers, stallS = KEY_FETCH_STALL_S): Promise<{key: StaticPublicKey; requests: number; seconds: number}> {
  const fetch = new StaticKeyFetch(root, clock.mono(), deadlineS)
  let progressAt = clock.mono()
  return new Promise((resolve, reject) => {
    let timer: TimerHandle | undefined
    let finished = false
    const step = (): void => {
      // Several answers may each have scheduled a step; after the end they must do nothing (the
      // channel may already carry the next conversation).
      if (finished) return
      if (timer !== undefined) timers.clearTimeout(timer)
      timer = undefined
      const r = fetch.poll(clock.mono())
      if (r.kind === 'done') {
        finished = true
        ch.listen(undefined)
        // Copy out of the assembler: the key outlives the download.
        resolve({key: {mceliecePk: Buffer.from(r.key.mceliecePk), x25519Pk: Buffer.from(r.key.x25519Pk)}, requests: r.requests, seconds: r.elapsedS})
        return
      }
      const stalled = clock.mono() - progressAt >= stallS
      if (r.kind === 'failed' || stalled) {
        finished = true
        ch.listen(undefined)
        reject(new FetchError(stalled
          ? `static key download: no verified answer for ${stallS} s (${fetch.requestsSent} requests sent)`
          : `static key download: no complete answer within the deadline (${fetch.requestsSent} requests sent)`))
        return
      }
      for (const d of r.datagrams) ch.send(d)
      ch.flush?.()
      const stallInS = progressAt + stallS - clock.mono()
      timer = timers.setTimeout(step, Math.max(1, Math.ceil(Math.min(r.wakeInS, stallInS) * 1000)))
    }
    // One step for all the answers of an event loop turn (a recvmmsg batch holds up to 64).
    let stepQueued = false
    ch.listen((d) => {
      if (!fetch.onDatagram(d, clock.mono())) return
      progressAt = clock.mono()
      if (stepQueued) return
      stepQueued = true
      timers.setImmediate(() => {
        stepQueued = false
        step()
      })
    })
    step()
  })
}

export function fetchEphemeralKeys(ch: KeyChannel, tries = EPHEMERAL_FETCH_TRIES, timeoutS = EPHEMERAL_FETCH_TIMEOUT_S,
  timers: Timers = systemTimers): Promise<EphemeralPublicKeys> {
  const request = encodeEphemeralRequest()
  return new Promise((resolve, reject) => {
    let left = tries
    let timer: TimerHandle | undefined
    const attempt = (): void => {
      if (left-- === 0) {
        ch.listen(undefined)
        reject(new FetchError(`ephemeral key request: no answer after ${tries} tries`))
        return
      }
      ch.send(request)
      ch.flush?.()
      timer = timers.setTimeout(attempt, timeoutS * 1000)
    }
    ch.listen((d) => {
      const keys = decodeEphemeralResponse(d)
      if (keys === undefined) return
      timers.clearTimeout(timer)
      ch.listen(undefined)
      resolve({sntrupPublic: Buffer.from(keys.sntrupPublic), x25519Public: Buffer.from(keys.x25519Public)})
    })
    attempt()
  })
}
