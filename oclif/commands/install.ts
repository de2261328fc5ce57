import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {type InstallReport, install} from '../host-install.js'

export default class Install extends BaseCommand {
  static override summary = 'set this host up for the pqconnect services: user, directories, systemd units'
  static override description = `creates the system user and group pqconnect (the unprivileged workers run as it), /etc/pqconnect
(0755 root), /etc/pqconnect/keys (0700 root), /var/cache/pqconnect (0700 pqconnect), an example
/etc/pqconnect/resolver.json if there is none, and the units pqconnect-client.service and
pqconnect-server.service in /etc/systemd/system (then systemctl daemon-reload, when systemd runs
this host). /run/pqconnect is made by systemd (RuntimeDirectory=). compares before it changes
anything: a second run says nothing to do. enables no service. needs root.`

  static override examples = [
    '<%= config.bin %> install',
    '<%= config.bin %> install --dry-run',
    '<%= config.bin %> install --root /mnt/image --no-systemd --json',
  ]

  static override enableJsonFlag = true

  static override flags = {
    root: Flags.string({description: 'install into this directory tree instead of / (its etc/passwd for the user; no systemctl)', helpValue: 'DIR'}),
    'no-systemd': Flags.boolean({description: 'do not install the systemd units', default: false}),
    'dry-run': Flags.boolean({description: 'print what would change, change nothing', default: false}),
  }

  async run(): Promise<InstallReport> {
    const {flags} = await this.parse(Install)
    const report = install({root: flags.root, noSystemd: flags['no-systemd'], dryRun: flags['dry-run']})
    if (!this.jsonEnabled()) {
      const would = report.dryRun ? 'would be ' : ''
      for (const a of report.actions) this.log(`${a.kind} ${a.target}: ${a.action === 'ok' || a.action === 'skipped' ? a.action : `${would}${a.action}`} (${a.detail})`)
      if (!report.changed) this.log('nothing to do')
      else if (!report.dryRun) this.log('enable with: systemctl enable --now pqconnect-client.service (or pqconnect-server.service)')
    }
    return report
  }
}
