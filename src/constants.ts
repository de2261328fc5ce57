/**
 * Every constant of the pq1 protocol in one place (pq1-protocol.md section 7.8), then our own
 * implementation limits. Units are in the names. Nothing here is computed at run time.
 */

// ---- specification: fixed by the wire protocol of the reference (1.2.x) ----

/** Accepted version digits after `pq` in a DNS label. */
export const SUPPORTED_MAJOR_VERSIONS = ['1'] as const
export const DNS_ENCODED_HASH_LEN = 52
export const DNS_ENCODED_PORT_LEN = 4

export const PQCPORT_CLIENT = 42423
export const PQCPORT_DEFAULT = 42424
export const KEYPORT_DEFAULT = 42425

export const MCELIECE_PK_BYTES = 1_047_319
export const MCELIECE_SK_BYTES = 13_948
export const MCELIECE_CT_BYTES = 194
/**
 * A McEliece ciphertext holds m*t = 13*119 = 1547 bits in 194 bytes: the top 5 bits of its last
 * byte are padding that must be zero, or round-4 decapsulation fails (libmceliece, NIST ref).
 */
export const MCELIECE_CT_PADDING_MASK = 0xf8
/**
 * The McEliece public key is 1547 rows (m*t) of 6960 - 1547 = 5413 bits, each in 677 bytes: the
 * top 3 bits of every row's last byte must be zero, or round-4 encapsulation fails.
 */
export const MCELIECE_PK_ROWS = 1547
export const MCELIECE_PK_ROW_BYTES = 677
export const MCELIECE_PK_PADDING_MASK = 0xe0
export const SNTRUP_PK_BYTES = 1158
export const SNTRUP_SK_BYTES = 1763
export const SNTRUP_CT_BYTES = 1039
export const X25519_BYTES = 32
export const KEM_KEY_BYTES = 32
export const SESSION_KEY_BYTES = 32

export const KLEN = 32
export const NLEN = 12
export const TAGLEN = 16
export const HLEN = 32
export const TIDLEN = 32

/** Merkle tree segment (section 5.2). */
export const SEG_LEN = 1152

/** Message type tags: two bytes each on the wire. */
export const MSG_INITIATION = 0x01
export const MSG_TUNNEL = 0x02
export const MSG_HANDSHAKE_FAIL = 0x03
export const MSG_STATIC_REQUEST = 0xf0
export const MSG_STATIC_RESPONSE = 0xf1
export const MSG_EPHEMERAL_REQUEST = 0xf2
export const MSG_EPHEMERAL_RESPONSE = 0xf3

/** Initiation: 2 + 194 + 32 + 16 + 1039 + 16 (section 6.3). */
export const INITIATION_BYTES = 1299
/** Tunnel header: type(2) tid(32) epoch(2) index(4) (section 7.3). */
export const TUNNEL_HEADER_BYTES = 40
export const TUNNEL_OVERHEAD_BYTES = TUNNEL_HEADER_BYTES + TAGLEN
/** Ephemeral key request and response are both 1196 bytes (section 5.5). */
export const EPHEMERAL_MSG_BYTES = 1196

export const EPOCH_DURATION_S = 30
export const EPOCH_TIMEOUT_S = 120
export const CHAIN_KEY_NUM_PACKETS = 18
/** Reference receivers hold at most this many unused keys per epoch (section 7.5). */
export const MAX_CHAIN_LEN = 90
/** Live receive epochs at once (section 7.5). */
export const MAX_EPOCHS = 5
export const MAX_EPOCH = 0xffff
export const NUM_PREKEYS = 360
export const COOKIE_PREFIX = 'pqccookE'
export const COOKIE_BYTES = 144

export const CLIENT_TUN_ADDR = '10.43.0.1'
export const SERVER_TUN_ADDR = '10.42.0.1'

export const KEY_FILES = {
  mcelieceSk: 'mceliece_sk',
  mceliecePk: 'mceliece_pk',
  x25519Sk: 'x25519_sk',
  x25519Pk: 'x25519_pk',
  sessionKey: 'session_key',
} as const

// ---- implementation: our choices, not visible on the wire ----

/** Crypto and key ports for servers we set up (architecture.md section 5). */
export const PQCPORT_PQC_DEFAULT = 624
export const KEYPORT_PQC_DEFAULT = 584
/** Packets of one epoch a receiver may skip ahead before it stops deriving keys. */
export const RECV_LOOKAHEAD_MAX_PACKETS = 1024
/**
 * After a burst of loss (a flooded socket buffer drops thousands in a row), a receiver may jump
 * up to this far past its highest authenticated index. The skip derives only chain keys (one
 * ChaCha20 block per 18 packets, ~0.18 us per skipped packet here, before the tag is checked).
 * Without it the tunnel stalls until the sender's next epoch (up to 30 s) and the client's
 * dead-peer timer re-handshakes. 65536 covers 0.3 s of total loss at 200k packets/s.
 */
