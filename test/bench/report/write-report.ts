/**
 * Report writer of `npm run bench` (test/bench/tunnel/bench.sh): reads one tunbench results
 * directory (summary.tsv, status.tsv, machine.txt, own/*.json, logs/pqc/client.log) and writes
 * table.md (comparison with ratios, pqc-only figures, the harness's own tables, which run.sh wrote
 * as table.md and are kept as harness-table.md) and chart.svg.
 * Run: node --import tsx test/bench/report/write-report.ts DIR [--subject pqc] [--order "a b"] [--title T]
 */
import {existsSync, readFileSync, readdirSync, renameSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {compare, comparisonMarkdown, metricDefs, ownMarkdown} from './compare.js'
import {renderChart} from './svg.js'
import {type OwnFigure, parseClientLog, parseOwnLines, parseSettings, parseStatus, parseSummary} from './summary.js'

/** First line of table.md files this writer produced (so a re-run does not treat it as the harness's). */
export const REPORT_MARKER = '<!-- written by test/bench/report/write-report.ts -->'

export interface ReportOptions {
  subject: string
  order: string[]
  title: string
}

export interface ReportInput {
  summaryTsv: string
  statusTsv: string
  machineTxt: string
  harnessTable: string
  /** file name (without .json) -> contents */
  own: Map<string, string>
  /** logs/<subject>/client.log, when present */
  clientLog: string | undefined
}

/** table.md and chart.svg for one results directory's contents. */
export function buildReport(input: ReportInput, o: ReportOptions): {markdown: string; svg: string} {
  const summary = parseSummary(input.summaryTsv)
  const settings = parseSettings(input.machineTxt)
  const c = compare(summary, o.subject, o.order, metricDefs(settings.get('PARALLEL'), settings.get('UDP_LEN')))
  const figs: OwnFigure[] = [...input.own].flatMap(([name, text]) => parseOwnLines(text, name))
  const own = ownMarkdown(figs, input.clientLog === undefined ? undefined : parseClientLog(input.clientLog))
  const machine = ['cpu', 'nproc', 'kernel', 'settings'].map((k) => input.machineTxt.split('\n').find((l) => l.startsWith(`${k}:`)))
    .filter((l): l is string => l !== undefined)
  const md = [
    REPORT_MARKER,
    `# ${o.title}`,
    '',
    ...machine.map((l) => `- ${l}`),
    '',
    `## Side by side: median (min-max) over the repetitions; ratio = ${o.subject} median / peer median`,
    '',
    `"better" says which direction is good: for "higher" metrics a ratio above 1 means ${o.subject} is ahead, for`,
    `"lower" metrics (RTT, CPU) a ratio below 1 does. CPU is the tunnel processes' utime+stime during the iperf3`,
    'run in % of ONE core (A = client side, B = server side; the machine has 2 cores); "per Gbit/s" divides A+B by',
    'the TCP x1 throughput. Differences under ~25 % are within the run-to-run noise of this shared machine.',
    '',
    comparisonMarkdown(c, parseStatus(input.statusTsv)),
    '',
    '![bar chart](chart.svg)',
    '',
    `## ${o.subject}-only figures`,
    '',
    own === '' ? '(none in this run)' : own,
    '',
    '## Harness tables (run.sh)',
    '',
    input.harnessTable.trim() === '' ? '(missing)' : input.harnessTable.trim(),
    '',
  ].join('\n')
  return {markdown: md, svg: renderChart(c, o.title)}
}

const readOr = (path: string, dflt: string): string => (existsSync(path) ? readFileSync(path, 'utf8') : dflt)

export function writeReport(dir: string, o: ReportOptions): void {
  const table = join(dir, 'table.md')
  const harness = join(dir, 'harness-table.md')
  if (existsSync(table) && !readFileSync(table, 'utf8').startsWith(REPORT_MARKER)) renameSync(table, harness)
  const own = new Map<string, string>()
  const ownDir = join(dir, 'own')
  if (existsSync(ownDir)) {
    for (const f of readdirSync(ownDir).filter((n) => n.endsWith('.json')).sort()) own.set(f.slice(0, -5), readFileSync(join(ownDir, f), 'utf8'))
  }
  const clientLog = join(dir, 'logs', o.subject, 'client.log')
  const {markdown, svg} = buildReport({
    summaryTsv: readFileSync(join(dir, 'summary.tsv'), 'utf8'),
    statusTsv: readOr(join(dir, 'status.tsv'), ''),
    machineTxt: readOr(join(dir, 'machine.txt'), ''),
    harnessTable: readOr(harness, ''),
    own,
    clientLog: existsSync(clientLog) ? readFileSync(clientLog, 'utf8') : undefined,
  }, o)
  writeFileSync(table, markdown)
  writeFileSync(join(dir, 'chart.svg'), svg)
}

function main(argv: string[]): void {
  const dir = argv[0]
  if (dir === undefined || dir.startsWith('--')) {
    process.stderr.write('usage: write-report.ts DIR [--subject pqc] [--order "baseline wggo pqc"] [--title TEXT]\n')
    process.exit(2)
  }
  const flag = (name: string, dflt: string): string => {
    const i = argv.indexOf(name)
    return i > 0 && argv[i + 1] !== undefined ? argv[i + 1]! : dflt
  }
  const subject = flag('--subject', 'pqc')
  const order = flag('--order', '').split(/\s+/).filter((t) => t !== '')
  writeReport(dir, {subject, order, title: flag('--title', `${subject} vs userspace VPN tunnels`)})
  process.stdout.write(`wrote ${join(dir, 'table.md')} and ${join(dir, 'chart.svg')}\n`)
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) main(process.argv.slice(2))
