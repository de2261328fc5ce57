/**
 * Router memory with 1000 peers (issue 8, figure 4): a real ServerRouter (with its KeyServer)
 * on real time takes 1000 valid initiations from 1000 distinct client addresses through its
 * handshake pipeline; RSS and heap (after a full GC) before and after, and bytes per peer.
 * Default path: the static KEM is a stand-in (decapsulation = SHAKE256 of the 194-byte ciphertext)
 * so 1000 handshakes take seconds, not minutes; everything else is the production code, so the
 * per-peer state is the same (rate-limiter bucket, replay-cache entry, pool address, TunnelSession
 * with its ratchets, the two peer maps). `--real` uses McEliece (about 1000 x 70 ms / cores; on a
 * slow machine the first sessions may pass their 120 s without traffic and be dropped: counted).
 * Run: node --import tsx test/bench/own/memory.ts [--peers 1000] [--real] [--out FILE]
 */
import {HANDSHAKE_CONCURRENCY, HANDSHAKE_QUEUE_MAX, MCELIECE_CT_BYTES, MCELIECE_CT_PADDING_MASK} from '../../../src/constants.js'
import {shake256} from '../../../src/crypto/hash.js'
import type {Kem} from '../../../src/crypto/interfaces.js'
import {systemRng} from '../../../src/crypto/rng.js'
import type {HandshakeCrypto} from '../../../src/handshake/crypto.js'
import {defaultHandshakeCrypto} from '../../../src/handshake/default-crypto.js'
import {
  admissionCounters, clientAddress, emit, flag, fullGc, inject, load, makeInitiations, makeServerKeys, progress, sleep, startServer, timed,
} from './common.js'

const PEERS = flag('--peers', 1000)
const REAL = process.argv.includes('--real')
/** Target of the issue for the whole router process with 1000 peers. */
const TARGET_MB = 150
/** Few enough that no initiation waits past the queue's maximum age (1 s) on a loaded machine. */
const KEEP_QUEUED = Math.min(HANDSHAKE_CONCURRENCY, HANDSHAKE_QUEUE_MAX - 1)
const MB = 1024 * 1024

/**
 * Stand-in for mceliece6960119 with the same sizes: the key is SHAKE256(ciphertext), which client
 * and server both compute. Only for this benchmark's cheap path; never a real KEM.
 */
function standInStaticKem(real: Kem): Kem {
  return {
    ...real, name: 'stand-in (SHAKE256 of the ciphertext)',
    encapsulate: async () => {
      const ciphertext = Buffer.alloc(MCELIECE_CT_BYTES)
      systemRng(ciphertext)
      ciphertext[MCELIECE_CT_BYTES - 1]! &= ~MCELIECE_CT_PADDING_MASK // zero padding bits, as a genuine ciphertext has
      return {ciphertext, key: shake256(ciphertext)}
    },
    decapsulate: async (ct) => shake256(ct),
  }
}

interface Usage {
  rss: number
  heapUsed: number
  external: number
  arrayBuffers: number
}

function usage(): Usage {
  fullGc()
  const m = process.memoryUsage()
  return {rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers}
}

async function main(): Promise<void> {
  const atStart = usage()
  const base = defaultHandshakeCrypto(systemRng)
  const crypto: HandshakeCrypto = REAL ? base : {...base, skem: standInStaticKem(base.skem)}
  progress('server keys (McEliece keygen) ...')
  const keys = await makeServerKeys()
  const s = await startServer(keys, {crypto})
  progress(`${PEERS} initiations (${REAL ? 'McEliece' : 'stand-in static KEM'}) ...`)
  const inits = await makeInitiations(keys, s.keyServer, PEERS, crypto)
  await sleep(50)
  const before = usage()
  const hs = s.router.handshakes
  let sent = 0
  progress(`${PEERS} handshakes from ${PEERS} addresses ...`)
  const {wallMs} = await timed(async () => {
    while (sent < PEERS || hs.inFlight > 0) {
      while (sent < PEERS && hs.queued < KEEP_QUEUED) {
        inject(s.serverSock, inits[sent]!, clientAddress(sent), 40000 + (sent % 20000))
        sent++
        s.serverSock.flush() // delivered now: the pipeline's queue length is current
      }
      await sleep(REAL ? 5 : 0)
    }
  })
  const peers = s.router.peersByTid.size
  const after = usage()
  const path = REAL ? 'real McEliece handshakes' : 'production pipeline and session code, stand-in static KEM (same per-peer state, see file header)'
  if (peers !== PEERS) progress(`only ${peers} sessions: ${JSON.stringify(hs.counters)} ${JSON.stringify(admissionCounters(hs))}`)
  const note = `${peers} sessions from ${PEERS} distinct client addresses via ${path}, ${(wallMs / 1000).toFixed(1)} s; after full GC; ${load()}`
  const runner = import.meta.url.endsWith('.ts') ? 'run through tsx (its loader adds about 35 MB of RSS; run from dist/ for the production figure)' : 'run from compiled dist/'
  emit('router_rss_modules_mb', atStart.rss / MB, 'MB', `process with the router's modules imported, nothing started; ${runner}`)
  emit('router_rss_before_mb', before.rss / MB, 'MB', `ServerRouter + KeyServer started, no peers: adds the sntrup761 WASM instance (liboqs-js), McEliece keys and Merkle tree, ephemeral keys, ${PEERS} initiations held by the bench; ${runner}`)
  emit(`router_rss_${PEERS}_peers_mb`, after.rss / MB, 'MB', `whole process; target < ${TARGET_MB} MB; ${runner}; ${note}`)
  emit('router_heap_used_before_mb', before.heapUsed / MB, 'MB', 'V8 heap used, no peers')
  emit(`router_heap_used_${PEERS}_peers_mb`, after.heapUsed / MB, 'MB', `V8 heap used; ${note}`)
  emit(`router_external_${PEERS}_peers_mb`, after.external / MB, 'MB', `external (Buffers, native) after, was ${(before.external / MB).toFixed(2)} MB before`)
  const per = (k: keyof Usage): number => (after[k] - before[k]) / Math.max(1, peers)
  emit('router_bytes_per_peer_heap_external', per('heapUsed') + per('external'), 'bytes/peer', `(heapUsed + external) growth / sessions (heap ${per('heapUsed').toFixed(0)}, external ${per('external').toFixed(0)})`)
  emit('router_bytes_per_peer_rss', per('rss'), 'bytes/peer', 'RSS growth / sessions (includes allocator slack and freed-but-kept pages)')
  s.close()
}

await main()
process.exit(0)
