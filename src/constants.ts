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