export const RECV_FAR_LOOKAHEAD_MAX_PACKETS = 65536
/**
 * Far jumps spend a budget of skipped packets that refills at this rate (and holds at most
 * RECV_FAR_LOOKAHEAD_MAX_PACKETS): a forger costs us at most ~47 ms of CPU per second per
 * tunnel, while a genuine flow that loses a few thousand datagrams many times a second (a UDP
 * flood overrunning the socket buffer) jumps each time instead of stalling until a timer.
 */
export const RECV_FAR_SKIP_PACKETS_PER_S = 262_144
/**
 * Packets below the highest authenticated index of an epoch whose keys a receiver keeps for
 * reordered datagrams (section 14 item 16); older unused keys are erased. Keys held per epoch are
 * at most this + CHAIN_KEY_NUM_PACKETS (32 bytes each).
 */
export const RECV_REORDER_WINDOW_PACKETS = 256
/** Epochs (30 s each) before the 16-bit epoch runs out at which a sender asks for a rehandshake. */
export const SEND_REHANDSHAKE_MARGIN_EPOCHS = 120

// ---- resolver (DNS proxy): limits and timeouts; dns-anchors.md rows 1-21 ----

/** Default listen address of the DNS proxy (architecture.md section 5). */
export const RESOLVER_LISTEN_DEFAULT = '127.0.0.53:53'
/** UDP payload size we advertise upstream (DNS Flag Day 2020; dns-anchors.md row 3). */
export const DNS_EDNS_UPSTREAM_UDP_BYTES = 1232
/** UDP payload size we advertise to (loopback) clients and the most we send them over UDP. */
export const DNS_EDNS_CLIENT_UDP_BYTES = 4096
/** Reply limit for a client query without EDNS (RFC 1035 section 4.2.1). */
export const DNS_PLAIN_UDP_BYTES = 512
/** Largest DNS message over TCP (2-byte length prefix, RFC 7766). */
export const DNS_TCP_MAX_BYTES = 65_535
/** Hard upper bound on one DNS name on the wire (RFC 1035 section 2.3.4). */
export const DNS_NAME_MAX_BYTES = 255
export const DNS_LABEL_MAX_BYTES = 63
/** CNAME hops we follow in one answer and across follow-up queries (dns-anchors.md row 19). */
export const DNS_CNAME_MAX_HOPS = 16
/** The reference client ignores answers with more A records than this (section 2.3 step 6). */
export const PQ1_MAX_A_RECORDS = 25
/** Whole budget of one upstream resolution: SERVFAIL well before glibc's 5 s timeout (row 18). */
export const UPSTREAM_QUERY_DEADLINE_MS = 2500
/** Wait before trying the next upstream in parallel (bounds of the RTT-adaptive hedge; row 9). */
export const UPSTREAM_HEDGE_MIN_MS = 150
export const UPSTREAM_HEDGE_MAX_MS = 800
/** Attempts (sends) per upstream resolution, across all upstreams. */
export const UPSTREAM_MAX_ATTEMPTS = 6
/** Consecutive timeouts after which an upstream is tried last, and for how long. */
export const UPSTREAM_DOWN_AFTER_TIMEOUTS = 3
export const UPSTREAM_DOWN_HOLD_MS = 10_000
/** Upstream UDP queries in flight at once; above it queries get SERVFAIL (row 13). */
export const UPSTREAM_MAX_INFLIGHT = 1024
/** UDP sockets (random source ports) used for upstream queries, and queries per socket before it is replaced. */
export const UPSTREAM_UDP_SOCKETS = 8
export const UPSTREAM_SOCKET_MAX_QUERIES = 512
/** Client TCP connections at once, idle timeout, and queries in progress per connection (RFC 7766). */
export const RESOLVER_TCP_MAX_CONNECTIONS = 64
export const RESOLVER_TCP_IDLE_TIMEOUT_MS = 10_000
export const RESOLVER_TCP_MAX_PENDING_PER_CONN = 32
/** Cache: entries, and TTL caps for positive and negative answers (RFC 2308; rows 5-6). */
export const DNS_CACHE_MAX_ENTRIES = 10_000
export const DNS_CACHE_MAX_TTL_S = 86_400
export const DNS_CACHE_MAX_NEGATIVE_TTL_S = 3600
/** Largest DNS message the cache stores (bytes), so entries x size stays bounded. */
export const DNS_CACHE_MAX_ENTRY_BYTES = 8192
/** Slab from which short-lived DNS message buffers are cut (src/dns/bytes-slab.ts), and the largest piece taken from it (bytes). */
export const DNS_BYTES_SLAB_BYTES = 64 * 1024
export const DNS_BYTES_SLAB_MAX_PIECE = 4096
/** Canary name browsers ask before enabling DNS-over-HTTPS; we answer NXDOMAIN (section 2.5). */
export const DNS_DOH_CANARY_NAME = 'use-application-dns.net'
/** Internal addresses of PQConnect servers on the client (section 3.2). */
export const CLIENT_POOL_CIDR = '10.43.0.0/16'
/** PQConnect servers the resolver remembers (servers list) and its own allocator holds. */
export const RESOLVER_MAX_SERVERS = 4096
/** How long the resolver waits for the router's internal address before SERVFAIL. */
export const ROUTER_REPLY_TIMEOUT_MS = 1000
/** How long a pq1 answer waits for a router that is starting or restarting (below glibc's 5 s retry). */
export const ROUTER_CONNECT_WAIT_MS = 3000
/** Requests to the router waiting for an answer at once. */
export const ROUTER_MAX_PENDING = 256
/** Largest control-channel frame (resolver <-> router, CLI <-> resolver). */
export const IPC_MAX_FRAME_BYTES = 4 << 20

