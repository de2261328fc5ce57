/**
 * Allocator of internal addresses (pq1-protocol.md section 3.2): the resolver's own when no
 * router is connected (10.43.0.0/16), the client router's for servers (same addresses, derived
 * from the key hash) and the server router's for tunnels (10.42.0.0/16). An address is derived from the key hash and
 * probed linearly on collision, so a server keeps its address while it lives (and usually across
 * restarts), and two live servers never share one. Bounded by `maxEntries`; when full, the least
 * recently used server is forgotten, or, when the owner says which may go (`canEvict`: the client
 * router protects servers with a tunnel in use, security-tests.md M-3), the least recently used
 * of those; if none may go, nothing is allocated (the caller passes the DNS answer unchanged).
 * Pure: time comes in as an argument.
 */
import {CLIENT_POOL_CIDR, CLIENT_TUN_ADDR, RESOLVER_MAX_SERVERS} from '../constants.js'
import {LocalError} from '../errors.js'
import {formatIpv4, parseIpv4} from '../net/ipv4.js'

interface Entry {
  index: number
  lastUseMs: number
}

export class AddressPool {
  readonly #base: number
  readonly #size: number
  readonly #reserved: Set<number>
  readonly #maxEntries: number
  /** key hash (hex) -> entry; Map order is least recently used first. */
  readonly #byKey = new Map<string, Entry>()
  readonly #taken = new Set<number>()

  /** `onEvict` hears of every key forgotten to make room, so the owner can drop what hangs on it. */
  constructor(cidr = CLIENT_POOL_CIDR, reserved: string[] = [CLIENT_TUN_ADDR], maxEntries = RESOLVER_MAX_SERVERS,
    private readonly onEvict?: (keyHex: string) => void) {
    const [addr, bits] = cidr.split('/')
    const base = parseIpv4(addr ?? '')
    const prefix = Number(bits)
    if (base === undefined || !Number.isInteger(prefix) || prefix < 8 || prefix > 30) {
      throw new LocalError('PQC_ERR_CONFIG_INVALID', `bad address pool ${cidr}`)
    }
    this.#size = 2 ** (32 - prefix)
    this.#base = (base & ~(this.#size - 1)) >>> 0
    this.#reserved = new Set([0, this.#size - 1])
    for (const r of reserved) {
      const n = parseIpv4(r)
      if (n !== undefined && n >= this.#base && n < this.#base + this.#size) this.#reserved.add(n - this.#base)
    }
    this.#maxEntries = Math.min(maxEntries, this.#size - this.#reserved.size)
    if (this.#maxEntries < 1) throw new LocalError('PQC_ERR_CONFIG_INVALID', `address pool ${cidr} is empty`)
  }

  get size(): number {
    return this.#byKey.size
  }

  /** Does the address lie inside the pool? (loop protection, section 2.3 step 7) */
  contains(addr: string): boolean {
    const n = parseIpv4(addr)
    return n !== undefined && n >= this.#base && n < this.#base + this.#size
  }

  lookup(keyHex: string): string | undefined {
    const e = this.#byKey.get(keyHex)
    return e === undefined ? undefined : formatIpv4(this.#base + e.index)
  }

  /** The address of this key hash, allocating one if needed (undefined: full, and `canEvict` spared everyone). */
  allocate(keyHex: string, nowMs: number): string
  allocate(keyHex: string, nowMs: number, canEvict: (keyHex: string) => boolean): string | undefined
  allocate(keyHex: string, nowMs: number, canEvict?: (keyHex: string) => boolean): string | undefined {
    let e = this.#byKey.get(keyHex)
    if (e !== undefined) {
      this.#byKey.delete(keyHex)
    } else {
      if (this.#byKey.size >= this.#maxEntries) {
        const victim = this.#victim(canEvict)
        if (victim === undefined) return undefined
        this.release(victim)
        this.onEvict?.(victim)
      }
      e = {index: this.#freeIndexFor(keyHex), lastUseMs: nowMs}
      this.#taken.add(e.index)
    }
    e.lastUseMs = nowMs
    this.#byKey.set(keyHex, e)
    return formatIpv4(this.#base + e.index)
  }

  release(keyHex: string): void {
    const e = this.#byKey.get(keyHex)
    if (e === undefined) return
    this.#byKey.delete(keyHex)
    this.#taken.delete(e.index)
  }

  /** Least recently used key that may be evicted. */
  #victim(canEvict: ((keyHex: string) => boolean) | undefined): string | undefined {
    for (const k of this.#byKey.keys()) if (canEvict === undefined || canEvict(k)) return k
    return undefined
  }

  #freeIndexFor(keyHex: string): number {
    const seed = Number.parseInt(keyHex.slice(0, 8).padEnd(8, '0'), 16) || 0
    let i = seed % this.#size
    // Terminates: fewer than size - reserved entries are taken (maxEntries bound above).
    while (this.#reserved.has(i) || this.#taken.has(i)) i = (i + 1) % this.#size
    return i
  }
}
