/**
 * Markdown to man(7) roff for the subset our man page sources use (man/*.md): a ronn-style title
 * line, `##`/`###` headings, paragraphs, hard breaks, bullet and definition lists, fenced code,
 * pipe tables (tbl) and inline code/bold/italic/links. Pure and deterministic (no date), so the
 * unit test can regenerate every page in memory and compare it with the committed roff.
 */

export interface ManPage {
  /** e.g. `pqc-client` */
  name: string
  /** e.g. `8` */
  section: string
  /** the one-line description after `--` in the title line */
  description: string
  roff: string
}

export interface RoffOptions {
  /** Footer source, e.g. `pqc 0.1.0`. */
  source: string
  /** Header centre, e.g. `pqc manual`. */
  manual: string
  /** File the page was generated from, named in the leading comment. */
  from: string
}

const TITLE_RE = /^# ([a-z0-9][a-z0-9.-]*)\(([1-9])\) -- (.+)$/
const ITEM_RE = /^(?:[*-]|([0-9]+)\.) (.*)$/
const FENCE_RE = /^```/
const TABLE_SEP_RE = /^\|(\s*:?-{3,}:?\s*\|)+\s*$/

/** Escape plain text for roff: backslashes, and every `-` as a minus so flags copy and search. */
function escapeText(s: string): string {
  return s.replace(/\\/g, '\\e').replace(/-/g, '\\-')
}

/** Escape literal (code) text: as text, plus quotes and backticks as their ASCII glyphs. */
function escapeCode(s: string): string {
  return escapeText(s).replace(/'/g, '\\(aq').replace(/`/g, '\\(ga')
}

/** Convert inline markdown: `code`, **bold**, *italic*, [text](url), <url>, backslash escapes. */
export function inline(md: string): string {
  let out = ''
  let i = 0
  const closes = (delim: string, from: number): number => md.indexOf(delim, from)
  while (i < md.length) {
    const c = md[i]!
    if (c === '\\' && i + 1 < md.length && '\\`*_[]|<>'.includes(md[i + 1]!)) {
      out += escapeText(md[i + 1]!)
      i += 2
    } else if (c === '`') {
      const end = closes('`', i + 1)
      if (end < 0) throw new Error(`unclosed \` in: ${md}`)
      out += `\\fB${escapeCode(md.slice(i + 1, end))}\\fR`
      i = end + 1
    } else if (md.startsWith('**', i)) {
      const end = closes('**', i + 2)
      if (end < 0) throw new Error(`unclosed ** in: ${md}`)
      out += `\\fB${inlinePlain(md.slice(i + 2, end))}\\fR`
      i = end + 2
    } else if (c === '*' && i + 1 < md.length && md[i + 1] !== ' ') {
      const end = closes('*', i + 1)
      if (end < 0) throw new Error(`unclosed * in: ${md}`)
      out += `\\fI${inlinePlain(md.slice(i + 1, end))}\\fR`
      i = end + 1
    } else if (c === '[' && /^\[[^\]]+\]\([^)\s]+\)/.test(md.slice(i))) {
      const m = /^\[([^\]]+)\]\(([^)\s]+)\)/.exec(md.slice(i))!
      out += `${inline(m[1]!)} <${escapeCode(m[2]!)}>`
      i += m[0].length
    } else if (c === '<' && /^<https?:\/\/[^>\s]+>/.test(md.slice(i))) {
      const m = /^<(https?:\/\/[^>\s]+)>/.exec(md.slice(i))!
      out += `<${escapeCode(m[1]!)}>`
      i += m[0].length
    } else {
      out += escapeText(c)
      i++
    }
  }
  return out
}

/** Inside bold or italic: code spans become plain literal text (roff fonts do not nest). */
function inlinePlain(md: string): string {
  return md.split('`').map((part, k) => (k % 2 === 1 ? escapeCode(part) : escapeText(part))).join('')
}

