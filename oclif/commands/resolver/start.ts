import {mkdirSync} from 'node:fs'
import {dirname} from 'node:path'

import {Flags} from '@oclif/core'

import {DEFAULT_CONTROL_SOCKET, formatHostPort, resolveConfig} from '../../../resolver/config.js'
import {startResolver} from '../../../resolver/main.js'
import {LocalError} from '../../../src/errors.js'
import {BaseCommand} from '../../base-command.js'

export default class ResolverStart extends BaseCommand {
  static override summary = 'run the local DNS proxy that spots pq1 announcements'
  static override description = `listens on UDP and TCP (default 127.0.0.53:53) and forwards to the configured upstream
resolvers, with a TTL-correct cache. answers whose CNAME chain carries a pq1 label get the server's
internal address (from the router when --router-socket is connected, else from the resolver's own
10.43.0.0/16 allocator), TTL 0, and no AAAA records. upstreams never come from /etc/resolv.conf
(which points at this proxy); an upstream equal to the listen address is refused.

the config file is JSON: {"listen", "upstreams": [...], "routerSocket", "controlSocket",
"cacheEntries", "pool", "logQueries"}; flags override it. runs until SIGINT or SIGTERM.`

  static override examples = [
    '<%= config.bin %> resolver start --upstream 9.9.9.9 --upstream 149.112.112.112',
    '<%= config.bin %> resolver start --listen 127.0.0.54:53 --config /etc/pqconnect/resolver.json',
  ]

  static override flags = {
    listen: Flags.string({description: 'address and port to listen on', helpValue: 'ADDR:PORT'}),
    upstream: Flags.string({description: 'upstream resolver, in failover order (repeatable)', multiple: true, helpValue: 'ADDR[:PORT]'}),
    config: Flags.string({description: 'JSON config file', helpValue: 'FILE'}),
    'router-socket': Flags.string({description: 'Unix socket of the router (control channel)', helpValue: 'PATH'}),
    'control-socket': Flags.string({description: `Unix socket serving status to the CLI [default: ${DEFAULT_CONTROL_SOCKET}]`, helpValue: 'PATH'}),
    'log-queries': Flags.boolean({description: 'log every query to stderr (off by default for privacy)'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(ResolverStart)
    const cfg = resolveConfig({
      listen: flags.listen, upstreams: flags.upstream, config: flags.config, routerSocket: flags['router-socket'],
      controlSocket: flags['control-socket'], logQueries: flags['log-queries'] ? true : undefined,
    })
    cfg.controlSocket ??= DEFAULT_CONTROL_SOCKET
    try {
      mkdirSync(dirname(cfg.controlSocket), {recursive: true})
    } catch (err) {
      throw new LocalError('PQC_ERR_IO', `cannot create ${dirname(cfg.controlSocket)}`, {cause: err})
    }
    const r = await startResolver(cfg).catch((err: unknown) => {
      throw new LocalError('PQC_ERR_IO', `cannot listen on ${formatHostPort(cfg.listen)}: ${(err as Error).message}`, {cause: err})
    })
    this.logToStderr(`resolver: listening on ${r.status().listen}, upstreams ${cfg.upstreams.map(formatHostPort).join(', ')}`)
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve())
      process.once('SIGTERM', () => resolve())
    })
    await r.close()
  }
}
