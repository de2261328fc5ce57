/**
 * The pq1 DNS announcement (pq1-protocol.md sections 2.1 and 2.3): a label
 * `pq1` + base32(32-byte key hash) [+ base32(BE16 crypto port) + base32(BE16 key port)],
 * 55 or 63 characters. Parsing is case-insensitive and never throws: anything that is not a valid
 * announcement is `undefined` ("not an announcement").
 */
import {DNS_ENCODED_HASH_LEN, DNS_ENCODED_PORT_LEN, HLEN, SUPPORTED_MAJOR_VERSIONS} from '../constants.js'
import {base32Decode, base32Encode} from './base32.js'

export interface Announcement {
  /** Version digit after `pq` ("1"). */
  version: string
  /** The Merkle root of mceliece_pk || x25519_pk: the server's identity. */
  keyHash: Uint8Array
  /** Crypto (handshake and tunnel) UDP port, when the label carries ports. */
  pqcPort?: number
  /** Key-server UDP port, when the label carries ports. */
  keyPort?: number
}

const PREFIX_LEN = 3
const SHORT_LABEL_LEN = PREFIX_LEN + DNS_ENCODED_HASH_LEN
const LONG_LABEL_LEN = SHORT_LABEL_LEN + 2 * DNS_ENCODED_PORT_LEN

/** Does this label have the shape of an announcement (prefix and length)? Cheap pre-check. */
function looksLikeAnnouncement(label: string): boolean {
  if (label.length !== SHORT_LABEL_LEN && label.length !== LONG_LABEL_LEN) return false
  return (label.charCodeAt(0) | 0x20) === 0x70 /* p */ && (label.charCodeAt(1) | 0x20) === 0x71 /* q */
    && label.charCodeAt(2) >= 0x30 && label.charCodeAt(2) <= 0x39
}

function decodePort(text: string): number | undefined {
  const b = base32Decode(text)
  if (b === undefined || b.length !== 2) return undefined
  // The port was written big-endian before base32 (section 2.1): read it back the same way.
  const port = (b[0]! << 8) | b[1]!
  return port === 0 ? undefined : port
}

export function encodePort(port: number): string {
  if (!Number.isInteger(port) || port < 1 || port > 0xffff) throw new RangeError(`port out of range: ${port}`)
  return base32Encode(Uint8Array.of(port >> 8, port & 0xff))
}

/** Parse one DNS label. Returns undefined for anything but a valid, supported announcement. */
export function parseAnnouncementLabel(label: string): Announcement | undefined {
  if (!looksLikeAnnouncement(label)) return undefined
  const version = label[2]!
  if (!(SUPPORTED_MAJOR_VERSIONS as readonly string[]).includes(version)) return undefined
  const keyHash = base32Decode(label.slice(PREFIX_LEN, SHORT_LABEL_LEN))
  if (keyHash === undefined || keyHash.length !== HLEN) return undefined
  if (label.length === SHORT_LABEL_LEN) return {version, keyHash}
  const pqcPort = decodePort(label.slice(SHORT_LABEL_LEN, SHORT_LABEL_LEN + DNS_ENCODED_PORT_LEN))
  const keyPort = decodePort(label.slice(SHORT_LABEL_LEN + DNS_ENCODED_PORT_LEN))
  if (pqcPort === undefined || keyPort === undefined) return undefined
  return {version, keyHash, pqcPort, keyPort}
}

/**
 * Find the announcement in a domain name: like the reference, the first label with the shape of
 * an announcement decides; if it does not decode, the name is not an announcement.
 */
export function parseAnnouncementName(name: string): Announcement | undefined {
  for (const label of name.split('.')) {
    if (looksLikeAnnouncement(label)) return parseAnnouncementLabel(label)
  }
  return undefined
}

/** Format the label: 55 characters without ports, 63 with both ports. */
export function formatAnnouncementLabel(keyHash: Uint8Array, ports?: {pqcPort: number; keyPort: number}): string {
  if (keyHash.length !== HLEN) throw new RangeError('key hash must be 32 bytes')
  const base = `pq1${base32Encode(keyHash)}`
  return ports === undefined ? base : base + encodePort(ports.pqcPort) + encodePort(ports.keyPort)
}
