import {getServers} from 'node:dns'

import {Args, Flags} from '@oclif/core'

import {formatHostPort, parseHostPort} from '../../../resolver/config.js'
import type {KeyProgress} from '../../../router/check/key-probe.js'
import {checkServer, type ServerCheckReport} from '../../../router/check/server-check.js'
import {STATIC_FETCH_DEADLINE_S} from '../../../src/constants.js'
import {LocalError} from '../../../src/errors.js'
import {BaseCommand} from '../../base-command.js'

export default class ServerCheck extends BaseCommand {
  static override summary = 'check that a PQConnect server is announced and reachable, as a client sees it'
  static override description = `resolves NAME through a DNS server (default: the first nameserver of /etc/resolv.conf), finds
the pq1 announcement on its CNAME chain, reads the ports from the label or the TXT records,
downloads the full static key over the key port and verifies it against the announced hash, and
asks for one ephemeral key. with --keydir the announced hash is compared with the local keys, with
--config-dir the announced ports with the config directory. prints one line per step, OK or FAIL
with the reason and a fix; the exit status is that of the first failure (see pqc(1)).`

  static override examples = [
    '<%= config.bin %> server check www.example.org',
    '<%= config.bin %> server check www.example.org --server 9.9.9.9 --keydir /etc/pqconnect/keys --config-dir /etc/pqconnect/config --json',
  ]

  static override enableJsonFlag = true

  static override args = {name: Args.string({description: 'service name clients resolve, e.g. www.example.org', required: true})}

  static override flags = {
    server: Flags.string({description: 'DNS server to ask [default: first nameserver of /etc/resolv.conf]', helpValue: 'ADDR[:PORT]'}),
    keydir: Flags.string({description: 'compare the announced key hash with this key directory', helpValue: 'DIR'}),
    'config-dir': Flags.string({description: 'compare the announced ports with this config directory', helpValue: 'DIR'}),
    timeout: Flags.integer({description: 'seconds the static-key download may take', default: STATIC_FETCH_DEADLINE_S, min: 1, max: 600, helpValue: 'SECONDS'}),
  }

  async run(): Promise<ServerCheckReport> {
    const {args, flags} = await this.parse(ServerCheck)
    const serverText = flags.server ?? getServers()[0]
    if (serverText === undefined) {
      throw new LocalError('PQC_ERR_CONFIG_INVALID', 'no DNS server: /etc/resolv.conf names none', {hint: 'pass --server ADDR[:PORT]'})
    }
    const dns = parseHostPort(serverText)
    const tty = process.stderr.isTTY && !this.jsonEnabled()
    let lastLine = ''
    const report = await checkServer({
      name: args.name, dns, keydir: flags.keydir, configDir: flags['config-dir'], deadlineS: flags.timeout,
      onProgress: tty ? (p) => {
        // One redraw per percent or level, not per node.
        const line = progressLine(p)
        if (line.replace(/, \d+ requests$/, '') !== lastLine) process.stderr.write(`\r${line}\x1b[K`)
        lastLine = line.replace(/, \d+ requests$/, '')
      } : undefined,
    })
    if (tty) process.stderr.write('\r\x1b[K')
    if (!this.jsonEnabled()) printReport(this, report, formatHostPort(dns))
    const failed = report.steps.find((s) => s.status === 'fail')
    if (failed !== undefined) {
      // oclif prints a returned value only on success: print the JSON report ourselves, then fail.
      if (this.jsonEnabled()) this.logJson(report)
      const n = report.steps.filter((s) => s.status === 'fail').length
      throw new LocalError(failed.code ?? 'PQC_ERR_IO', `server check of ${report.name} failed: ${n} step${n === 1 ? '' : 's'} (first: ${failed.title})`)
    }
    return report
  }
}

export function progressLine(p: KeyProgress): string {
  const pct = Math.floor((100 * p.nodesDone) / p.nodesTotal)
  return `key download: level ${p.depth} of ${p.leafDepth}, ${pct}% of ${p.nodesTotal} nodes, ${p.requests} requests`
}

export function printReport(cmd: {log(msg: string): void}, r: ServerCheckReport, dnsServer: string): void {
  cmd.log(`checking ${r.name} through DNS server ${dnsServer}`)
  for (const s of r.steps) {
    const mark = s.status === 'ok' ? 'OK  ' : s.status === 'fail' ? 'FAIL' : 'SKIP'
    cmd.log(`${mark} ${s.title.padEnd(16)} ${s.detail}`)
    if (s.hint !== undefined) cmd.log(`     ${''.padEnd(16)} fix: ${s.hint}`)
  }
  cmd.log(r.ok ? `${r.name} is a working PQConnect server` : `${r.name}: ${r.steps.filter((s) => s.status === 'fail').length} problem(s) found`)
}
