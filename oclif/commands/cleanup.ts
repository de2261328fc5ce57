import {Flags} from '@oclif/core'

import {CONTROL_SOCKET_DIRS, type CleanupReport, TUN_NAMES, cleanupHost} from '../../router/nft/host-cleanup.js'
import {BaseCommand} from '../base-command.js'

export default class Cleanup extends BaseCommand {
  static override summary = 'remove everything pqc added to this host'
  static override description = `removes the nftables table inet pqconnect, control sockets that no process listens on
(under /run/pqconnect and /run/pqc), and TUN devices named pqccli0 or pqcserv0 that no live process
holds. works from any state, after a crash too (ExecStopPost); running it twice is harmless. tables,
sockets and devices that are not ours, or still in use, are left alone. needs root.`

  static override examples = [
    '<%= config.bin %> cleanup',
    '<%= config.bin %> cleanup --json',
  ]

  static override enableJsonFlag = true

  static override flags = {
    'socket-dir': Flags.string({description: `directory of control sockets to check (repeatable) [default: ${CONTROL_SOCKET_DIRS.join(', ')}]`, multiple: true, helpValue: 'DIR'}),
    tun: Flags.string({description: `TUN device name to check (repeatable) [default: ${TUN_NAMES.join(', ')}]`, multiple: true, helpValue: 'NAME'}),
  }

  async run(): Promise<CleanupReport> {
    const {flags} = await this.parse(Cleanup)
    const report = await cleanupHost({socketDirs: flags['socket-dir'], tunNames: flags.tun})
    if (!this.jsonEnabled()) {
      this.log(`nft table inet pqconnect: ${report.table}`)
      for (const s of report.sockets) this.log(`socket ${s.path}: ${s.action}`)
      if (report.sockets.length === 0) this.log('control sockets: none stale')
      for (const t of report.tuns) this.log(`tun ${t.name}: ${t.action}`)
    }
    return report
  }
}
