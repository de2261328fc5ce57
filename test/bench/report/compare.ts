/**
 * The side-by-side comparison of one tunbench run: which metrics (from summary.tsv, plus CPU per
 * Gbit/s derived from them), each tunnel's median, and ratio = subject median / peer median per
 * metric; rendered as the Markdown tables of table.md. Pure: text in, text out.
 */
import {type OwnFigure, type Stat, type Summary, type TunnelUpTimes, median} from './summary.js'

export type Better = 'higher' | 'lower'

export interface MetricDef {
  key: string
  label: string
  unit: string
  better: Better
  decimals: number
  /** Shown as a group in chart.svg. */
  chart: boolean
}

/** The metrics of the comparison, in table order; `parallel`/`udpLen` only change labels. */
export function metricDefs(parallel = '4', udpLen = '64'): MetricDef[] {
  return [
    {key: 'tcp1_mbps', label: 'TCP x1', unit: 'Mbit/s', better: 'higher', decimals: 0, chart: true},
    {key: 'tcpN_mbps', label: `TCP x${parallel}`, unit: 'Mbit/s', better: 'higher', decimals: 0, chart: true},
    {key: 'udp_rxkpps', label: `UDP ${udpLen}B rx`, unit: 'kpps', better: 'higher', decimals: 1, chart: true},
    {key: 'rtt_avg_ms', label: 'ping RTT avg', unit: 'ms', better: 'lower', decimals: 3, chart: true},
    {key: 'tcp1_cpuA', label: 'CPU tunnel A, TCP x1', unit: '% of 1 core', better: 'lower', decimals: 0, chart: true},
    {key: 'tcp1_cpuB', label: 'CPU tunnel B, TCP x1', unit: '% of 1 core', better: 'lower', decimals: 0, chart: true},
    {key: 'tcp1_cpu_per_gbps', label: 'CPU A+B per Gbit/s, TCP x1', unit: '% core per Gbit/s', better: 'lower', decimals: 0, chart: true},
    {key: 'tcpN_cpuA', label: `CPU tunnel A, TCP x${parallel}`, unit: '% of 1 core', better: 'lower', decimals: 0, chart: false},
    {key: 'tcpN_cpuB', label: `CPU tunnel B, TCP x${parallel}`, unit: '% of 1 core', better: 'lower', decimals: 0, chart: false},
    {key: 'udp_cpuA', label: 'CPU tunnel A, UDP', unit: '% of 1 core', better: 'lower', decimals: 0, chart: false},
    {key: 'udp_cpuB', label: 'CPU tunnel B, UDP', unit: '% of 1 core', better: 'lower', decimals: 0, chart: false},
  ]
}

/** summary.tsv statistics plus the derived tcp1_cpu_per_gbps (medians only: n = 1, min = max = median). */
export function statOf(summary: Summary, tunnel: string, key: string): Stat | undefined {
  const m = summary.get(tunnel)
  if (m === undefined) return undefined
  if (key !== 'tcp1_cpu_per_gbps') return m.get(key)
  const a = m.get('tcp1_cpuA')
  const b = m.get('tcp1_cpuB')
  const mbps = m.get('tcp1_mbps')
  if (a === undefined || b === undefined || mbps === undefined || mbps.median <= 0) return undefined
  const v = (a.median + b.median) / (mbps.median / 1000)
  return {n: 1, median: v, min: v, max: v}
}

/** subject / peer of the medians; undefined when either is missing or the peer's is 0. */
export function ratio(subject: Stat | undefined, peer: Stat | undefined): number | undefined {
  if (subject === undefined || peer === undefined || peer.median === 0) return undefined
  return subject.median / peer.median
}

export interface ComparisonRow {
  def: MetricDef
  /** tunnel -> statistics (missing tunnels absent). */
  values: Map<string, Stat>
  /** peer -> subject/peer ratio. */
  ratios: Map<string, number>
}

export interface Comparison {
  subject: string
  /** Every tunnel column in order; the subject among them. */
  tunnels: string[]
  peers: string[]
  rows: ComparisonRow[]
}