// ---- router data path (router/native, router/tun, router/udp) ----
/** TUN MTU we configure (architecture.md section 5: 1280 lets QUIC's 1200-byte datagrams through). */
export const TUN_MTU_DEFAULT_BYTES = 1280
/** Largest TUN MTU we accept: one packet of this size must fit a read slot. */
export const TUN_MTU_MAX_BYTES = 9000
/** Smallest link MTU IPv4 allows (RFC 791); IPv6 needs 1280. */
export const TUN_MTU_MIN_BYTES = 68
/** Largest kernel queue toward a TUN reader we set (txqueuelen). */
export const TUN_TXQUEUELEN_MAX_PACKETS = 65536
/** Time one `ip` (iproute2) invocation may take before it counts as hung. */
export const IP_COMMAND_TIMEOUT_MS = 5000
/** Bytes per receive slot of the batch readers; a larger TUN packet is dropped, a larger datagram truncated (counted). */
export const PACKET_SLOT_BYTES = 9216
/** Packets drained per wakeup and handed to JS in one call (TUN reads, UDP recvmmsg). */
export const READ_BATCH_PACKETS = 64
/** Packets a router event collects before one sendBatch / writeBatch (router/out-batch.ts). */
export const OUT_BATCH_PACKETS = 64
/** Kernel buffer asked for on data-path UDP sockets (SO_RCVBUF/SO_SNDBUF, forced when root). */
export const UDP_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024
/** Packets an in-memory TUN/UDP double queues per receiver before it drops (like a full kernel queue). */
export const CHANNEL_QUEUE_PACKETS = 1024

// ---- router (client and server drivers) ----

/** The whole static-key download (~1.1 MB) must finish within this, else the peer fails. */
export const STATIC_FETCH_DEADLINE_S = 30
/**
 * Client: static-key downloads at once, downloads waiting for a slot (the newest is served first;
 * beyond the bound the oldest waiting one fails at once), and the time a download may go without
 * any verified answer before it is abandoned (security-tests.md M-2, A-3; reference W10).
 */
export const KEY_FETCH_MAX_CONCURRENT = 16
export const KEY_FETCH_MAX_WAITING = 64
export const KEY_FETCH_STALL_S = 10
/** Ephemeral-key request attempts and the wait for each answer. */
export const EPHEMERAL_FETCH_TRIES = 5
export const EPHEMERAL_FETCH_TIMEOUT_S = 1
/** Packets queued per peer while its handshake is in flight (oldest dropped beyond). */
export const PEER_QUEUE_MAX_PACKETS = 128
/** Initiations per peer before the connection attempt fails (each with a new tid). */
export const HANDSHAKE_MAX_ATTEMPTS = 3
/** Without an authenticated packet from the server this long after an initiation, try again. */
export const HANDSHAKE_CONFIRM_S = 1.5
/** Applications get ICMP unreachable if the peer is not up within this (issue 4: under 5 s). */
export const CONNECT_GIVE_UP_S = 4.5
/** Keepalive (empty tunnel payload) after this much silence on our side, while in use. */
export const KEEPALIVE_INTERVAL_S = 25
/** Keepalives stop this long after the last data packet in either direction. */
export const KEEPALIVE_IDLE_LIMIT_S = 30 * 60
/** Server: data from a client gets an answer within this (a keepalive if nothing else is sent). */
export const PASSIVE_KEEPALIVE_S = 1
/**
 * Client: data unanswered this long by a server known to answer (it sent keepalives): the server
 * lost the tunnel (restart); handshake again. Above PASSIVE_KEEPALIVE_S plus a server tick and RTTs.
 */
