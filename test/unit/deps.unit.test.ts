/**
 * Module boundaries (style-anchors.md section 5), checked on the sources with the reason for each
 * banned edge. ESLint enforces the same rules while editing; this test keeps them true in CI.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {relative} from 'node:path'
import {test} from 'node:test'

import {REPO_ROOT, listFiles} from '../helpers/repo.js'

const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const out: string[] = []
  for (const m of text.matchAll(IMPORT_RE)) out.push((m[1] ?? m[2])!)
  return out
}

interface Rule {
  from: string
  banned: (spec: string, file: string) => boolean
  reason: string
}

const IO = /^(node:)?(dgram|net|fs|fs\/promises|child_process|timers|timers\/promises|process|os|worker_threads|cluster|http|https|tls|dns)$/
const RULES: Rule[] = [
  {from: 'src/', banned: (s) => IO.test(s), reason: 'src/ is the sans-I/O core: time and randomness come in as arguments, no sockets, files, timers or process'},
  {from: 'src/', banned: (s) => /(^|\/)(resolver|router|monitor|oclif)\//.test(s), reason: 'src/ is shared by everything and imports none of the shells'},
  {from: 'src/', banned: (s, f) => s === 'node:crypto' && !f.includes('/src/crypto/'), reason: 'only src/crypto/ adapters may touch node:crypto'},
  {from: 'src/', banned: (s, f) => /^(sodium-native|@oqs\/liboqs-js|mceliece-nist|pqclean)/.test(s) && !f.includes('/src/crypto/'), reason: 'cryptographic libraries are reached only through src/crypto/ adapters'},
  {from: 'resolver/', banned: (s) => /(^|\/)router\//.test(s), reason: 'resolver and router talk only at run time over src/ipc; neither imports the other'},
  {from: 'router/', banned: (s) => /(^|\/)resolver\//.test(s), reason: 'resolver and router talk only at run time over src/ipc; neither imports the other'},
  {from: 'monitor/', banned: (s) => /(^|\/)resolver\//.test(s), reason: 'the root monitor starts the resolver as a process and never runs DNS-parsing code itself'},
  {from: 'resolver/', banned: (s) => /(^|\/)monitor\//.test(s) && !/monitor\/worker-link\.js$/.test(s), reason: 'workers use only the worker side of the monitor link'},
  {from: 'router/', banned: (s) => /(^|\/)monitor\//.test(s) && !/monitor\/worker-link\.js$/.test(s), reason: 'workers use only the worker side of the monitor link'},
]

test('every import respects the folder boundaries', () => {
  const violations: string[] = []
  for (const dir of ['src', 'resolver', 'router', 'monitor']) {
    for (const file of listFiles(dir, '.ts')) {
      const rel = relative(REPO_ROOT, file)
      for (const spec of importsOf(file)) {
        for (const rule of RULES) {
          if (rel.startsWith(rule.from) && rule.banned(spec, file)) violations.push(`${rel} imports '${spec}': ${rule.reason}`)
        }
      }
    }
  }
  assert.deepEqual(violations, [])
})

test('the boundary checker itself catches a banned import', () => {
  // Guard against a regex that silently matches nothing.
  const fake = "import {createSocket} from 'node:dgram'\nimport x from '../router/device.js'\n"
  const specs = [...fake.matchAll(IMPORT_RE)].map((m) => (m[1] ?? m[2])!)
  assert.deepEqual(specs, ['node:dgram', '../router/device.js'])
  assert.ok(RULES[0]!.banned('node:dgram', '/x/src/a.ts'))
  assert.ok(RULES[4]!.banned('../router/device.js', '/x/resolver/a.ts'))
})
