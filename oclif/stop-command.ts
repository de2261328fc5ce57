/**
 * `pqc client stop` and `pqc server stop` are one command for two pid files: this builds each
 * (oclif wants one default-exported class per command file).
 */
import {Flags} from '@oclif/core'

import {BaseCommand} from './base-command.js'
import {stopByPidFile, type StopResult} from './pid-file.js'

export function makeStopCommand(who: 'client' | 'server', pidFile: string): typeof BaseCommand {
  return class Stop extends BaseCommand {
    static override summary = `stop the running PQConnect ${who}`
    static override description = `sends SIGTERM to the \`pqc ${who} start\` process recorded in the pid file and waits
up to 10 s for its clean exit (SIGKILL after that). the pid is signalled only while it is a live
pqc process; a stale pid file is removed. succeeds, saying so, when nothing is running.`

    static override examples = [`<%= config.bin %> ${who} stop`, `<%= config.bin %> ${who} stop --json`]

    static override enableJsonFlag = true

    static override flags = {
      'pid-file': Flags.string({description: `pid file written by \`pqc ${who} start\``, default: pidFile, helpValue: 'PATH'}),
    }

    async run(): Promise<StopResult> {
      const {flags} = await this.parse(Stop)
      const r = await stopByPidFile(flags['pid-file'])
      if (!this.jsonEnabled()) this.log(r.stopped ? `stopped pid ${r.pid} in ${r.ms} ms` : 'not running')
      return r
    }
  }
}
