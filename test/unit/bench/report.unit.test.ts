/**
 * The tunnel benchmark's report writer (test/bench/report/): summary.tsv parsing, pqc/peer ratios,
 * the Markdown comparison table, pqc-only figures (own/*.json, client log) and chart.svg
 * well-formedness, on a small fixture summary.tsv; writeReport on a temporary results directory.
 */
import assert from 'node:assert/strict'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {test} from 'node:test'

import {compare, comparisonMarkdown, metricDefs, ratio, statOf} from '../../bench/report/compare.js'
import {renderChart, xmlEscape} from '../../bench/report/svg.js'
import {median, parseClientLog, parseOwnLines, parseSettings, parseStatus, parseSummary} from '../../bench/report/summary.js'
import {REPORT_MARKER, buildReport, writeReport} from '../../bench/report/write-report.js'

/** tunnel metric n median min max, as run.sh's summarize() writes it (plus one malformed line). */
const SUMMARY = [
  'baseline\ttcp1_mbps\t3\t18000\t15000\t19000',
  'baseline\trtt_avg_ms\t3\t0.045\t0.04\t0.05',
  'wggo\ttcp1_mbps\t3\t600\t550\t650',
  'wggo\ttcpN_mbps\t3\t580\t500\t680',
  'wggo\tudp_rxkpps\t3\t48.4\t40\t52',
  'wggo\trtt_avg_ms\t3\t0.4\t0.3\t0.5',
  'wggo\ttcp1_cpuA\t3\t84\t80\t90',
  'wggo\ttcp1_cpuB\t3\t70\t60\t75',
  'garbage line without tabs',
  'pqc\ttcp1_mbps\t3\t300\t280\t320',
  'pqc\ttcpN_mbps\t1\t290\t290\t290',
  'pqc\tudp_rxkpps\t3\t24.2\t20\t30',
  'pqc\trtt_avg_ms\t3\t0.8\t0.7\t0.9',
  'pqc\ttcp1_cpuA\t3\t90\t88\t95',
  'pqc\ttcp1_cpuB\t3\t75\t70\t80',
  '',
].join('\n')
const STATUS = 'baseline\tok\nwggo\tok (noisy: 1 tests)\npqc\tok\n'
const MACHINE = 'nproc: 2\nsettings: DURATION=10 OMIT=1 REPS=3 UDP_LEN=64 PARALLEL=4 TUN_MTU=1280 UNDER_MTU=1500\n'
const ORDER = ['baseline', 'wggo', 'pqc']

test('parseSummary keeps tunnel order and skips malformed lines', () => {
  const s = parseSummary(SUMMARY)
  assert.deepEqual([...s.keys()], ['baseline', 'wggo', 'pqc'])
  assert.deepEqual(s.get('wggo')?.get('tcp1_mbps'), {n: 3, median: 600, min: 550, max: 650})
  assert.equal(s.get('pqc')?.size, 6)
  assert.equal(parseSettings(MACHINE).get('PARALLEL'), '4')
  assert.equal(parseStatus(STATUS).get('wggo'), 'ok (noisy: 1 tests)')
  assert.equal(median([3, 1, 2]), 2)
  assert.equal(median([4, 1, 2, 3]), 2.5)
  assert.equal(median([]), undefined)
})

test('ratios are pqc median / peer median, missing when either side is missing', () => {
  const c = compare(parseSummary(SUMMARY), 'pqc', ORDER, metricDefs())
  assert.deepEqual(c.tunnels, ORDER)
  assert.deepEqual(c.peers, ['baseline', 'wggo'])
  const row = (key: string) => c.rows.find((r) => r.def.key === key)!
  assert.equal(row('tcp1_mbps').ratios.get('wggo'), 0.5)
  assert.equal(row('tcp1_mbps').ratios.get('baseline'), 300 / 18000)
  assert.equal(row('rtt_avg_ms').ratios.get('wggo'), 2)
  assert.equal(row('udp_rxkpps').ratios.get('wggo'), 0.5)
  assert.equal(row('udp_rxkpps').ratios.has('baseline'), false)
  assert.equal(row('tcp1_cpuA').ratios.get('wggo'), 90 / 84)
  // derived: (A + B) % per Gbit/s of TCP x1
  assert.equal(statOf(parseSummary(SUMMARY), 'pqc', 'tcp1_cpu_per_gbps')?.median, (90 + 75) / 0.3)
  assert.equal(row('tcp1_cpu_per_gbps').ratios.get('wggo'), ((90 + 75) / 0.3) / ((84 + 70) / 0.6))
  assert.equal(ratio({n: 1, median: 1, min: 1, max: 1}, {n: 1, median: 0, min: 0, max: 0}), undefined)
})

