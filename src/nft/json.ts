/**
 * The subset of the libnftables JSON schema (libnftables-json(5), schema version 1, nftables
 * 1.0.6) that we emit, as types and small builders, and the batch that replaces our one table
 * atomically. Everything is structured data: no rule is ever built by string interpolation
 * (security-tests.md F-6), so a DNS-derived string can never become a command.
 */
import {NFT_TABLE_FAMILY, NFT_TABLE_NAME} from '../constants.js'

/** An expression: a literal (address, port, name), or a structured object such as {payload: ...}. */
export type NftExpr = string | number | boolean | {[key: string]: unknown}

/** One statement of a rule (match, verdict, dnat, masquerade, ...). */
export type NftStmt = {[key: string]: unknown}

export interface NftTableRef {
  family: string
  name: string
}

export interface NftChain {
  family: string
  table: string
  name: string
  /** Base chains only: type, hook, prio, policy. */
  type?: 'filter' | 'nat'
  hook?: 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting'
  prio?: number
  policy?: 'accept' | 'drop'
}

/** A named set or map (a map has `map`, the type of its values). */
export interface NftSet {
  family: string
  table: string
  name: string
  type: string | string[]
  map?: string
  size?: number
  elem?: NftExpr[]
}

export interface NftRule {
  family: string
  table: string
  chain: string
  comment?: string
  expr: NftStmt[]
}

export type NftObject = {table: NftTableRef} | {chain: NftChain} | {set: NftSet} | {map: NftSet} | {rule: NftRule}

export type NftCommand = {metainfo: {json_schema_version: 1}} | {add: NftObject} | {delete: NftObject}

/** What `nft -j` takes: one batch, applied in one netlink transaction (all or nothing). */
export interface NftBatch {
  nftables: NftCommand[]
}

export const OUR_TABLE: NftTableRef = {family: NFT_TABLE_FAMILY, name: NFT_TABLE_NAME}

const METAINFO: NftCommand = {metainfo: {json_schema_version: 1}}

/**
 * The batch that makes our table exactly `objects`, whether or not it exists before: add (a no-op
 * when present), delete (now always present), add again, then the contents. One transaction, so
 * other processes see either the old table or the new one, never a gap or a half (`flush` would
 * keep stale sets and chains, and `delete` alone fails when the table is absent).
 */
export function replaceTableBatch(objects: NftObject[]): NftBatch {
  return {
    nftables: [
      METAINFO,
      {add: {table: {...OUR_TABLE}}},
      {delete: {table: {...OUR_TABLE}}},
      {add: {table: {...OUR_TABLE}}},
      ...objects.map((o): NftCommand => ({add: o})),
    ],
  }
}

/** The batch that removes our table from any state: succeeds whether or not it exists. */
export function removeTableBatch(): NftBatch {
  return {nftables: [METAINFO, {add: {table: {...OUR_TABLE}}}, {delete: {table: {...OUR_TABLE}}}]}
}

// ---- expression and statement builders (the shapes `nft -j list ruleset` prints) ----

export const payload = (protocol: string, field: string): NftExpr => ({payload: {protocol, field}})
export const meta = (key: string): NftExpr => ({meta: {key}})
export const ct = (key: string): NftExpr => ({ct: {key}})
export const anonSet = (items: NftExpr[]): NftExpr => ({set: items})
export const concat = (items: NftExpr[]): NftExpr => ({concat: items})
export const prefix = (addr: string, len: number): NftExpr => ({prefix: {addr, len}})
/** A reference to a named set or map of our table. */
export const setRef = (name: string): string => `@${name}`

export function match(left: NftExpr, right: NftExpr, op: '==' | '!=' | 'in' = '=='): NftStmt {
  return {match: {op, left, right}}
}

export const accept = (): NftStmt => ({accept: null})
export const drop = (): NftStmt => ({drop: null})
export const ret = (): NftStmt => ({return: null})
export const jump = (target: string): NftStmt => ({jump: {target}})
export const masquerade = (): NftStmt => ({masquerade: null})
export const counter = (): NftStmt => ({counter: {packets: 0, bytes: 0}})

/** `dnat ip to ip daddr map @name`: the new destination is looked up by the old one. */
export function dnatIpByMap(key: NftExpr, mapName: string): NftStmt {
  return {dnat: {family: 'ip', addr: {map: {key, data: setRef(mapName)}}}}
}

/** `dnat <family> to ADDR:PORT`. */
export function dnatTo(family: 'ip' | 'ip6', addr: string, port: number): NftStmt {
  return {dnat: {family, addr, port}}
}

/** A base chain of our table. */
export function baseChain(name: string, type: 'filter' | 'nat', hook: NonNullable<NftChain['hook']>, prio: number): NftObject {
  return {chain: {family: OUR_TABLE.family, table: OUR_TABLE.name, name, type, hook, prio, policy: 'accept'}}
}

/** A regular chain (reached only by jump). */
export function regularChain(name: string): NftObject {
  return {chain: {family: OUR_TABLE.family, table: OUR_TABLE.name, name}}
}

export function rule(chain: string, expr: NftStmt[], comment?: string): NftObject {
  const r: NftRule = {family: OUR_TABLE.family, table: OUR_TABLE.name, chain, expr}
  if (comment !== undefined) r.comment = comment
  return {rule: r}
}

/** A named set; `elem` is left out when empty (nft rejects an empty element list). */
export function namedSet(name: string, type: string | string[], size: number, elem: NftExpr[]): NftObject {
  const s: NftSet = {family: OUR_TABLE.family, table: OUR_TABLE.name, name, type, size}
  if (elem.length > 0) s.elem = elem
  return {set: s}
}

/** A named map from `type` to `map`; elements are [key, value] pairs. */
export function namedMap(name: string, type: string, valueType: string, size: number, pairs: [NftExpr, NftExpr][]): NftObject {
  const m: NftSet = {family: OUR_TABLE.family, table: OUR_TABLE.name, name, type, map: valueType, size}
  if (pairs.length > 0) m.elem = pairs as unknown as NftExpr[]
  return {map: m}
}
