/**
 * Runs `pqc ARGS` inside a namespace for the nft netns tests: the built CLI (oclif/bin/run.js over
 * dist/) when the tests run compiled, or the command class straight from source under tsx.
 */
import {fileURLToPath} from 'node:url'
import {join} from 'node:path'

import {type ChildResult, type NetnsLab, waitForExit} from '../helpers/netns.js'
import {REPO_ROOT} from '../helpers/repo.js'

const FROM_SOURCE = fileURLToPath(import.meta.url).endsWith('.ts')

/** Commands these tests run, by their argv topic path. */
const COMMAND_FILES: Record<string, string> = {cleanup: 'oclif/commands/cleanup.ts'}

export async function pqcIn(lab: NetnsLab, ns: string, args: string[]): Promise<ChildResult> {
  if (!FROM_SOURCE) return waitForExit(lab.spawnIn(ns, process.execPath, [join(REPO_ROOT, 'oclif/bin/run.js'), ...args]), 30_000)
  const file = COMMAND_FILES[args[0]!]
  if (file === undefined) throw new Error(`no source mapping for pqc ${args[0]}`)
  const code = `import C from ${JSON.stringify(join(REPO_ROOT, file))}; await C.run(process.argv.slice(1), ${JSON.stringify(REPO_ROOT)})`
  return waitForExit(lab.spawnIn(ns, process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code, '--', ...args.slice(1)]), 30_000)
}