test('the Markdown table has one column per tunnel, one ratio column per peer, and a status row', () => {
  const c = compare(parseSummary(SUMMARY), 'pqc', ORDER, metricDefs())
  const lines = comparisonMarkdown(c, parseStatus(STATUS)).split('\n')
  assert.equal(lines[0], '| metric | unit | better | baseline | wggo | **pqc** | pqc/baseline | pqc/wggo |')
  assert.equal(lines[1], '|---|---|---|---:|---:|---:|---:|---:|')
  const cols = lines.map((l) => l.split('|').length)
  assert.ok(cols.every((n) => n === cols[0]), `ragged table:\n${lines.join('\n')}`)
  assert.ok(lines.includes('| TCP x1 | Mbit/s | higher | 18000 (15000-19000) | 600 (550-650) | 300 (280-320) | 0.02 | 0.50 |'), lines.join('\n'))
  assert.ok(lines.includes('| TCP x4 | Mbit/s | higher | - | 580 (500-680) | 290 | - | 0.50 |'), lines.join('\n'))
  assert.ok(lines.includes('| ping RTT avg | ms | lower | 0.045 (0.040-0.050) | 0.400 (0.300-0.500) | 0.800 (0.700-0.900) | 17.78 | 2.00 |'))
  assert.equal(lines.at(-1), '| status |  |  | ok | ok (noisy: 1 tests) | ok |  |  |')
  // metrics nobody has (UDP CPU here) are left out
  assert.ok(!lines.some((l) => l.startsWith('| CPU tunnel A, UDP')))
})

