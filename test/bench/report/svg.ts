/**
 * chart.svg of a comparison: one group per charted metric, one bar per tunnel, each group scaled
 * to its own largest median (units differ between groups), the value printed above each bar.
 * Plain SVG 1.1 text, no dependency; every text node is XML-escaped.
 */
import type {Comparison} from './compare.js'

const BAR_W = 26
const BAR_GAP = 4
const GROUP_GAP = 34
const PLOT_H = 220
const TOP = 64
const LABEL_H = 76
/** Minimum horizontal room of a group, so that its (wrapped) labels do not run into the next one. */
const GROUP_MIN_W = 110
const LINE_H = 13
const LEFT = 20
const LEGEND_ROW_H = 18
/** Fill colours, cycled; the subject is always the first one. */
const PALETTE = ['#d62728', '#1f77b4', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#17becf', '#7f7f7f']

export function xmlEscape(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&apos;')
}

function compact(v: number): string {
  if (v >= 100) return v.toFixed(0)
  if (v >= 10) return v.toFixed(1)
  if (v >= 1) return v.toFixed(2)
  return v.toPrecision(2)
}

export function renderChart(c: Comparison, title: string): string {
  const rows = c.rows.filter((r) => r.def.chart && r.values.size > 0)
  const tunnels = [c.subject, ...c.tunnels.filter((t) => t !== c.subject)].filter((t) => c.tunnels.includes(t))
  const color = new Map(tunnels.map((t, i) => [t, PALETTE[i % PALETTE.length]!]))
  const groupW = tunnels.length * (BAR_W + BAR_GAP) - BAR_GAP
  const slotW = Math.max(groupW, GROUP_MIN_W) + GROUP_GAP
  const width = Math.max(LEFT * 2 + rows.length * slotW, 480)
  const legendY = TOP + PLOT_H + LABEL_H
  const height = legendY + tunnels.length * LEGEND_ROW_H + 28
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${LEFT}" y="22" font-size="15" font-weight="bold">${xmlEscape(title)}</text>`,
    `<text x="${LEFT}" y="40" fill="#555555">${xmlEscape('median per tunnel; each group scaled to its own maximum; "lower" groups: smaller is better')}</text>`,
    `<line x1="${LEFT}" y1="${TOP + PLOT_H}" x2="${width - LEFT}" y2="${TOP + PLOT_H}" stroke="#333333"/>`,
  ]
  rows.forEach((row, gi) => {
    const gx = LEFT + (slotW - groupW) / 2 + gi * slotW
    const max = Math.max(...[...row.values.values()].map((s) => s.median), 0)
    out.push(`<g class="group" data-metric="${xmlEscape(row.def.key)}">`)
    tunnels.forEach((t, bi) => {
      const s = row.values.get(t)
      if (s === undefined) return
      const h = max > 0 ? Math.max((s.median / max) * PLOT_H, 1) : 1
      const x = gx + bi * (BAR_W + BAR_GAP)
      const y = TOP + PLOT_H - h
      out.push(`<rect class="bar" x="${x}" y="${y.toFixed(1)}" width="${BAR_W}" height="${h.toFixed(1)}" fill="${color.get(t)}">` +
        `<title>${xmlEscape(`${t}: ${s.median} ${row.def.unit}`)}</title></rect>`)
      out.push(`<text x="${x + BAR_W / 2}" y="${(y - 3).toFixed(1)}" text-anchor="middle" font-size="9">${xmlEscape(compact(s.median))}</text>`)
    })
    const cx = gx + groupW / 2
    // label wrapped at ", ", then the unit and the direction, one short line each
    const lines: Array<[string, boolean]> = [...row.def.label.split(', ').map((l): [string, boolean] => [l, true]),
      [row.def.unit, false], [`${row.def.better} is better`, false]]
    lines.forEach(([l, bold], i) => out.push(`<text x="${cx}" y="${TOP + PLOT_H + 16 + i * LINE_H}" text-anchor="middle"` +
      `${bold ? ' font-weight="bold"' : ' fill="#555555"'}>${xmlEscape(l)}</text>`))
    out.push('</g>')
  })
  tunnels.forEach((t, i) => {
    const y = legendY + i * LEGEND_ROW_H
    out.push(`<rect x="${LEFT}" y="${y}" width="12" height="12" fill="${color.get(t)}"/>`)
    out.push(`<text x="${LEFT + 18}" y="${y + 10}">${xmlEscape(t === c.subject ? `${t} (this project)` : t)}</text>`)
  })
  out.push('</svg>')
  return `${out.join('\n')}\n`
}
