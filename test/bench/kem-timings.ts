/**
 * KEM timings on this machine: keypair / encapsulate / decapsulate of every mceliece6960119
 * library we wrap and of sntrup761, median of a few runs, as one table. Also reports how long
 * one call held the event loop (near 0 for work done on the libuv thread pool).
 * Run: node --import tsx test/bench/kem-timings.ts [--runs N] [--keypair-runs K] [--only SUBSTRING]
 * (keypair defaults to max(3, N/4) runs: McEliece key generation retries a random number of times)
 */
import {performance} from 'node:perf_hooks'

import type {Kem} from '../../src/crypto/interfaces.js'
import {createMcElieceKem, type McElieceBackend} from '../../src/crypto/mceliece.js'
import {sntrup761} from '../../src/crypto/sntrup.js'

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(name)
  return at > 0 ? Number(process.argv[at + 1]) : fallback
}
const RUNS = flag('--runs', 12)
const KEYPAIR_RUNS = flag('--keypair-runs', Math.max(3, Math.floor(RUNS / 4)))
/** Only these targets, e.g. --only mceliece (substring match); all by default. */
const ONLY = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1]! : ''

/** Wall time of one awaited call, nothing else running in this process. */
async function wallMs(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now()
  await fn()
  return performance.now() - start
}

/**
 * The longest stretch the event loop could not run a 1 ms ticker during one call: about the wall
 * time for synchronous work, a few ms at most for work on the libuv thread pool (1 ms is the
 * ticker's resolution, so anything near it means "did not block").
 */
async function blockedMs(fn: () => Promise<unknown>): Promise<number> {
  let last = performance.now()
  let worstGap = 0
  const ticker = setInterval(() => {
    const now = performance.now()
    worstGap = Math.max(worstGap, now - last)
    last = now
  }, 1)
  await fn()
  worstGap = Math.max(worstGap, performance.now() - last)
  clearInterval(ticker)
  return worstGap
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

interface Row {
  name: string
  op: string
  runs: number
  medianMs: number
  minMs: number
  maxMs: number
  blockedMs: number
}

async function measure(name: string, kem: Kem): Promise<Row[]> {
  const rows: Row[] = []
  const push = (op: string, wall: number[], blocked: number): void => {
    rows.push({name, op, runs: wall.length, medianMs: median(wall), minMs: Math.min(...wall), maxMs: Math.max(...wall), blockedMs: blocked})
  }
  const {publicKey: pk, secretKey: sk} = await kem.keypair() // also loads the library / WASM module
  const kpWall: number[] = []
  for (let i = 0; i < KEYPAIR_RUNS; i++) kpWall.push(await wallMs(() => kem.keypair()))
  push('keypair', kpWall, await blockedMs(() => kem.keypair()))
  const cts: Uint8Array[] = []
  const encWall: number[] = []
  for (let i = 0; i < RUNS; i++) encWall.push(await wallMs(async () => { cts.push((await kem.encapsulate(pk)).ciphertext) }))
  push('encapsulate', encWall, await blockedMs(() => kem.encapsulate(pk)))
  const decWall: number[] = []
  for (let i = 0; i < RUNS; i++) decWall.push(await wallMs(() => kem.decapsulate(cts[i]!, sk)))
  push('decapsulate', decWall, await blockedMs(() => kem.decapsulate(cts[0]!, sk)))
  return rows
}

const targets: Array<[string, Kem]> = [
  ...(['mceliece-nist', 'pqclean', 'liboqs'] as McElieceBackend[]).map((b): [string, Kem] => [`mceliece6960119/${b}`, createMcElieceKem(b)]),
  ['sntrup761/liboqs', sntrup761],
]

const all: Row[] = []
for (const [name, kem] of targets.filter(([n]) => n.includes(ONLY))) {
  process.stderr.write(`measuring ${name} ...\n`)
  all.push(...await measure(name, kem))
}

const fmt = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(3))
const header = ['kem/library', 'op', 'runs', 'median ms', 'min ms', 'max ms', 'loop blocked ms (1 call)']
const lines = all.map((r) => [r.name, r.op, String(r.runs), fmt(r.medianMs), fmt(r.minMs), fmt(r.maxMs), fmt(r.blockedMs)])
const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)))
const row = (cells: string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
console.log(`node ${process.version}, ${process.arch}, UV_THREADPOOL_SIZE=${process.env['UV_THREADPOOL_SIZE'] ?? '4 (default)'}`)
console.log(row(header))
console.log(widths.map((w) => '-'.repeat(w)).join('  '))
for (const l of lines) console.log(row(l))
