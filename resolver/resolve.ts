/**
 * The query pipeline, in a fixed order: admit (FORMERR/NOTIMP/BADVERS/canary) -> cache ->
 * in-flight join -> upstream -> complete partial CNAME chains -> store -> pq1 rewrite -> patch
 * for this client (ID, case, TTLs, OPT, AD, size/TC). The rewrite runs on hits and misses alike,
 * so every answer for a pq1 name asks the router (TTL 0) and the cache never holds a rewrite
 * (only a memo of the last rewrite per answer). Hits that need no rewrite are answered synchronously.
 * Nothing here throws to the listeners: any unexpected error is counted and the query dropped.
 */
import {
  DNS_CACHE_MAX_NEGATIVE_TTL_S, DNS_CACHE_MAX_TTL_S, DNS_CNAME_MAX_HOPS, DNS_TCP_MAX_BYTES,
} from '../src/constants.js'
import {analyzeChain, cacheTtlS, mayContainAnnouncement} from '../src/dns/chain.js'
import {canonicalize, mergeChain} from '../src/dns/merge.js'
import {admitQuery} from '../src/dns/query.js'
import {type ClientQuery, canonicalOptLayout, clientUdpLimit, patchReply, questionOnlyReply} from '../src/dns/reply.js'
import {rewriteAnswer} from '../src/dns/rewrite.js'
import {txtTexts} from '../src/dns/txt-ports.js'
import {
  CLASS_IN, FLAG_TC, RCODE_SERVFAIL, SECTION_ANSWER, TYPE_A, TYPE_AAAA, TYPE_CNAME, TYPE_TXT,
  type WireMessage, asciiLower, encodeName, parseMessage,
} from '../src/dns/wire.js'
import type {Announcer} from './announce.js'
import type {AnswerCache, StoredAnswer} from './cache.js'
import type {Counters} from './counters.js'
import type {UpstreamPool, UpstreamQuestion} from './upstream.js'

export interface ResolverDeps {
  upstreams: UpstreamPool
  cache: AnswerCache
  counters: Counters
  announcer: Announcer
  logQueries: boolean
}

function questionBytes(name: string, type: number, klass: number): Uint8Array | undefined {
  const n = encodeName(name)
  if (n === undefined) return undefined
  const out = new Uint8Array(n.length + 4)
  out.set(n)
  out.set([type >> 8, type & 0xff, klass >> 8, klass & 0xff], n.length)
  return out
}

/** Does the answer to this query go through the pq1 rewrite (an announcement on an intact chain, A or AAAA in IN)? */
function mayRewrite(st: StoredAnswer, q: ClientQuery): boolean {
  const ch = st.chain
  const qn = q.question
  return ch?.announcement !== undefined && !ch.broken && qn.klass === CLASS_IN && (qn.type === TYPE_A || qn.type === TYPE_AAAA)
}

const keyOf = (q: UpstreamQuestion): string => `${q.lname}|${q.type}|${q.klass}|${q.dnssecOk ? 1 : 0}${q.cd ? 1 : 0}`

export class Resolver {
  readonly #d: ResolverDeps
  /** In-flight de-duplication (dns-anchors.md row 13); bounded by UPSTREAM_MAX_INFLIGHT upstream. */
  readonly #inflight = new Map<string, Promise<StoredAnswer | undefined>>()

  constructor(deps: ResolverDeps) {
    this.#d = deps
  }

  handle(bytes: Uint8Array, transport: 'udp' | 'tcp'): Promise<Uint8Array | undefined> {
    const r = this.handleNow(bytes, transport)
    return r instanceof Promise ? r : Promise.resolve(r)
  }

