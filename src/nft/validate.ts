/**
 * Checks every value before it enters a rendered ruleset (security-tests.md F-6, P-2): IPv4 and
 * IPv6 addresses in canonical form, prefixes, ports, interface names, uids and marks. Values come
 * from our own config and the router's validated peer table, so a bad one is misuse: LocalError.
 */
import {LocalError} from '../errors.js'
import {formatIpv4, parseIpv4} from '../net/ipv4.js'

function bad(what: string, value: unknown): never {
  throw new LocalError('PQC_ERR_CONFIG_INVALID', `nft: invalid ${what}: ${JSON.stringify(value)}`)
}

/** A dotted-quad IPv4 address, returned canonical (no leading zeros). */
export function checkIpv4(value: string, what: string): string {
  const v = typeof value === 'string' ? parseIpv4(value) : undefined
  return v === undefined ? bad(what, value) : formatIpv4(v)
}

/** The address as a 32-bit number (after checkIpv4). */
export const ipv4Number = (value: string): number => parseIpv4(value)!

/** `a.b.c.d/len` with no host bits set; returned as [network, len]. */
export function checkIpv4Cidr(value: string, what: string): [string, number] {
  const m = typeof value === 'string' ? /^([0-9.]+)\/(\d{1,2})$/.exec(value) : null
  if (m === null || Number(m[2]) > 32) bad(what, value)
  const addr = parseIpv4(m[1]!)
  const len = Number(m[2])
  if (addr === undefined) bad(what, value)
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0
  if (((addr & ~mask) >>> 0) !== 0) bad(`${what} (host bits set)`, value)
  return [formatIpv4(addr), len]
}

/** True when the IPv4 address lies inside network/len. */
export function ipv4InCidr(addr: string, network: string, len: number): boolean {
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0
  return ((ipv4Number(addr) & mask) >>> 0) === ((ipv4Number(network) & mask) >>> 0)
}

/**
 * An IPv6 address (for the optional IPv6 DNS capture target). Only the characters and the shape
 * are checked here; nft parses it again and rejects anything else.
 */
export function checkIpv6(value: string, what: string): string {
  if (typeof value !== 'string' || !/^[0-9a-fA-F:]{2,39}$/.test(value) || !value.includes(':')) bad(what, value)
  const groups = value.split('::')
  if (groups.length > 2) bad(what, value)
  const parts = value.split(':').filter((p) => p !== '')
  if (parts.some((p) => p.length > 4) || parts.length > 8 || (groups.length === 1 && parts.length !== 8)) bad(what, value)
  return value.toLowerCase()
}

/** A TCP/UDP port, 1..65535. */
export function checkPort(value: number, what: string): number {
  return Number.isInteger(value) && value >= 1 && value <= 65535 ? value : bad(what, value)
}

/** A list of ports, deduplicated and sorted, at most `max` of them. */
export function checkPorts(values: readonly number[], what: string, max: number): number[] {
  if (!Array.isArray(values) || values.length > max) bad(`${what} (at most ${max})`, values)
  return [...new Set(values.map((p) => checkPort(p, what)))].sort((a, b) => a - b)
}

/**
 * A Linux interface name (IFNAMSIZ 16 with the NUL): letters, digits, `_`, `-`, `.`. Stricter
 * than the kernel (which allows most bytes) so no name can carry quotes, wildcards or spaces.
 */
export function checkIfname(value: string, what: string): string {
  return typeof value === 'string' && /^[A-Za-z0-9_.-]{1,15}$/.test(value) && value !== '.' && value !== '..' ? value : bad(what, value)
}

/** A uid or a socket mark: an unsigned 32-bit integer. */
export function checkU32(value: number, what: string): number {
  return Number.isInteger(value) && value >= 0 && value <= 0xffffffff ? value : bad(what, value)
}
