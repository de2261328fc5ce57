/**
 * Test-only randomness for known-answer tests: the NIST PQC KAT generator (AES-256 CTR_DRBG
 * without derivation function, NIST rng.c), a SHAKE256 byte stream, and a way to feed either to
 * @oqs/liboqs-js, whose WASM draws all randomness through node:crypto's randomFillSync.
 * AES and SHAKE come from node:crypto; only the DRBG's bookkeeping is written here.
 */
import {createCipheriv, createHash} from 'node:crypto'
import {createRequire} from 'node:module'

const BLOCK = 16

/** NIST rng.c: randombytes_init / randombytes with the AES-256 CTR_DRBG of SP 800-90A. */
export class NistKatDrbg {
  #key = Buffer.alloc(32)
  #v = Buffer.alloc(BLOCK)

  constructor(entropy48: Uint8Array) {
    if (entropy48.length !== 48) throw new RangeError('NistKatDrbg: entropy must be 48 bytes')
    this.#update(entropy48)
  }

  /** One randombytes(x, xlen) call of rng.c: the state update runs once per call. */
  randombytes(out: Uint8Array): void {
    this.continueCall(out)
    this.endCall()
  }

  /** Part of one randombytes call; chunks must be multiples of 16 bytes except the last. */
  continueCall(out: Uint8Array): void {
    for (let off = 0; off < out.length; off += BLOCK) {
      const block = this.#nextBlock()
      out.set(block.subarray(0, Math.min(BLOCK, out.length - off)), off)
    }
  }

  endCall(): void {
    this.#update(undefined)
  }

  #nextBlock(): Buffer {
    for (let j = 15; j >= 0; j--) {
      if (this.#v[j] === 0xff) this.#v[j] = 0
      else {
        this.#v[j]! += 1
        break
      }
    }
    const c = createCipheriv('aes-256-ecb', this.#key, null)
    c.setAutoPadding(false)
    return c.update(this.#v)
  }

  #update(provided: Uint8Array | undefined): void {
    const temp = Buffer.concat([this.#nextBlock(), this.#nextBlock(), this.#nextBlock()])
    if (provided) for (let i = 0; i < 48; i++) temp[i]! ^= provided[i]!
    this.#key = temp.subarray(0, 32)
    this.#v = Buffer.from(temp.subarray(32, 48))
  }
}

/** A cursor over SHAKE256(seed): every read continues where the previous one stopped. */
export class ShakeStream {
  readonly #bytes: Buffer
  #pos = 0

  constructor(seed: Uint8Array, maxBytes: number) {
    this.#bytes = createHash('shake256', {outputLength: maxBytes}).update(seed).digest()
  }

  read(out: Uint8Array): void {
    if (this.#pos + out.length > this.#bytes.length) throw new RangeError('ShakeStream: exhausted')
    out.set(this.#bytes.subarray(this.#pos, this.#pos + out.length))
    this.#pos += out.length
  }

  get consumed(): number {
    return this.#pos
  }
}

/**
 * liboqs' system randombytes calls getentropy() in chunks of at most 256 bytes, and Emscripten
 * turns each chunk into one randomFillSync call. A chunk shorter than 256 bytes therefore ends a C
 * randombytes call (exact for call sizes that are not multiples of 256, as in McEliece: 32 and 476).
 */
export const LIBOQS_ENTROPY_CHUNK = 256

export function drbgChunkSource(drbg: NistKatDrbg): (out: Uint8Array) => void {
  return (out) => {
    drbg.continueCall(out)
    if (out.length < LIBOQS_ENTROPY_CHUNK) drbg.endCall()
  }
}

/**
 * Run `fn` with node:crypto's randomFillSync (the CommonJS export object that liboqs-js's glue
 * looks up on every call) replaced by `source`; always restored. Nothing else in the process may
 * draw randomness through randomFillSync meanwhile (node:test runs a file's tests one at a time).
 */
export async function withLiboqsRandomness<T>(source: (out: Uint8Array) => void, fn: () => T | Promise<T>): Promise<T> {
  const nodeCrypto = createRequire(import.meta.url)('node:crypto') as {randomFillSync: unknown}
  const original = nodeCrypto.randomFillSync
  nodeCrypto.randomFillSync = (buf: Uint8Array): Uint8Array => {
    source(buf)
    return buf
  }
  try {
    return await fn()
  } finally {
    nodeCrypto.randomFillSync = original
  }
}

/** The first entry (count = 0) of a NIST KAT .rsp file, as liboqs tests/kat_kem.c prints it. */
export function katRspCount0(seed: Uint8Array, pk: Uint8Array, sk: Uint8Array, ct: Uint8Array, ss: Uint8Array): string {
  const h = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase()
  return `count = 0\nseed = ${h(seed)}\npk = ${h(pk)}\nsk = ${h(sk)}\nct = ${h(ct)}\nss = ${h(ss)}\n`
}

/** The count = 0 seed: randombytes(48) of a DRBG initialised with entropy 00 01 .. 2f. */
export function katSeed0(): Uint8Array {
  const drbg = new NistKatDrbg(Uint8Array.from({length: 48}, (_, i) => i))
  const seed = new Uint8Array(48)
  drbg.randombytes(seed)
  return seed
}
