/**
 * The answer cache (dns-anchors.md rows 5 and 6): canonical upstream replies (before any pq1
 * rewrite, which is applied on the way out of every hit and miss alike), keyed on name, type,
 * class, DO and CD, bounded in entries and entry size, expiring exactly at the TTL the reply
 * allows (RFC 2308 for negative answers). TTLs are decremented on the way out (src/dns/reply.ts).
 * Entries are stored compact (bytes, no parsed layout): most answers are never asked again, and
 * every object an entry holds is copied and promoted by the GC. The layout is re-parsed on the
 * first hit and kept from then on, so only entries that are actually hit carry it.
 */
import {LRUCache} from 'lru-cache'

import {DNS_CACHE_MAX_ENTRY_BYTES} from '../src/constants.js'
import type {ChainInfo} from '../src/dns/chain.js'
import {type WireMessage, parseMessage} from '../src/dns/wire.js'

export interface StoredAnswer {
  /** Canonical reply bytes (OPT last, no options) and their parsed layout. */
  bytes: Uint8Array
  msg: WireMessage
  /** CNAME chain and announcement, when the answer has CNAMEs or a pq1 label. */
  chain: ChainInfo | undefined
  /** The upstream that answered is trusted to set AD. */
  trusted: boolean
  storedAtMs: number
  expiresAtMs: number
  /** Last pq1 rewrite of this answer (resolve.ts): same internal address -> same bytes. */
  rewrite?: {addr: string; bytes: Uint8Array; msg: WireMessage} | undefined
}

/** What the LRU holds: a StoredAnswer whose layout is parsed on first use. */
type Entry = Omit<StoredAnswer, 'msg'> & {msg: WireMessage | undefined}

export class AnswerCache {
  readonly #lru: LRUCache<string, Entry>

  constructor(maxEntries: number) {
    this.#lru = new LRUCache({max: maxEntries})
  }

  get size(): number {
    return this.#lru.size
  }

  get(key: string, nowMs: number): StoredAnswer | undefined {
    const e = this.#lru.get(key)
    if (e === undefined) return undefined
    if (nowMs >= e.expiresAtMs) {
      this.#lru.delete(key)
      return undefined
    }
    if (e.msg === undefined) {
      // Canonical bytes parsed once already; undefined here would mean a bug: treat as a miss.
      e.msg = parseMessage(e.bytes)
      if (e.msg === undefined) {
        this.#lru.delete(key)
        return undefined
      }
    }
    return e as StoredAnswer
  }

  /** Store for `ttlS` seconds; 0 or an oversized reply is not stored. */
  set(key: string, e: Omit<StoredAnswer, 'expiresAtMs' | 'msg'>, ttlS: number): void {
    if (ttlS <= 0 || e.bytes.length > DNS_CACHE_MAX_ENTRY_BYTES) return
    this.#lru.set(key, {
      bytes: e.bytes, msg: undefined, chain: e.chain, trusted: e.trusted, storedAtMs: e.storedAtMs,
      expiresAtMs: e.storedAtMs + ttlS * 1000, rewrite: undefined,
    })
  }

  clear(): void {
    this.#lru.clear()
  }
}
