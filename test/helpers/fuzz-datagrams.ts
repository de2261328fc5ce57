/**
 * Seeded datagram fuzzer for the port fuzz tests (security-tests.md S-1, S-3, S-4, M-1): random
 * datagrams (uniform lengths 0..1500 plus boundary lengths and valid type prefixes) and mutations
 * of valid messages (bit flips, truncation, extension, 16-bit length-field edits, type-byte
 * swaps). Deterministic per seed, cheap per datagram (slices of a pre-generated random pool), so
 * 10^6 datagrams per port fit a long run. Also the volume knob and a heap probe.
 */

/** Datagrams per port: env PQC_FUZZ_DATAGRAMS (`npm run test:fuzz` sets 10^6); small for the unit run. */
export const DEFAULT_FUZZ_DATAGRAMS = 20_000

export function fuzzVolume(): number {
  const v = Number(process.env.PQC_FUZZ_DATAGRAMS ?? DEFAULT_FUZZ_DATAGRAMS)
  return Number.isInteger(v) && v > 0 ? v : DEFAULT_FUZZ_DATAGRAMS
}

/** Seed of a run: env PQC_FUZZ_SEED, else fixed (the same datagrams on every CI run). */
export function fuzzSeed(fallback: number): number {
  const v = Number(process.env.PQC_FUZZ_SEED)
  return Number.isInteger(v) ? v : fallback
}

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

/** Largest random datagram (an Ethernet-MTU UDP payload, S-1). */
export const FUZZ_MAX_RANDOM_BYTES = 1500
/** Most bytes appended by an extension (S-3). */
export const FUZZ_MAX_APPEND_BYTES = 64
/** The 2-byte type prefixes of every pq1 message (pq1-protocol.md sections 5-7), plus 03 00. */
export const TYPE_PREFIXES: ReadonlyArray<readonly [number, number]> = [
  [0x01, 0x00], [0x02, 0x00], [0x03, 0x00], [0xf0, 0x00], [0xf1, 0x00], [0xf2, 0x00], [0xf3, 0x00],
]
const POOL_BYTES = 1 << 20

export type FuzzKind = 'random' | 'boundary' | 'prefixed' | 'bitflip' | 'truncate' | 'extend' | 'length-field' | 'type-swap' | 'replay'

export interface FuzzDatagram {
  data: Uint8Array
  kind: FuzzKind
  /** Index of the seed message it was derived from (-1 for random input). */
  seed: number
}

export class DatagramFuzzer {
  /** Datagrams generated, by kind. */
  readonly made: Record<FuzzKind, number> = {
    'random': 0, 'boundary': 0, 'prefixed': 0, 'bitflip': 0, 'truncate': 0, 'extend': 0, 'length-field': 0, 'type-swap': 0, 'replay': 0,
  }
  readonly #rnd: () => number
  readonly #pool: Uint8Array
  readonly #seeds: Uint8Array[]
  readonly #lengths: number[]