/** Minimal XML well-formedness check: tags balanced, attributes quoted, text and attributes escaped. */
function assertWellFormedXml(xml: string): string[] {
  const tagRe = /<[^<>]*>/g
  const stack: string[] = []
  const names: string[] = []
  let last = 0
  const text = (s: string): void => assert.doesNotMatch(s, /[<>]|&(?!(amp|lt|gt|quot|apos);)/, `bad text: ${s}`)
  for (const m of xml.matchAll(tagRe)) {
    text(xml.slice(last, m.index))
    last = m.index + m[0].length
    const t = /^<(\/?)([A-Za-z][\w-]*)((?:\s+[\w:-]+="[^"<>]*")*)\s*(\/?)>$/.exec(m[0])
    assert.ok(t !== null, `malformed tag: ${m[0]}`)
    for (const a of t[3]!.matchAll(/="([^"]*)"/g)) text(a[1]!)
    if (t[1] === '/') assert.equal(stack.pop(), t[2], `unbalanced </${t[2]}>`)
    else {
      if (stack.length === 0) assert.equal(names.length, 0, 'more than one root element')
      names.push(t[2]!)
      if (t[4] !== '/') stack.push(t[2]!)
    }
  }
  text(xml.slice(last))
  assert.deepEqual(stack, [], 'unclosed elements')
  return names
}

test('chart.svg is well-formed: one group per charted metric, one bar per tunnel value, escaped text', () => {
  const c = compare(parseSummary(SUMMARY), 'pqc', ORDER, metricDefs())
  const svg = renderChart(c, 'pqc <vs> "peers" & co')
  const names = assertWellFormedXml(svg)
  assert.equal(names[0], 'svg')
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" /)
  assert.ok(svg.includes('pqc &lt;vs&gt; &quot;peers&quot; &amp; co'))
  const charted = c.rows.filter((r) => r.def.chart && r.values.size > 0)
  assert.equal((svg.match(/<g class="group"/g) ?? []).length, charted.length)
  const bars = charted.reduce((n, r) => n + r.values.size, 0)
  assert.equal((svg.match(/<rect class="bar"/g) ?? []).length, bars)
  // each group is scaled to its own maximum: wggo's TCP x1 bar is twice pqc's
  const h = (t: string) => Number(new RegExp(`height="([0-9.]+)" fill="[^"]+"><title>${t}: [0-9.]+ Mbit/s</title>`).exec(svg)?.[1])
  assert.ok(Math.abs(h('wggo') / h('pqc') - 2) < 0.05, `bar heights ${h('wggo')} and ${h('pqc')}`)
  assert.equal(xmlEscape(`a<b>&"'`), 'a&lt;b&gt;&amp;&quot;&apos;')
})

test('pqc-only figures: JSON lines of own/*.json and tunnel-up times of the client log', () => {
  const figs = parseOwnLines('progress text\n{"metric":"handshakes/s","value":12.5,"unit":"1/s","note":"n=60"}\n{"metric":"x"}\n{bad json\n', 'handshakes')
  assert.deepEqual(figs, [{source: 'handshakes', metric: 'handshakes/s', value: 12.5, unit: '1/s', note: 'n=60'}])
  const log = [
    '2026-11-27T03:38:32.696Z router: tbpq-a 10.43.0.1/16, UDP port 42423, control socket /x',
    '2026-11-27T03:38:34.043Z router: key of pq1x.bench downloaded and verified: 937 requests in 0.603 s',
    '2026-11-27T03:38:34.754Z router: tunnel d5c45c6c to pq1x.bench up in 1.335 s',
    '2026-11-27T03:39:00.281Z router: tbpq-a 10.43.0.1/16, UDP port 42423, control socket /x',
    '2026-11-27T03:39:02.370Z router: tunnel d6b8cd2d to pq1x.bench up in 0.391 s',
    '2026-11-27T03:41:02.370Z router: tunnel 7c982bf0 to pq1x.bench up in 0.087 s',
  ].join('\n')
  assert.deepEqual(parseClientLog(log), {withDownloadS: [1.335], cachedKeyS: [0.391], laterS: [0.087], downloadS: [0.603]})
  const {markdown} = buildReport({summaryTsv: SUMMARY, statusTsv: STATUS, machineTxt: MACHINE, harnessTable: 'HARNESS TABLE',
    own: new Map([['handshakes', '{"metric":"handshakes/s","value":12.5,"unit":"1/s","note":"n=60"}']]), clientLog: log},
  {subject: 'pqc', order: ORDER, title: 'T'})
  assert.ok(markdown.startsWith(`${REPORT_MARKER}\n# T\n`))
  assert.ok(markdown.includes('| handshakes | handshakes/s | 12.5 | 1/s | n=60 |'))
  assert.match(markdown, /\| tunnel up after the DNS answer, key cached \(ephemeral key \+ handshake\) \| 1 \| 391 \| 391-391 \|/)
  assert.ok(markdown.includes('HARNESS TABLE'))
})

test('writeReport keeps the harness table, reads own/*.json, and can run twice', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pqc-report-'))
  try {
    writeFileSync(join(dir, 'summary.tsv'), SUMMARY)
    writeFileSync(join(dir, 'status.tsv'), STATUS)
    writeFileSync(join(dir, 'machine.txt'), MACHINE)
    writeFileSync(join(dir, 'table.md'), 'Tunnel performance (harness)\n')
    mkdirSync(join(dir, 'own'))
    writeFileSync(join(dir, 'own', 'key-server.json'), '{"metric":"key requests/s","value":5000,"unit":"1/s"}\n')
    for (let i = 0; i < 2; i++) {
      writeReport(dir, {subject: 'pqc', order: ORDER, title: 'run'})
      const md = readFileSync(join(dir, 'table.md'), 'utf8')
      assert.ok(md.startsWith(REPORT_MARKER))
      assert.ok(md.includes('Tunnel performance (harness)'), 'harness table lost')
      assert.ok(md.includes('| key-server | key requests/s | 5000 | 1/s |  |'))
      assert.equal(readFileSync(join(dir, 'harness-table.md'), 'utf8'), 'Tunnel performance (harness)\n')
      assertWellFormedXml(readFileSync(join(dir, 'chart.svg'), 'utf8'))
    }
    assert.ok(existsSync(join(dir, 'chart.svg')))
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
})
