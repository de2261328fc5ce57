/**
 * Our systemd unit files (config/systemd/) as tests read them: the text, and the directives as
 * key -> values in file order (a key may repeat; comments and section headers dropped).
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {REPO_ROOT} from './repo.js'

export const readUnit = (name: string): string => readFileSync(join(REPO_ROOT, 'config', 'systemd', name), 'utf8')

export function parseUnit(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';') || line.startsWith('[')) continue
    const eq = line.indexOf('=')
    assert.ok(eq > 0, `not a directive: ${line}`)
    const key = line.slice(0, eq)
    out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)])
  }
  return out
}