  /**
   * `seeds`: valid messages to mutate; `validLengths`: the port's valid message lengths (their
   * ±1 neighbours become boundary lengths). `replay` > 0 sends that share of seeds unmodified.
   */
  constructor(seed: number, seeds: Uint8Array[], validLengths: number[], readonly replay = 0) {
    this.#rnd = prng(seed)
    this.#pool = new Uint8Array(POOL_BYTES)
    const dv = new DataView(this.#pool.buffer)
    for (let i = 0; i < POOL_BYTES; i += 4) dv.setUint32(i, (this.#rnd() * 2 ** 32) >>> 0)
    this.#seeds = seeds.map((s) => Uint8Array.from(s))
    const lengths = new Set([0, 1, 2, 3])
    for (const l of validLengths) for (const d of [-1, 0, 1]) if (l + d >= 0) lengths.add(l + d)
    this.#lengths = [...lengths]
  }

  #int(n: number): number {
    return Math.floor(this.#rnd() * n)
  }

  #random(length: number): Uint8Array {
    const at = this.#int(POOL_BYTES - length)
    return this.#pool.slice(at, at + length)
  }

  #make(kind: FuzzKind, data: Uint8Array, seed: number): FuzzDatagram {
    this.made[kind]++
    return {data, kind, seed}
  }

  /** The next datagram: 30% random, 20% boundary lengths and type prefixes, 50% mutated seeds. */
  next(): FuzzDatagram {
    const r = this.#rnd()
    if (r < 0.3 || this.#seeds.length === 0) return this.#make('random', this.#random(this.#int(FUZZ_MAX_RANDOM_BYTES + 1)), -1)
    if (r < 0.4) return this.#make('boundary', this.#random(this.#lengths[this.#int(this.#lengths.length)]!), -1)
    if (r < 0.5) {
      const [a, b] = TYPE_PREFIXES[this.#int(TYPE_PREFIXES.length)]!
      const d = this.#random(this.#rnd() < 0.5 ? this.#lengths[this.#int(this.#lengths.length)]! : 2 + this.#int(FUZZ_MAX_RANDOM_BYTES - 1))
      if (d.length > 0) d[0] = a
      if (d.length > 1) d[1] = b
      return this.#make('prefixed', d, -1)
    }
    const si = this.#int(this.#seeds.length)
    const s = this.#seeds[si]!
    if (this.#rnd() < this.replay) return this.#make('replay', Uint8Array.from(s), si)
    return this.#mutate(s, si)
  }

  /** One mutation of `s` (not kept as a seed): bit flips, truncation, extension, a length field, the type. */
  mutate(s: Uint8Array): FuzzDatagram {
    return this.#mutate(s, -1)
  }

  #mutate(s: Uint8Array, si: number): FuzzDatagram {
    const m = this.#rnd()
    if (m < 0.35) {
      const d = Uint8Array.from(s)
      const flips = 1 + this.#int(8)
      for (let i = 0; i < flips && d.length > 0; i++) d[this.#int(d.length)]! ^= 1 << this.#int(8)
      return this.#make('bitflip', d, si)
    }
    if (m < 0.55) return this.#make('truncate', s.slice(0, this.#int(s.length)), si)
    if (m < 0.7) {
      const extra = 1 + this.#int(FUZZ_MAX_APPEND_BYTES)
      const d = new Uint8Array(s.length + extra)
      d.set(s)
      d.set(this.#random(extra), s.length)
      return this.#make('extend', d, si)
    }
    if (m < 0.85) {
      // A 16-bit big-endian field (TLV lengths, DNS counts, epoch) set to a boundary value.
      const d = Uint8Array.from(s)
      if (d.length >= 2) {
        const at = this.#int(Math.min(d.length, 64) - 1)
        const v = [0, 1, 0xffff, 0x7fff, 0x8000, d.length, d.length - 1, d.length + 1, ((d[at]! << 8) | d[at + 1]!) + 1][this.#int(9)]! & 0xffff
        d[at] = v >> 8
        d[at + 1] = v & 0xff
      }
      return this.#make('length-field', d, si)
    }
    const d = Uint8Array.from(s)
    const [a, b] = TYPE_PREFIXES[this.#int(TYPE_PREFIXES.length)]!
    if (d.length > 0) d[0] = this.#rnd() < 0.8 ? a : this.#int(256)
    if (d.length > 1) d[1] = this.#rnd() < 0.8 ? b : this.#int(256)
    return this.#make('type-swap', d, si)
  }
}

/** Heap in use after a full GC when node runs with --expose-gc (exact: true), else as is. */
export function heapUsed(): {bytes: number; exact: boolean} {
  const gc = (globalThis as {gc?: () => void}).gc
  if (gc !== undefined) {
    gc()
    gc()
  }
  return {bytes: process.memoryUsage().heapUsed, exact: gc !== undefined}
}

/** Heap growth allowed over a fuzz run: tight after a real GC, generous without one. */
export const HEAP_GROWTH_MAX_BYTES_GC = 8 * 1024 * 1024
export const HEAP_GROWTH_MAX_BYTES_NO_GC = 96 * 1024 * 1024

export function heapBound(exact: boolean): number {
  return exact ? HEAP_GROWTH_MAX_BYTES_GC : HEAP_GROWTH_MAX_BYTES_NO_GC
}

/** A one-line summary for the test log: datagrams, seconds, rate. */
export function rateLine(what: string, n: number, ms: number): string {
  return `# ${what}: ${n} datagrams in ${(ms / 1000).toFixed(2)} s (${Math.round(n / (ms / 1000))}/s)`
}
