/**
 * The man pages (issue 7) stay true to the CLI: the committed roff equals what man/build.ts makes
 * from the markdown sources today, and every command, flag, argument, default, exit code and
 * resolver config key that the code defines is documented in the page that covers it.
 * Commands are found by importing every class under oclif/commands/ (as oclif itself loads them).
 */
import assert from 'node:assert/strict'
import {existsSync, readFileSync, readdirSync} from 'node:fs'
import {join, relative} from 'node:path'
import {test} from 'node:test'
import {fileURLToPath} from 'node:url'

import {generateManPages} from '../../../man/build.js'
import {EXIT_CODES} from '../../../oclif/base-command.js'
import {REPO_ROOT} from '../../helpers/repo.js'

// ---- the markdown sources, split into headed sections and definition items ----

interface Section {
  level: number
  title: string
  lines: string[]
}

/** Every `##`/`###` section with its lines up to the next heading of the same or a higher level. */
function sections(md: string): Section[] {
  const lines = md.split('\n')
  const out: Section[] = []
  lines.forEach((l, i) => {
    const m = /^(#{2,3}) (.+)$/.exec(l)
    if (m === null) return
    const level = m[1]!.length
    let end = i + 1
    while (end < lines.length && !(/^(#{2,3}) /.exec(lines[end]!) !== null && /^#+/.exec(lines[end]!)![0].length <= level)) end++
    out.push({level, title: m[2]!.trim(), lines: lines.slice(i + 1, end)})
  })
  return out
}

interface Item {
  /** the term without markdown emphasis, e.g. `--listen ADDR:PORT` */
  term: string
  body: string
}

/** Definition items: `* TERM:` followed by indented lines. */
function definitionItems(lines: string[]): Item[] {
  const items: Item[] = []
  for (let i = 0; i < lines.length; i++) {
    const m = /^\* (.*):$/.exec(lines[i]!)
    if (m === null || !/^ {2,}\S/.test(lines[i + 1] ?? '')) continue
    const body: string[] = []
    for (let k = i + 1; k < lines.length && /^ {2,}\S/.test(lines[k]!); k++) body.push(lines[k]!.trim())
    items.push({term: plain(m[1]!), body: plain(body.join(' '))})
  }
  return items
}

/** Markdown emphasis and code marks removed. */
const plain = (md: string): string => md.replace(/[*`]/g, '')

const hasFlag = (text: string, name: string): boolean => new RegExp(`(^|[^\\w-])--${name}(?![\\w-])`).test(plain(text))
const hasChar = (text: string, c: string): boolean => new RegExp(`(^|[^\\w-])-${c}(?![\\w-])`).test(plain(text))

// ---- the commands, as oclif loads them ----

interface FlagDef {
  type: 'boolean' | 'option'
  char?: string
  default?: unknown
  helpValue?: string
  /** A boolean with a --no- form; a default-true one is documented by its --no-NAME form. */
  allowNo?: boolean
}

/** The spelling a page must use for a flag: --no-NAME for a default-on negatable boolean. */
const documentedName = (name: string, f: FlagDef): string => (f.allowNo === true && f.default === true ? `no-${name}` : name)

interface CommandClass {
  summary?: string
  description?: string
  examples?: unknown[]
  enableJsonFlag?: boolean
  flags?: Record<string, FlagDef>
  baseFlags?: Record<string, FlagDef>
  args?: Record<string, unknown>
}

interface LoadedCommand {
  id: string
  file: string
  cls: CommandClass
  flags: Record<string, FlagDef>
}

const COMMANDS_DIR = fileURLToPath(new URL('../../../oclif/commands/', import.meta.url))

async function loadCommands(): Promise<LoadedCommand[]> {
  const files: string[] = []
  const walk = (d: string): void => {
    for (const name of readdirSync(d, {withFileTypes: true})) {
      const p = join(d, name.name)
      if (name.isDirectory()) walk(p)
      else if (/\.(js|ts)$/.test(name.name) && !name.name.endsWith('.d.ts')) files.push(p)
    }
  }
  walk(COMMANDS_DIR)
  const out: LoadedCommand[] = []
  for (const file of files.sort()) {
    const words = relative(COMMANDS_DIR, file).replace(/\.(js|ts)$/, '').split(/[\\/]/)
    if (words.at(-1) === 'index') words.pop()
    const mod = (await import(file)) as {default?: CommandClass}
    assert.ok(mod.default, `${file} has no default export (oclif needs the command class there)`)
    const cls = mod.default
    const flags: Record<string, FlagDef> = {...cls.baseFlags, ...cls.flags}
    if (cls.enableJsonFlag === true) flags.json = {type: 'boolean'}
    out.push({id: words.join(' '), file, cls, flags})
  }
  return out
}

/** The man page that documents a command in full (its options list). */
function detailPage(id: string): string {
  const topic = id.split(' ')[0]!
  if (topic === 'server') return 'man/pqc-server.8.md'
  if (['client', 'resolver', 'servers'].includes(topic)) return 'man/pqc-client.8.md'
  return 'man/pqc.1.md'
}

const read = (rel: string): string => readFileSync(join(REPO_ROOT, rel), 'utf8')

function commandSection(page: string, id: string): Section | undefined {
  return sections(read(page)).find((s) => plain(s.title) === `pqc ${id}`)
}

// ---- the tests ----

const PAGES = ['man/pqc.1', 'man/pqc-client.8', 'man/pqc-server.8', 'man/pqc.conf.5', 'man/pqconnect.7']

test('every man page is generated from its markdown source and the committed roff is current', () => {
  const pages = generateManPages(REPO_ROOT)
  assert.deepEqual(pages.map((p) => p.target), [...PAGES].sort())
  const committed = readdirSync(join(REPO_ROOT, 'man')).filter((f) => /\.[1-9]$/.test(f)).map((f) => `man/${f}`).sort()
  assert.deepEqual(committed, [...PAGES].sort(), 'a roff page without a markdown source (or the reverse)')
  for (const p of pages) {
    const path = join(REPO_ROOT, p.target)
    assert.ok(existsSync(path), `${p.target} is missing: run npm run man`)
    assert.ok(readFileSync(path, 'utf8') === p.roff, `${p.target} is stale: run npm run man and commit it`)
  }
})

test('every page has the standard sections', () => {
  for (const target of PAGES) {
    const titles = sections(read(`${target}.md`)).filter((s) => s.level === 2).map((s) => s.title)
    for (const need of ['SYNOPSIS', 'DESCRIPTION', 'EXAMPLES', 'SEE ALSO']) assert.ok(titles.includes(need), `${target}.md has no ## ${need}`)
    assert.ok(titles.includes('OPTIONS') || titles.includes('FILES'), `${target}.md has neither ## OPTIONS nor ## FILES`)
    const roff = generateManPages(REPO_ROOT).find((p) => p.target === target)!.roff
    assert.match(roff, /^\.SH NAME\n\S+ \\- \S/m, `${target}: NAME line`)
  }
})

test('every command has a summary, a description and an example', async () => {
  const commands = await loadCommands()
  assert.ok(commands.length >= 8, `found only ${commands.length} commands under ${COMMANDS_DIR}`)
  for (const c of commands) {
    assert.ok((c.cls.summary ?? '').trim().length > 0, `pqc ${c.id}: no summary`)
    assert.ok((c.cls.description ?? '').trim().length > 0, `pqc ${c.id}: no description`)
    assert.ok((c.cls.examples ?? []).length > 0, `pqc ${c.id}: no example`)
  }
})

test('every command, flag, argument and default is documented in the page that covers it', async () => {
  const problems: string[] = []
  const synopsis = sections(read('man/pqc.1.md')).find((s) => s.title === 'SYNOPSIS')!.lines.join('\n')
  for (const c of await loadCommands()) {
    const detail = detailPage(c.id)
    if (!plain(synopsis).includes(`pqc ${c.id}`)) problems.push(`man/pqc.1.md SYNOPSIS: no pqc ${c.id}`)
    for (const page of new Set(['man/pqc.1.md', detail])) {
      const sec = commandSection(page, c.id)
      if (sec === undefined) {
        problems.push(`${page}: no section "### pqc ${c.id}"`)
        continue
      }
      const text = sec.lines.join('\n')
      for (const [name, f] of Object.entries(c.flags)) {
        if (!hasFlag(text, documentedName(name, f))) problems.push(`${page} pqc ${c.id}: --${documentedName(name, f)} not mentioned`)
        if (f.char !== undefined && !hasChar(text, f.char)) problems.push(`${page} pqc ${c.id}: -${f.char} not mentioned`)
      }
      for (const arg of Object.keys(c.cls.args ?? {})) {
        if (!plain(text).includes(arg.toUpperCase())) problems.push(`${page} pqc ${c.id}: argument ${arg.toUpperCase()} not mentioned`)
      }
      if (page !== detail) continue
      // The detail page has an options list: one item per flag, with its value name and default.
      const items = definitionItems(sec.lines)
      for (const [name, f] of Object.entries(c.flags)) {
        const item = items.find((it) => hasFlag(it.term, documentedName(name, f)))
        if (item === undefined) {
          problems.push(`${page} pqc ${c.id}: no "* **--${documentedName(name, f)}**...:" item`)
          continue
        }
        if (f.type === 'option' && f.helpValue !== undefined && !item.term.includes(f.helpValue)) {
          problems.push(`${page} pqc ${c.id}: --${name} item should name its value ${f.helpValue} (as --help does)`)
        }
        const d = f.default
        if ((typeof d === 'string' || typeof d === 'number') && !`${item.term} ${item.body}`.includes(String(d))) {
          problems.push(`${page} pqc ${c.id}: --${name} item does not give the default ${String(d)}`)
        }
      }
      // ...and documents no flag the command does not have.
      for (const it of items) {
        for (const m of it.term.matchAll(/--([a-z][a-z0-9-]*)/g)) {
          const negated = /^no-(.+)$/.exec(m[1]!)?.[1]
          const known = m[1]! in c.flags || (negated !== undefined && c.flags[negated]?.allowNo === true)
          if (!known) problems.push(`${page} pqc ${c.id}: documents --${m[1]}, which the command does not have`)
        }
      }
    }
  }
  assert.deepEqual(problems, [])
})

test('pqc(1) lists every exit status of EXIT_CODES', () => {
  const rows = sections(read('man/pqc.1.md')).find((s) => s.title === 'EXIT STATUS')!.lines.filter((l) => l.startsWith('|'))
  assert.ok(Object.keys(EXIT_CODES).length >= 10)
  for (const [code, status] of Object.entries(EXIT_CODES)) {
    const row = rows.find((r) => r.includes(`\`${code}\``))
    assert.ok(row !== undefined, `man/pqc.1.md EXIT STATUS: no row for ${code}`)
    assert.equal(row.split('|')[1]!.trim(), String(status), `man/pqc.1.md EXIT STATUS: ${code} exits ${status}`)
  }
  for (const status of [0, 1]) assert.ok(rows.some((r) => r.split('|')[1]!.trim() === String(status)), `no row for status ${status}`)
})

test('pqc.conf(5) documents every key the resolver reads from its config file, and the config directory', () => {
  const src = read('resolver/config.ts')
  const keys = new Set([...src.matchAll(/\bstr\('(\w+)'\)|\bfile\.(\w+)/g)].map((m) => (m[1] ?? m[2])!))
  assert.ok(keys.size >= 6, `found only ${[...keys].join(', ')} in resolver/config.ts: has the parsing moved?`)
  const page = sections(read('man/pqc.conf.5.md'))
  const items = definitionItems(page.find((s) => s.title === 'RESOLVER CONFIG FILE')!.lines).map((it) => it.term.split(' ')[0])
  for (const k of keys) assert.ok(items.includes(k), `man/pqc.conf.5.md RESOLVER CONFIG FILE: no item for "${k}"`)
  for (const k of items) assert.ok(keys.has(k!), `man/pqc.conf.5.md documents "${k}", which resolver/config.ts does not read`)
  const dir = definitionItems(page.find((s) => s.title === 'SERVER CONFIG DIRECTORY')!.lines).map((it) => it.term)
  assert.deepEqual(dir, ['pqcport', 'keyport', 'host'])
})