/** One roff text line: a leading `.` or `'` would be read as a request. */
function textLine(s: string): string {
  const t = s.trim()
  return /^[.']/.test(t) ? `\\&${t}` : t
}

/** Emit paragraph lines; a trailing backslash is a hard line break. Inline spans may cross lines. */
function paragraph(lines: string[], out: string[]): void {
  let group: string[] = []
  const flush = (hard: boolean): void => {
    if (group.length > 0) for (const l of inline(group.join('\n')).split('\n')) out.push(textLine(l))
    if (hard) out.push('.br')
    group = []
  }
  for (const l of lines) {
    const t = l.trim()
    if (t.endsWith('\\')) {
      group.push(t.slice(0, -1))
      flush(true)
    } else {
      group.push(t)
    }
  }
  flush(false)
}

function quoteArg(s: string): string {
  return `"${s.replace(/"/g, '\\(dq')}"`
}

function tableCells(row: string): string[] {
  const cells: string[] = []
  let cur = ''
  const body = row.trim().replace(/^\|/, '').replace(/\|$/, '')
  for (let i = 0; i < body.length; i++) {
    if (body[i] === '\\' && body[i + 1] === '|') {
      cur += '\\|'
      i++
    } else if (body[i] === '|') {
      cells.push(cur.trim())
      cur = ''
    } else {
      cur += body[i]
    }
  }
  cells.push(cur.trim())
  return cells
}

/** A pipe table as tbl(1) input: bold header, text blocks so long cells wrap. */
function table(rows: string[], out: string[]): void {
  const header = tableCells(rows[0]!)
  const body = rows.slice(2).map(tableCells)
  const n = header.length
  for (const r of body) if (r.length !== n) throw new Error(`table row has ${r.length} cells, header ${n}: ${r.join(' | ')}`)
  const cell = (md: string, last: boolean): string => (last ? `T{\n${textLine(inline(md))}\nT}` : inline(md))
  out.push('.PP', '.TS', 'tab(\t);', `${Array(n).fill('lB').join(' ')}`, `${Array(n - 1).fill('l').join(' ')} lx.`)
  out.push(header.map((h, k) => cell(h, k === n - 1)).join('\t'))
  for (const r of body) out.push(r.map((c, k) => cell(c, k === n - 1)).join('\t'))
  out.push('.TE')
}

interface ListItem {
  /** the number of an ordered item, undefined for a bullet */
  number: string | undefined
  /** first line plus continuation lines, and further paragraphs after blank lines */
  paragraphs: string[][]
}

function listItems(lines: string[], start: number): {items: ListItem[]; next: number} {
  const items: ListItem[] = []
  let i = start
  while (i < lines.length) {
    const m = ITEM_RE.exec(lines[i]!)
    if (m === null) break
    const item: ListItem = {number: m[1], paragraphs: [[m[2]!]]}
    i++
    for (;;) {
      while (i < lines.length && /^ {2,}\S/.test(lines[i]!)) item.paragraphs.at(-1)!.push(lines[i++]!.trim())
      // A blank line followed by an indented line continues the item with a new paragraph.
      if (i + 1 < lines.length && lines[i]!.trim() === '' && /^ {2,}\S/.test(lines[i + 1]!)) {
        item.paragraphs.push([])
        i++
        continue
      }
      break
    }
    items.push(item)
    while (i < lines.length && lines[i]!.trim() === '' && i + 1 < lines.length && ITEM_RE.test(lines[i + 1]!)) i++
  }
  return {items, next: i}
}

/** A definition item's first line ends with `:`; its body starts on the next line. Numbered items are `N.`. */
function emitItem(item: ListItem, out: string[]): void {
  const [first, ...rest] = item.paragraphs
  const head = first![0]!
  if (item.number !== undefined) {
    out.push(`.IP ${item.number}. 4`)
    paragraph(first!, out)
  } else if (head.endsWith(':') && first!.length > 1) {
    out.push('.TP', textLine(inline(head.slice(0, -1))))
    paragraph(first!.slice(1), out)
  } else {
    out.push('.IP \\(bu 2')
    paragraph(first!, out)
  }
  for (const p of rest) {
    out.push('.IP')
    paragraph(p, out)
  }
}

/** Convert one man page source. Throws, naming the line, on the constructs it does not support. */
export function markdownToRoff(md: string, opts: RoffOptions): ManPage {
  const lines = md.replace(/\r\n/g, '\n').split('\n')
  const title = TITLE_RE.exec(lines[0] ?? '')
  if (title === null) throw new Error(`${opts.from}: first line must be "# name(section) -- description"`)
  const [, name, section, description] = title as unknown as [string, string, string, string]
  const body: string[] = ['.SH NAME', `${escapeText(name)} \\- ${inline(description)}`]
  let usesTable = false

  /** Convert the block starting at line `i`; returns the line after it. */
  const block = (i: number): number => {
    const line = lines[i]!
    if (line.trim() === '') return i + 1
    if (line.startsWith('## ')) {
      body.push(`.SH ${quoteArg(inlinePlain(line.slice(3).trim()))}`)
      return i + 1
    }
    if (line.startsWith('### ')) {
      body.push(`.SS ${quoteArg(inlinePlain(line.slice(4).trim()))}`)
      return i + 1
    }
    if (line.startsWith('#')) throw new Error('only one "#" title line; use ## and ###')
    if (FENCE_RE.test(line)) {
      const end = lines.findIndex((l, k) => k > i && FENCE_RE.test(l))
      if (end < 0) throw new Error('unclosed code fence')
      body.push('.PP', '.RS 4', '.nf')
      for (const l of lines.slice(i + 1, end)) body.push(/^[.']/.test(l) ? `\\&${escapeCode(l)}` : escapeCode(l))
      body.push('.fi', '.RE')
      return end + 1
    }
    if (line.startsWith('|') && TABLE_SEP_RE.test(lines[i + 1] ?? '')) {
      let end = i
      while (end < lines.length && lines[end]!.startsWith('|')) end++
      table(lines.slice(i, end), body)
      usesTable = true
      return end
    }
    if (ITEM_RE.test(line)) {
      const {items, next} = listItems(lines, i)
      for (const it of items) emitItem(it, body)
      return next
    }
    if (/^\s/.test(line)) throw new Error('indented text outside a list (use a code fence)')
    const para: string[] = []
    while (i < lines.length && lines[i]!.trim() !== '' && !/^(#|```|\|)/.test(lines[i]!) && !ITEM_RE.test(lines[i]!)) para.push(lines[i++]!)
    body.push('.PP')
    paragraph(para, body)
    return i
  }

  for (let i = 1; i < lines.length;) {
    try {
      i = block(i)
    } catch (err) {
      throw new Error(`${opts.from}:${i + 1}: ${(err as Error).message}`, {cause: err})
    }
  }
  const head = [
    ...(usesTable ? ['\'\\" t'] : []),
    `.\\" Generated from ${opts.from} by man/build.ts (npm run man). Do not edit.`,
    `.TH ${quoteArg(name.toUpperCase())} ${quoteArg(section)} "" ${quoteArg(opts.source)} ${quoteArg(opts.manual)}`,
    // No hyphenation (names like pqccli0 must not break) and ragged right, as ronn and pandoc do.
    '.nh',
    '.ad l',
  ]
  // `.PP` right after a heading is redundant; drop it so the output stays tidy.
  const tidy = body.filter((l, k) => !(l === '.PP' && /^\.S[HS] /.test(body[k - 1] ?? '')))
  return {name, section, description, roff: [...head, ...tidy, ''].join('\n')}
}
