/**
 * Parsers for what one tunbench run leaves in its results directory (test/bench/tunnel/run.sh):
 * summary.tsv (tunnel, metric, n, median, min, max), status.tsv, the settings line of
 * machine.txt, pqc-only JSON lines (own/*.json) and the pqc client log's tunnel-up timings.
 * Pure functions over text; malformed lines are skipped, never thrown on.
 */

export interface Stat {
  n: number
  median: number
  min: number
  max: number
}

/** tunnel -> metric -> statistics, tunnels in first-seen order. */
export type Summary = Map<string, Map<string, Stat>>

export function parseSummary(text: string): Summary {
  const out: Summary = new Map()
  for (const line of text.split('\n')) {
    const [tunnel, metric, n, median, min, max] = line.split('\t')
    if (tunnel === undefined || metric === undefined || tunnel === '' || max === undefined) continue
    const stat = {n: Number(n), median: Number(median), min: Number(min), max: Number(max)}
    if (![stat.n, stat.median, stat.min, stat.max].every(Number.isFinite)) continue
    let m = out.get(tunnel)
    if (m === undefined) out.set(tunnel, (m = new Map()))
    m.set(metric, stat)
  }
  return out
}

/** status.tsv: tunnel -> last status written for it ("ok", "setup failed", "ok (noisy: 2 tests)"). */
export function parseStatus(text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const line of text.split('\n')) {
    const tab = line.indexOf('\t')
    if (tab > 0) out.set(line.slice(0, tab), line.slice(tab + 1).trim())
  }
  return out
}

/** The `settings:` line of machine.txt as key -> value (DURATION, REPS, PARALLEL, UDP_LEN, TUN_MTU...). */
export function parseSettings(machineTxt: string): Map<string, string> {
  const out = new Map<string, string>()
  const line = machineTxt.split('\n').find((l) => l.startsWith('settings:'))
  if (line === undefined) return out
  for (const m of line.matchAll(/([A-Z_]+)=(\S+)/g)) out.set(m[1]!, m[2]!)
  return out
}

/** One pqc-only figure, as test/bench/own/ scripts print them: one JSON object per line. */
export interface OwnFigure {
  source: string
  metric: string
  value: number
  unit: string
  note: string
}

export function parseOwnLines(text: string, source: string): OwnFigure[] {
  const out: OwnFigure[] = []
  for (const line of text.split('\n')) {
    const t = line.trim()
    if (!t.startsWith('{')) continue
    let o: unknown
    try {
      o = JSON.parse(t)
    } catch {
      continue
    }
    if (typeof o !== 'object' || o === null) continue
    const r = o as Record<string, unknown>
    if (typeof r.metric !== 'string' || typeof r.value !== 'number' || !Number.isFinite(r.value)) continue
    out.push({source, metric: r.metric, value: r.value, unit: typeof r.unit === 'string' ? r.unit : '',
      note: typeof r.note === 'string' ? r.note : ''})
  }
  return out
}

/**
 * Tunnel set-up times the pqc client logs ("tunnel <tid> to <name> up in 1.335 s"): from the DNS
 * answer that announced the server to the tunnel being up. A start of the router ("router: <tun>
 * <cidr>, UDP port") opens a new client run; an "up" line after a "downloaded and verified" line
 * of the same run paid the static key download, the others used the key cache; "up" lines after the
 * first one of a run (a new tunnel while the client kept running: rekey or reconnect) are apart.
 */
export interface TunnelUpTimes {
  withDownloadS: number[]
  cachedKeyS: number[]
  laterS: number[]
  downloadS: number[]
}

export function parseClientLog(text: string): TunnelUpTimes {
  const out: TunnelUpTimes = {withDownloadS: [], cachedKeyS: [], laterS: [], downloadS: []}
  let downloaded = false
  let ups = 0
  for (const line of text.split('\n')) {
    if (/ router: \S+ [0-9.]+\/\d+, UDP port/.test(line)) {
      downloaded = false
      ups = 0
    }
    const dl = / downloaded and verified: \d+ requests in ([0-9.]+) s/.exec(line)
    if (dl !== null) {
      downloaded = true
      out.downloadS.push(Number(dl[1]))
    }
    const up = / tunnel \S+ to \S+ up in ([0-9.]+) s/.exec(line)
    if (up !== null) (ups++ > 0 ? out.laterS : downloaded ? out.withDownloadS : out.cachedKeyS).push(Number(up[1]))
  }
  return out
}

/** Median of a list (mean of the two middle values for even lengths); undefined when empty. */
export function median(xs: readonly number[]): number | undefined {
  if (xs.length === 0) return undefined
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1]! + s[mid]!) / 2
}
