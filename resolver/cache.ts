/**
 * The answer cache (dns-anchors.md rows 5 and 6): canonical upstream replies (before any pq1
 * rewrite, which is applied on the way out of every hit and miss alike), keyed on name, type,
 * class, DO and CD, bounded in entries and entry size, expiring exactly at the TTL the reply
 * allows (RFC 2308 for negative answers). TTLs are decremented on the way out (src/dns/reply.ts).
 */
import {LRUCache} from 'lru-cache'

import {DNS_CACHE_MAX_ENTRY_BYTES} from '../src/constants.js'
import type {ChainInfo} from '../src/dns/chain.js'
import type {WireMessage} from '../src/dns/wire.js'

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
}

export class AnswerCache {
  readonly #lru: LRUCache<string, StoredAnswer>

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
    return e
  }

  /** Store for `ttlS` seconds; 0 or an oversized reply is not stored. */
  set(key: string, e: Omit<StoredAnswer, 'expiresAtMs'>, ttlS: number): void {
    if (ttlS <= 0 || e.bytes.length > DNS_CACHE_MAX_ENTRY_BYTES) return
    this.#lru.set(key, {...e, expiresAtMs: e.storedAtMs + ttlS * 1000})
  }

  clear(): void {
    this.#lru.clear()
  }
}
