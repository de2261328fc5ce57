/**
 * pqc.conf(5) documents the configuration file exactly: one item per key of oclif/config-schema.ts
 * (and none that it does not have), each naming the default the schema has and the flag it mirrors.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'node:test'

import {SCHEMA} from '../../../oclif/config-schema.js'
import {REPO_ROOT} from '../../helpers/repo.js'

/** Items `* `section.key` (type):` with their indented body, in the PQC CONFIG FILE section. */
function items(): Map<string, string> {
  const md = readFileSync(join(REPO_ROOT, 'man/pqc.conf.5.md'), 'utf8')
  const start = md.indexOf('\n## PQC CONFIG FILE\n')
  assert.ok(start >= 0, 'man/pqc.conf.5.md has no ## PQC CONFIG FILE')
  const end = md.indexOf('\n## ', start + 1)
  const lines = md.slice(start, end).split('\n')
  const out = new Map<string, string>()
  lines.forEach((l, i) => {
    const m = /^\* `([a-z]+\.[a-z-]+)` \(.*\):$/.exec(l)
    if (m === null) return
    const body: string[] = []
    for (let k = i + 1; k < lines.length && /^ {2}\S/.test(lines[k]!); k++) body.push(lines[k]!.trim())
    out.set(m[1]!, body.join(' ').replace(/[*`]/g, ''))
  })
  return out
}

test('pqc.conf(5) has one item per config key, with its flag and default', () => {
  const doc = items()
  const keys = Object.entries(SCHEMA).flatMap(([section, keys]) => Object.keys(keys).map((k) => `${section}.${k}`))
  assert.deepEqual([...doc.keys()], keys, 'documented keys, in schema order')
  for (const [section, specs] of Object.entries(SCHEMA)) {
    for (const [key, spec] of Object.entries(specs as Record<string, {flag: string; default: unknown}>)) {
      const body = doc.get(`${section}.${key}`)!
      assert.ok(body.includes(`--${spec.flag}`), `${section}.${key}: names its flag --${spec.flag}`)
      const d = spec.default
      if (typeof d === 'string' || typeof d === 'number') assert.ok(body.includes(String(d)), `${section}.${key}: gives the default ${String(d)}`)
    }
  }
})