  /**
   * handle(), with cache hits that need no pq1 rewrite answered synchronously: the listeners
   * send those replies in the same callback, without a promise and a microtask per query.
   */
  handleNow(bytes: Uint8Array, transport: 'udp' | 'tcp'): Uint8Array | undefined | Promise<Uint8Array | undefined> {
    const c = this.#d.counters
    try {
      c.queries++
      if (transport === 'tcp') c.queriesTcp++
      const adm = admitQuery(bytes)
      if (adm.kind === 'drop') {
        c.dropped++
        return undefined
      }
      if (adm.kind === 'reply') {
        c[adm.reason]++
        return adm.bytes
      }
      const q = adm.query
      const qn = q.question
      if (this.#d.logQueries) console.error(`resolver: query ${qn.name} type ${qn.type} class ${qn.klass} ${transport}`)
      const uq: UpstreamQuestion = {
        bytes: q.questionBytes, lname: qn.lname, type: qn.type, klass: qn.klass, dnssecOk: q.edns?.dnssecOk === true, cd: q.cd,
      }
      const key = keyOf(uq)
      const hit = this.#d.cache.get(key, Date.now())
      if (hit !== undefined) {
        c.cacheHits++
        if (!mayRewrite(hit, q)) return this.#reply(q, hit, hit.bytes, hit.msg, false, transport)
      }
      return this.#answer(q, hit ?? this.#miss(uq, key, []), transport).catch(() => {
        c.internalErrors++
        return undefined
      })
    } catch {
      c.internalErrors++
      return undefined
    }
  }

  /** The answer to an admitted query once its stored answer is known: pq1 rewrite, then #reply. */
  async #answer(q: ClientQuery, pending: StoredAnswer | Promise<StoredAnswer | undefined>, transport: 'udp' | 'tcp'): Promise<Uint8Array | undefined> {
    const c = this.#d.counters
    const qn = q.question
    const st = await pending
    if (st === undefined) {
      c.servfail++
      return questionOnlyReply(q, RCODE_SERVFAIL)
    }
    let out = st.bytes
    let msg = st.msg
    let rewritten = false
    const ch = st.chain
    if (ch !== undefined && mayRewrite(st, q)) {
      let addr = ''
      if (qn.type === TYPE_A) {
        const r = await this.#d.announcer.addressFor(ch)
        if (r.kind === 'servfail') {
          c.servfail++
          return questionOnlyReply(q, RCODE_SERVFAIL)
        }
        if (r.kind === 'rewrite') addr = r.internalAddr
      }
      if (qn.type === TYPE_AAAA || addr !== '') {
        // The rewrite is a pure function of the stored answer and the address: reuse the last one.
        let rw = st.rewrite
        if (rw === undefined || rw.addr !== addr) {
          const b = rewriteAnswer(st.bytes, qn.type, ch.end, addr)
          const m = b === undefined ? undefined : parseMessage(b)
          if (b === undefined || m === undefined) {
            // Never hand out the real address of an announced server: fail instead.
            c.servfail++
            return questionOnlyReply(q, RCODE_SERVFAIL)
          }
          rw = {addr, bytes: b, msg: m}
          st.rewrite = rw
        }
        out = rw.bytes
        msg = rw.msg
        rewritten = true
        c.rewrites++
      }
    }
    return this.#reply(q, st, out, msg, rewritten, transport)
  }

  /** Patch the (possibly rewritten) stored answer for this client: ID, case, TTLs, OPT, AD, size. */
  #reply(q: ClientQuery, st: StoredAnswer, out: Uint8Array, msg: WireMessage, rewritten: boolean, transport: 'udp' | 'tcp'): Uint8Array {
    const elapsedS = Math.max(0, Math.floor((Date.now() - st.storedAtMs) / 1000))
    const keepAd = !rewritten && st.trusted && (q.edns?.dnssecOk === true || q.ad)
    const maxBytes = transport === 'udp' ? clientUdpLimit(q) : DNS_TCP_MAX_BYTES
    const reply = patchReply(out, msg, q, {elapsedS, keepAd, maxBytes})
    if ((reply[2]! & (FLAG_TC >> 8)) !== 0) this.#d.counters.truncated++
    return reply
  }

  /** Cached, de-duplicated lookup of one question; `path` holds the keys of the chain being completed. */
  lookup(uq: UpstreamQuestion, path: string[]): Promise<StoredAnswer | undefined> {
    const key = keyOf(uq)
    const hit = this.#d.cache.get(key, Date.now())
    if (hit !== undefined) {
      this.#d.counters.cacheHits++
      return Promise.resolve(hit)
    }
    return this.#miss(uq, key, path)
  }

  /** Join the identical query in flight, or ask upstream. */
  #miss(uq: UpstreamQuestion, key: string, path: string[]): Promise<StoredAnswer | undefined> {
    const c = this.#d.counters
    const running = this.#inflight.get(key)
    if (running !== undefined) {
      c.inflightJoined++
      return running
    }
    c.cacheMisses++
    const done = (): void => {
      this.#inflight.delete(key)
    }
    const p = this.#fetch(uq, key, path).then((st) => {
      done()
      return st
    }, (err: unknown) => {
      done()
      throw err
    })
    this.#inflight.set(key, p)
    return p
  }

  /** TXT texts of a name (for the announcer's port lookups, pq1-protocol.md section 2.2). */
  async lookupTxt(name: string): Promise<string[]> {
    const lname = asciiLower(name)
    const bytes = questionBytes(lname, TYPE_TXT, CLASS_IN)
    if (bytes === undefined) return []
    const st = await this.lookup({bytes, lname, type: TYPE_TXT, klass: CLASS_IN, dnssecOk: false, cd: false}, [])
    return st === undefined ? [] : txtTexts(st.bytes, st.msg, lname)
  }

  async #fetch(uq: UpstreamQuestion, key: string, path: string[]): Promise<StoredAnswer | undefined> {
    const a = await this.#d.upstreams.query(uq)
    if (typeof a === 'string') return undefined
    const now = Date.now()
    let bytes = canonicalOptLayout(a.bytes, a.msg) ?? canonicalize(a.bytes)
    let msg = bytes === undefined ? undefined : bytes === a.bytes ? a.msg : parseMessage(bytes)
    if (bytes === undefined || msg === undefined) return undefined
    const hasCname = msg.records.some((r) => r.section === SECTION_ANSWER && r.type === TYPE_CNAME)
    let chain = hasCname || mayContainAnnouncement(bytes, 12, msg.length) ? analyzeChain(bytes, msg, uq.lname, uq.type) : undefined
    let cacheable = true
    if (chain?.partial === true) {
      // Complete the chain by asking for its target (dns-anchors.md row 19), unless that would
      // revisit a question already on this path (a loop across answers) or exceed the hop limit.
      const tb = questionBytes(chain.end, uq.type, uq.klass)
      const tq: UpstreamQuestion = {bytes: tb ?? new Uint8Array(0), lname: chain.end, type: uq.type, klass: uq.klass, dnssecOk: uq.dnssecOk, cd: uq.cd}
      const nextPath = [...path, key]
      cacheable = false
      if (tb !== undefined && nextPath.length < DNS_CNAME_MAX_HOPS && !nextPath.includes(keyOf(tq))) {
        const follow = await this.lookup(tq, nextPath)
        const merged = follow === undefined ? undefined
          : mergeChain(bytes, follow.bytes, Math.max(0, Math.floor((now - follow.storedAtMs) / 1000)))
        const mm = merged === undefined ? undefined : parseMessage(merged)
        if (merged !== undefined && mm !== undefined) {
          bytes = merged
          msg = mm
          chain = analyzeChain(bytes, msg, uq.lname, uq.type)
          cacheable = !chain.partial && !chain.broken
          this.#d.counters.chainsCompleted++
        }
      }
    }
    const hasData = chain === undefined ? msg.ancount > 0 : chain.dataAtEnd > 0
    const ttl = cacheable && chain?.broken !== true
      ? cacheTtlS(bytes, msg, hasData, DNS_CACHE_MAX_TTL_S, DNS_CACHE_MAX_NEGATIVE_TTL_S) : 0
    const stored: StoredAnswer = {bytes, msg, chain, trusted: a.upstream.trusted, storedAtMs: now, expiresAtMs: now + ttl * 1000}
    this.#d.cache.set(key, stored, ttl)
    return stored
  }
}
