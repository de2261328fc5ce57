/**
 * All pqc-only benchmarks of issue 8 in sequence, each in its own Node process (so the memory
 * figure starts from a fresh heap and one script's leftovers never slow the next), each with the
 * same --out FILE; their JSON lines also pass through to stdout. A failed script is reported as a
 * line with value null and the run goes on. --quick runs smaller sizes (a smoke test).
 * Run: node --import tsx test/bench/own/all.ts [--out FILE] [--quick]
 */
import {spawn} from 'node:child_process'
import {fileURLToPath} from 'node:url'

import {emit, progress, textFlag} from './common.js'

const QUICK = process.argv.includes('--quick')
/** Per script: a run that takes longer is killed and reported as failed. */
const SCRIPT_TIMEOUT_MS = 20 * 60_000

const SCRIPTS: Array<[name: string, full: string[], quick: string[]]> = [
  ['handshakes', [], ['--n', '20', '--raw', '6']],
  ['key-server', [], ['--requests', '5000']],
  ['first-contact', [], ['--runs', '1']],
  ['memory', [], ['--peers', '1000']],
]

/** Same loader and extension as this file: .ts through tsx, .js from dist/. */
function scriptPath(name: string): string {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js'
  return fileURLToPath(new URL(`./${name}${ext}`, import.meta.url))
}

function run(name: string, args: string[]): Promise<number | string> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, scriptPath(name), ...args], {stdio: ['ignore', 'inherit', 'inherit']})
    const timer = setTimeout(() => child.kill('SIGKILL'), SCRIPT_TIMEOUT_MS)
    child.on('error', (e) => {
      clearTimeout(timer)
      resolve(e.message)
    })
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve(code ?? `signal ${signal}`)
    })
  })
}

const out = textFlag('--out')
for (const [name, full, quick] of SCRIPTS) {
  progress(`=== ${name} ===`)
  const started = Date.now()
  const rc = await run(name, [...(QUICK ? quick : full), ...(out === undefined ? [] : ['--out', out])])
  if (rc !== 0) emit(`${name}_failed`, Number.NaN, '', `test/bench/own/${name} exited with ${rc} after ${((Date.now() - started) / 1000).toFixed(0)} s`)
}
