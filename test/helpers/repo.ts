/** Paths of the repository, from compiled tests in dist/test/... or sources in test/. */
import {existsSync, readdirSync, statSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json')) || dir.endsWith('dist')) dir = dirname(dir)
  return dir
}

export const REPO_ROOT = findRoot()

/** Every file below `dir` (relative to the repo) whose name ends with `suffix`. */
export function listFiles(dir: string, suffix: string): string[] {
  const out: string[] = []
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      if (name === 'node_modules' || name === 'build') continue
      const p = join(d, name)
      if (statSync(p).isDirectory()) walk(p)
      else if (name.endsWith(suffix)) out.push(p)
    }
  }
  const abs = join(REPO_ROOT, dir)
  if (existsSync(abs)) walk(abs)
  return out.sort()
}
