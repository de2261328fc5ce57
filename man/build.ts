/**
 * Generates the committed roff man pages from their markdown sources: man/NAME.SECTION.md ->
 * man/NAME.SECTION. `npm run man` writes them; `npm run man -- --check` only reports stale pages
 * (exit 1). test/unit/docs/man.unit.test.ts runs the same generation in memory.
 */
import {readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {markdownToRoff, type ManPage} from './roff.js'

export interface GeneratedPage extends ManPage {
  /** path of the markdown source, relative to the repository */
  source: string
  /** path of the roff output, relative to the repository */
  target: string
}

/** Every man page of the repository at `root`, generated in memory, sorted by file name. */
export function generateManPages(root: string): GeneratedPage[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {name: string; version: string}
  const sources = readdirSync(join(root, 'man')).filter((f) => /^[a-z0-9.-]+\.[1-9]\.md$/.test(f)).sort()
  return sources.map((file) => {
    const source = `man/${file}`
    const page = markdownToRoff(readFileSync(join(root, source), 'utf8'), {
      source: `${pkg.name} ${pkg.version}`, manual: `${pkg.name} manual`, from: source,
    })
    const target = `man/${basename(file, '.md')}`
    if (target !== `man/${page.name}.${page.section}`) throw new Error(`${source}: title says ${page.name}(${page.section})`)
    return {...page, source, target}
  })
}

function main(argv: string[]): number {
  let root = dirname(dirname(fileURLToPath(import.meta.url)))
  if (basename(root) === 'dist') root = dirname(root) // run compiled, from dist/man/build.js
  const check = argv.includes('--check')
  let stale = 0
  for (const p of generateManPages(root)) {
    const path = join(root, p.target)
    let current: string | undefined
    try {
      current = readFileSync(path, 'utf8')
    } catch {
      current = undefined
    }
    if (current === p.roff) continue
    if (check) {
      stale++
      process.stderr.write(`${p.target} is stale: run npm run man\n`)
    } else {
      writeFileSync(path, p.roff)
      process.stdout.write(`wrote ${p.target}\n`)
    }
  }
  return stale === 0 ? 0 : 1
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main(process.argv.slice(2))
