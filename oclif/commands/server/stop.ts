import {Flags} from '@oclif/core'

import {SERVER_PID_FILE, stopByPidFile, type StopResult} from '../../pid-file.js'
import {BaseCommand} from '../../base-command.js'

export default class ServerStop extends BaseCommand {
  static override summary = 'stop the running PQConnect server'
  static override description = `sends SIGTERM to the \`pqc server start\` process recorded in the pid file and waits
up to 10 s for its clean exit (SIGKILL after that). the pid is signalled only while it is a live
pqc process; a stale pid file is removed. succeeds, saying so, when nothing is running.`

  static override examples = ['<%= config.bin %> server stop', '<%= config.bin %> server stop --json']

  static override enableJsonFlag = true

  static override flags = {
    'pid-file': Flags.string({description: 'pid file written by `pqc server start`', default: SERVER_PID_FILE, helpValue: 'PATH'}),
  }

  async run(): Promise<StopResult> {
    const {flags} = await this.parse(ServerStop)
    const r = await stopByPidFile(flags['pid-file'])
    if (!this.jsonEnabled()) this.log(r.stopped ? `stopped pid ${r.pid} in ${r.ms} ms` : 'not running')
    return r
  }
}