/** Tunnels in `order` that appear in the summary, then any others found there. */
export function compare(summary: Summary, subject: string, order: readonly string[], defs: MetricDef[]): Comparison {
  const tunnels = [...order.filter((t) => summary.has(t)), ...[...summary.keys()].filter((t) => !order.includes(t))]
  const peers = tunnels.filter((t) => t !== subject)
  const rows = defs.map((def) => {
    const values = new Map<string, Stat>()
    for (const t of tunnels) {
      const s = statOf(summary, t, def.key)
      if (s !== undefined) values.set(t, s)
    }
    const ratios = new Map<string, number>()
    for (const p of peers) {
      const r = ratio(values.get(subject), values.get(p))
      if (r !== undefined) ratios.set(p, r)
    }
    return {def, values, ratios}
  })
  return {subject, tunnels, peers, rows}
}

export function formatStat(s: Stat | undefined, decimals: number): string {
  if (s === undefined) return '-'
  const f = (x: number): string => x.toFixed(decimals)
  return s.n > 1 && s.min !== s.max ? `${f(s.median)} (${f(s.min)}-${f(s.max)})` : f(s.median)
}

const cell = (s: string): string => s.replaceAll('|', '\\|').replaceAll('\n', ' ')

/** The comparison table: one row per metric, one column per tunnel, then one ratio column per peer. */
export function comparisonMarkdown(c: Comparison, status: Map<string, string>): string {
  const name = (t: string): string => (t === c.subject ? `**${t}**` : t)
  const head = ['metric', 'unit', 'better', ...c.tunnels.map(name), ...c.peers.map((p) => `${c.subject}/${p}`)]
  const lines = [`| ${head.map(cell).join(' | ')} |`, `|${head.map((_, i) => (i < 3 ? '---' : '---:')).join('|')}|`]
  for (const row of c.rows) {
    if (row.values.size === 0) continue
    const vals = c.tunnels.map((t) => formatStat(row.values.get(t), row.def.decimals))
    const rats = c.peers.map((p) => {
      const r = row.ratios.get(p)
      return r === undefined ? '-' : r.toFixed(2)
    })
    lines.push(`| ${[row.def.label, row.def.unit, row.def.better, ...vals, ...rats].map(cell).join(' | ')} |`)
  }
  const st = c.tunnels.map((t) => status.get(t) ?? '?')
  lines.push(`| ${['status', '', '', ...st, ...c.peers.map(() => '')].map(cell).join(' | ')} |`)
  return lines.join('\n')
}

/** pqc-only figures: the own/*.json lines, then the tunnel-up times of the client log. */
export function ownMarkdown(figs: OwnFigure[], up: TunnelUpTimes | undefined): string {
  const lines: string[] = []
  if (figs.length > 0) {
    lines.push('| source | metric | value | unit | note |', '|---|---|---:|---|---|')
    for (const f of figs) lines.push(`| ${[f.source, f.metric, String(f.value), f.unit, f.note].map(cell).join(' | ')} |`)
  }
  const series: Array<[string, number[]]> = up === undefined ? [] : [
    ['tunnel up after the DNS answer, empty key cache (static key download + handshake)', up.withDownloadS],
    ['tunnel up after the DNS answer, key cached (ephemeral key + handshake)', up.cachedKeyS],
    ['later tunnel of a running client (rekey or reconnect): handshake', up.laterS],
    ['static key download (McEliece public key, Merkle-verified)', up.downloadS],
  ]
  const withData = series.filter(([, xs]) => xs.length > 0)
  if (withData.length > 0) {
    if (lines.length > 0) lines.push('')
    lines.push('From the pqc client log of the tunnel benchmark (logs/pqc/client.log):', '',
      '| figure | n | median ms | min-max ms |', '|---|---:|---:|---:|')
    for (const [label, xs] of withData) {
      const ms = xs.map((x) => x * 1000)
      lines.push(`| ${label} | ${ms.length} | ${median(ms)!.toFixed(0)} | ${Math.min(...ms).toFixed(0)}-${Math.max(...ms).toFixed(0)} |`)
    }
  }
  return lines.join('\n')
}