export const DEAD_PEER_S = 6
/** Server: tunnel datagrams held for tids whose handshake is still in flight, and for how long. */
export const EARLY_DATAGRAMS_MAX = 256
export const EARLY_DATAGRAM_MAX_AGE_S = 2
/** Server: handshakes waiting for a decapsulation slot, and slots at once. */
export const HANDSHAKE_QUEUE_MAX = 64
export const HANDSHAKE_CONCURRENCY = 2
/** Server: per-source handshake rate (tokens/s) and burst. */
export const HANDSHAKE_RATE_PER_S = 4
export const HANDSHAKE_BURST = 8
/**
 * Server handshake queue fairness (src/handshake/fair-queue.ts, security-tests.md H-2): jobs per
 * source address in a lane; age after which a queued initiation is discarded unprocessed (below
 * HANDSHAKE_CONFIRM_S, after which the client retries with a new one); jobs served from the
 * returning-sources lane per job from the new-sources lane while both wait.
 */
export const HANDSHAKE_QUEUE_PER_SOURCE = 2
export const HANDSHAKE_QUEUE_MAX_AGE_S = 1
export const HANDSHAKE_RETURNING_SHARE = 2
/** Source addresses remembered as having completed a handshake, and for how long (s). */
export const HANDSHAKE_RETURNING_SOURCES_MAX = 16_384
export const HANDSHAKE_RETURNING_TTL_S = 86_400
/** Peers (client: servers, server: clients) held at once. */
export const ROUTER_MAX_PEERS = 4096
/** Largest datagram or packet we handle (TUN MTU 1280 plus tunnel overhead fits easily). */
export const ROUTER_MAX_PACKET_BYTES = 2048

// ---- nftables (architecture.md section 4; security-tests.md section 9) ----

/** Our one table: family and name; nothing outside it is ever touched. */
export const NFT_TABLE_FAMILY = 'inet'
export const NFT_TABLE_NAME = 'pqconnect'
/** Servers the client steers at once (map `steer4`): the router's peer bound. */
export const NFT_MAX_STEERED_SERVERS = 4096
/** Elements of the exempt set: each server's crypto and key port. */
export const NFT_MAX_EXEMPT_ELEMENTS = 2 * NFT_MAX_STEERED_SERVERS
/** Ports in one inbound allow list (per protocol). */
export const NFT_MAX_ALLOWED_PORTS = 1024
/** JSON batches up to this size go to nft as one argument (Linux MAX_ARG_STRLEN is 128 KiB); larger go through a file. */
export const NFT_ARGV_MAX_BYTES = 64 * 1024
/** Time one `nft` invocation may take before it counts as hung. */
export const NFT_COMMAND_TIMEOUT_MS = 10_000
/** Port applications send DNS to; captured with --capture-dns. */
export const DNS_PORT = 53

// ---- pqc server check (issue 7; pq1-protocol.md section 9.3) ----

/** DNS questions of the check: tries per question over UDP and the wait for each answer. */
export const CHECK_DNS_TRIES = 3
export const CHECK_DNS_TIMEOUT_S = 2
/** A key port that has answered nothing this long after the first request counts as silent. */
export const CHECK_KEY_SILENT_S = 3
/** Ephemeral-key requests of the check (each waits EPHEMERAL_FETCH_TIMEOUT_S). */
export const CHECK_EPHEMERAL_TRIES = 3
/** Default path of the pqc configuration file (pqc.conf(5)). */
export const PQC_CONFIG_FILE_DEFAULT = '/etc/pqconnect/pqc.json'

// ---- privilege separation (architecture.md section 3; security-tests.md section 11) ----

/** The unprivileged user and group the workers run as (created by `pqc install`). */
export const WORKER_USER = 'pqconnect'
/** Largest request a worker may send the monitor (a steer set of 4096 servers is ~400 KiB). */
export const MONITOR_MAX_REQUEST_BYTES = 1 << 20
/** Delay before restarting a worker that died; doubles per quick death up to the max. */
export const WORKER_RESTART_MIN_MS = 100
export const WORKER_RESTART_MAX_MS = 5000
/** A worker that lived this long before dying is restarted after the minimum delay again. */
export const WORKER_STABLE_MS = 30_000
/** How long a stopping worker gets after SIGTERM before SIGKILL. */
export const WORKER_STOP_TIMEOUT_MS = 3000
/** How long the monitor waits for a worker's first 'ready' before calling the start failed. */
export const WORKER_READY_TIMEOUT_MS = 30_000
/** Steer requests waiting while nft runs (only the newest set matters: older ones are dropped). */
export const MONITOR_MAX_PENDING_STEERS = 1
/** How often the monitor checks that its TUN device still exists (an admin may delete it). */
export const TUN_WATCH_INTERVAL_MS = 1000
/** Listen backlog of the DNS-over-TCP socket the monitor binds for the resolver. */
export const DNS_TCP_BACKLOG = 128
