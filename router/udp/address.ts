/**
 * Packed IP addresses for the data path: text <-> 4 or 16 network-order bytes, and the address
 * of datagram i of a batch. Parsing is strict (node:net's isIP decides validity); bad input
 * returns undefined, never throws, so it is safe on remote data.
 */
import {isIP} from 'node:net'

import type {DatagramBatch} from './bind.js'

export interface PackedAddress {
  readonly family: 4 | 6
  readonly bytes: Uint8Array
}

function parseV4(text: string, out: Uint8Array, at: number): void {
  const parts = text.split('.')
  for (let i = 0; i < 4; i++) out[at + i] = Number(parts[i])
}

/** '10.99.0.1' -> 4 bytes, '2001:db8::1' -> 16 bytes (embedded IPv4 allowed); undefined if invalid. */
export function parseAddress(text: string): PackedAddress | undefined {
  const version = isIP(text)
  if (version === 4) {
    const bytes = new Uint8Array(4)
    parseV4(text, bytes, 0)
    return {family: 4, bytes}
  }
  if (version !== 6 || text.includes('%')) return undefined
  const bytes = new Uint8Array(16)
  let body = text
  let tailV4: string | undefined
  const lastColon = body.lastIndexOf(':')
  if (body.slice(lastColon + 1).includes('.')) {
    tailV4 = body.slice(lastColon + 1)
    body = `${body.slice(0, lastColon + 1)}0:0`
  }
  const [left, right] = body.includes('::') ? body.split('::') : [body, undefined]
  const groups = (s: string | undefined): string[] => (s === undefined || s === '' ? [] : s.split(':'))
  const l = groups(left)
  const r = groups(right)
  const all = [...l, ...new Array<string>(8 - l.length - r.length).fill('0'), ...r]
  all.forEach((g, i) => {
    const v = parseInt(g, 16)
    bytes[2 * i] = v >> 8
    bytes[2 * i + 1] = v & 0xff
  })
  if (tailV4 !== undefined) parseV4(tailV4, bytes, 12)
  return {family: 6, bytes}
}

/** 4 bytes -> dotted quad; 16 bytes -> RFC 5952 text (longest zero run compressed). */
export function formatAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`
  const g: number[] = []
  for (let i = 0; i < 8; i++) g.push((bytes[2 * i]! << 8) | bytes[2 * i + 1]!)
  let bestAt = -1
  let bestLen = 1
  for (let i = 0; i < 8;) {
    let j = i
    while (j < 8 && g[j] === 0) j++
    if (j - i > bestLen) {
      bestAt = i
      bestLen = j - i
    }
    i = j === i ? i + 1 : j
  }
  const hexOf = (a: number[]): string => a.map((x) => x.toString(16)).join(':')
  if (bestAt < 0) return hexOf(g)
  return `${hexOf(g.slice(0, bestAt))}::${hexOf(g.slice(bestAt + bestLen))}`
}

/** A view of the source address of datagram i (no copy: valid only during the callback). */
export function addressAt(batch: DatagramBatch, i: number): Uint8Array {
  return batch.addresses.subarray(i * batch.addressBytes, (i + 1) * batch.addressBytes)
}
