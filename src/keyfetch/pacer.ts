/**
 * Pacing and congestion control for the static-key download (pq1-protocol.md section 8): the
 * client pulls ~1.1 MB in ~938 request/response pairs from a stateless key server, so the client
 * alone must avoid flooding the path (every request triggers an equally large response).
 * RTT estimation follows RFC 6298 with Karn's rule and exponential RTO back-off; the window grows
 * in slow start until the first loss, then additively, and halves on a timeout (never below
 * MIN_CWND_BYTES); sends are spread over the RTT at PACING_GAIN x window/srtt, in bursts of at most
 * PACING_BURST_BYTES ahead of that schedule. Window sizes match
 * the reference (INITCWND 24576, MINCWND 8192). Time is passed in, in seconds.
 */

export const INIT_CWND_BYTES = 24_576
export const MIN_CWND_BYTES = 8192
export const MAX_CWND_BYTES = 4 * 1024 * 1024
export const INITIAL_RTO_S = 1
export const MIN_RTO_S = 0.2
export const MAX_RTO_S = 120
/** Before the first answer: at most one more request per FIRST_CONTACT_SPACING_S x requests sent. */
export const FIRST_CONTACT_SPACING_S = 0.5
export const PACING_GAIN = 2
/**
 * Sends may run this many bytes ahead of the pacing schedule, as one burst (~14 requests): a timer
 * cannot wake us for the ~5 us gaps of a fast path (Node's timers have 1 ms resolution), so
 * without it every gap rounded up to a 1 ms sleep. Small, so a burst does not overrun a queue.
 */
export const PACING_BURST_BYTES = 65_536
/** IPv4 + UDP header bytes counted with each request (reference HDRLEN). */
export const PACKET_OVERHEAD_BYTES = 28

export interface PacedPacket {
  bytes: number
  sentAt: number
  /** Times this packet has been sent; 0 before the first send. */
  sends: number
  acked: boolean
  /** Counted in bytesInFlight: sent, and neither acknowledged nor declared lost since. */
  inFlight: boolean
}

export class Pacer {
  srtt: number | undefined
  rttvar = 0
  rto = INITIAL_RTO_S
  cwnd = INIT_CWND_BYTES
  ssthresh = Number.POSITIVE_INFINITY
  bytesInFlight = 0
  #lastSend = Number.NEGATIVE_INFINITY
  /** Where the pacing schedule stands: each send moves it by bytes / rate. */
  #paceAt = Number.NEGATIVE_INFINITY
  #sentBeforeFirstAck = 0
  #gotAck = false

  newPacket(bytes: number): PacedPacket {
    return {bytes: bytes + PACKET_OVERHEAD_BYTES, sentAt: 0, sends: 0, acked: false, inFlight: false}
  }

  /** Seconds until a packet of `bytes` may be sent (0: now). */
  whenDecongested(bytes: number, now: number): number {
    const size = bytes + PACKET_OVERHEAD_BYTES
    if (!this.#gotAck) {
      return Math.max(0, this.#lastSend + FIRST_CONTACT_SPACING_S * this.#sentBeforeFirstAck - now)
    }
    if (this.bytesInFlight + size > this.cwnd && this.bytesInFlight > 0) {
      // Window full: the next acknowledgement (or the RTO) opens it.
      return Math.max(0, this.#lastSend + this.rto - now)
    }
    return Math.max(0, this.#paceAt - PACING_BURST_BYTES / this.#rate() - now)
  }

  /** Seconds until `p` must be retransmitted: RTO doubled per earlier send, capped. */
  whenRto(p: PacedPacket, now: number): number {
    const backoff = Math.min(MAX_RTO_S, this.rto * 2 ** Math.max(0, p.sends - 1))
    return Math.max(0, p.sentAt + backoff - now)
  }

  transmitted(p: PacedPacket, now: number): void {
    // A retransmission of a packet not yet declared lost: the earlier copy is presumed lost now.
    if (p.inFlight) this.lost(p, now)
    p.inFlight = true
    p.sends++
    p.sentAt = now
    this.bytesInFlight += p.bytes
    this.#lastSend = now
    this.#paceAt = Math.max(this.#paceAt, now) + p.bytes / this.#rate()
    if (!this.#gotAck) this.#sentBeforeFirstAck++
  }

  /** The sender concluded `p` was lost (timeout or later packets answered): it leaves the window. */
  lost(p: PacedPacket, now: number): void {
    if (!p.inFlight) return
    p.inFlight = false
    this.bytesInFlight = Math.max(0, this.bytesInFlight - p.bytes)
    this.#onLoss(now)
  }

  acknowledged(p: PacedPacket, now: number): void {
    if (p.acked) return
    p.acked = true
    if (p.inFlight) this.bytesInFlight = Math.max(0, this.bytesInFlight - p.bytes)
    p.inFlight = false
    // Karn: only packets sent once give an RTT sample.
    if (p.sends === 1) this.#sample(now - p.sentAt)
    this.#gotAck = true
    if (this.cwnd < this.ssthresh) this.cwnd += p.bytes
    else this.cwnd += (p.bytes * p.bytes) / this.cwnd
    this.cwnd = Math.min(this.cwnd, MAX_CWND_BYTES)
  }

  /** Pacing rate, bytes per second. */
  #rate(): number {
    return (PACING_GAIN * this.cwnd) / (this.srtt ?? INITIAL_RTO_S)
  }

  #sample(rtt: number): void {
    const r = Math.max(rtt, 1e-6)
    if (this.srtt === undefined) {
      this.srtt = r
      this.rttvar = r / 2
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r)
      this.srtt = 0.875 * this.srtt + 0.125 * r
    }
    this.rto = Math.min(MAX_RTO_S, Math.max(MIN_RTO_S, this.srtt + 4 * this.rttvar))
  }

  #lastLossAt = Number.NEGATIVE_INFINITY

  /** One reduction per round trip, however many packets of that round were lost (as TCP does). */
  #onLoss(now: number): void {
    if (now - this.#lastLossAt < (this.srtt ?? INITIAL_RTO_S)) return
    this.#lastLossAt = now
    this.ssthresh = Math.max(MIN_CWND_BYTES, this.cwnd / 2)
    this.cwnd = this.ssthresh
  }
}
