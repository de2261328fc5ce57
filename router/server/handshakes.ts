/**
 * The server's handshake pipeline (pq1-protocol.md section 6.4, fixing section 14 items 4 and 5):
 * cheap admission (shape, McEliece padding bits, replay cache), per-source rate limit, then a
 * bounded queue fair between sources that prefers returning ones (src/handshake/fair-queue.ts,
 * security-tests.md H-2), then at most HANDSHAKE_CONCURRENCY McEliece
 * decapsulations at once (each ~70 ms, off the event loop in the native library), exactly one per
 * initiation, then the ephemeral keys tried newest first, then the replay cache (keyed by c0, held
 * for the whole life of the ephemeral keys) and a duplicate-tid check. Overload drops; nothing
 * here ever answers the sender.
 */
import {
  HANDSHAKE_BURST, HANDSHAKE_CONCURRENCY, HANDSHAKE_QUEUE_MAX, HANDSHAKE_RATE_PER_S,
} from '../../src/constants.js'
import type {HandshakeCrypto, SessionSecrets} from '../../src/handshake/crypto.js'
import {plausibleInitiation, ReturningSources} from '../../src/handshake/admission.js'
import {HandshakeQueue} from '../../src/handshake/fair-queue.js'
import {RateLimiter} from '../../src/handshake/rate-limit.js'
import {ReplayCache} from '../../src/handshake/replay-cache.js'
import {consumeInitiationEphemeral, consumeInitiationStatic, type ServerStaticKeys} from '../../src/handshake/responder.js'
import type {EphemeralKeySet} from '../../src/keyserver/ephemeral-store.js'

export interface HandshakeSource {
  address: Uint8Array
  port: number
  /** Text form, for rate limiting and logs. */
  key: string
}

export interface HandshakeCounters {
  received: number
  rateLimited: number
  queueFull: number
  failed: number
  replays: number
  duplicateTid: number
  succeeded: number
}

/** Drops before the queue that HandshakeCounters (a stable status shape) does not show. */
export interface AdmissionCounters {
  /** Not an initiation whatever the keys (length, type, McEliece padding bits): no work done. */
  malformed: number
  /** Queued longer than HANDSHAKE_QUEUE_MAX_AGE_S: discarded, its client has retried. */
  stale: number
  /** Queued from a source that completed a handshake before (served first). */
  returning: number
}

interface Job {
  message: Buffer
  source: HandshakeSource
}

export class HandshakePipeline {
  readonly counters: HandshakeCounters = {received: 0, rateLimited: 0, queueFull: 0, failed: 0, replays: 0, duplicateTid: 0, succeeded: 0}
  readonly admission: AdmissionCounters = {malformed: 0, stale: 0, returning: 0}
  readonly #queue: HandshakeQueue<Job>
  readonly #returning = new ReturningSources()
  #running = 0
  readonly #limiter = new RateLimiter({ratePerS: HANDSHAKE_RATE_PER_S, burst: HANDSHAKE_BURST})
  readonly #replay = new ReplayCache()

  constructor(private readonly opts: {
    crypto: HandshakeCrypto
    keys: ServerStaticKeys
    ephemeral: (wallNow: number) => EphemeralKeySet[]
    mono: () => number
    wall: () => number
    hasTid: (tid: Uint8Array) => boolean
    onSession: (secrets: SessionSecrets, source: HandshakeSource) => void
    concurrency?: number
    queueMax?: number
  }) {
    this.#queue = new HandshakeQueue<Job>(opts.queueMax ?? HANDSHAKE_QUEUE_MAX)
  }

  get queued(): number {
    return this.#queue.size
  }

  /** Initiations queued or being processed. */
  get inFlight(): number {
    return this.#queue.size + this.#running
  }

  /** Offer a datagram that looks like an initiation (type 01 00). */
  offer(message: Uint8Array, source: HandshakeSource): void {
    this.counters.received++
    const now = this.opts.mono()
    // Checks that cost no decapsulation come first, and spend none of the source's tokens.
    if (!plausibleInitiation(message)) {
      this.admission.malformed++
      return
    }
    if (this.#replay.has(message.subarray(2, 196), now)) {
      this.counters.replays++
      return
    }
    if (!this.#limiter.allow(source.key, now)) {
      this.counters.rateLimited++
      return
    }
    const returning = this.#returning.has(source.key, now)
    if (returning) this.admission.returning++
    const job = {message: Buffer.from(message), source: {...source, address: Buffer.from(source.address)}}
    this.counters.queueFull += this.#queue.push(source.key, job, returning, now)
    this.#pump()
  }

  #pump(): void {
    while (this.#running < (this.opts.concurrency ?? HANDSHAKE_CONCURRENCY) && this.#queue.size > 0) {
      const job = this.#queue.shift(this.opts.mono(), () => this.admission.stale++)
      if (job === undefined) return
      this.#running++
      void this.#process(job).finally(() => {
        this.#running--
        this.#pump()
      })
    }
  }

  async #process(job: Job): Promise<void> {
    try {
      const c0 = job.message.subarray(2, 196)
      // A replay is refused before the expensive decapsulation.
      if (this.#replay.has(c0, this.opts.mono())) {
        this.counters.replays++
        return
      }
      const partial = await consumeInitiationStatic(this.opts.crypto, this.opts.keys, job.message)
      if (partial === undefined) {
        this.counters.failed++
        return
      }
      const done = await consumeInitiationEphemeral(this.opts.crypto, partial, this.opts.ephemeral(this.opts.wall()))
      if (done === undefined) {
        this.counters.failed++
        return
      }
      // Remember c0 only once it authenticated, atomically with the check (no await in between).
      const verdict = this.#replay.checkAndInsert(c0, this.opts.mono())
      if (verdict !== 'fresh' || this.opts.hasTid(done.secrets.tid)) {
        if (verdict === 'replay') this.counters.replays++
        else this.counters.duplicateTid++
        return
      }
      this.counters.succeeded++
      this.#returning.mark(job.source.key, this.opts.mono())
      this.opts.onSession(done.secrets, job.source)
    } catch {
      this.counters.failed++
    }
  }
}
