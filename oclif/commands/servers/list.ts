import {Flags} from '@oclif/core'

import {DEFAULT_CONTROL_SOCKET} from '../../../resolver/config.js'
import {BaseCommand} from '../../base-command.js'
import {DEFAULT_ROUTER_SOCKET, tunnelStates} from '../../tunnel-states.js'
import {fetchStatus, formatServer} from '../../../resolver/status-client.js'
import type {ServerInfo} from '../../../src/ipc/messages.js'

export default class ServersList extends BaseCommand {
  static override summary = 'list the PQConnect servers the resolver has seen'
  static override description = `asks the running resolver (pqc resolver start) over its control socket. columns: pq1 name,
short key hash, real address(es), internal address, crypto/key ports, state (router: address from
the router; local: from the resolver's own allocator; gone), last use, and the tunnel state from
the client router (up, connecting, failed, idle; none without a router). --json prints the full
records and the resolver's counters.`

  static override examples = [
    '<%= config.bin %> servers list',
    '<%= config.bin %> servers list --json --control-socket /run/pqc/resolver.sock',
  ]

  static override enableJsonFlag = true

  static override flags = {
    'control-socket': Flags.string({description: 'Unix socket of the running resolver', default: DEFAULT_CONTROL_SOCKET, helpValue: 'PATH'}),
    'router-socket': Flags.string({description: 'control socket of the client router, for the tunnel state', default: DEFAULT_ROUTER_SOCKET, helpValue: 'PATH'}),
  }

  async run(): Promise<{servers: Array<ServerInfo & {tunnel: string}>; counters: Record<string, number>}> {
    const {flags} = await this.parse(ServersList)
    const st = await fetchStatus(flags['control-socket'])
    const tunnels = await tunnelStates(flags['router-socket'])
    const servers = st.servers.map((s) => ({...s, tunnel: tunnels.get(s.keyHash) ?? 'none'}))
    if (!this.jsonEnabled()) {
      const rows = [['NAME', 'KEY', 'REAL', 'INTERNAL', 'PORTS', 'STATE', 'LAST USE', 'TUNNEL'], ...servers.map((s) => [...formatServer(s), s.tunnel])]
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
      for (const r of rows) this.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd())
      const c = st.counters
      this.log(`\nqueries ${c.queries ?? 0}, cache hits ${c.cacheHits ?? 0}, misses ${c.cacheMisses ?? 0}, `
        + `upstream timeouts ${c.upstreamTimeouts ?? 0}, rewrites ${c.rewrites ?? 0}, `
        + `mean upstream RTT ${((c.upstreamRttMsSum ?? 0) / Math.max(1, c.upstreamReplies ?? 0)).toFixed(1)} ms`)
    }
    return {servers, counters: st.counters}
  }
}
