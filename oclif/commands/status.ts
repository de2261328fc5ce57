import {Flags} from '@oclif/core'

import type {RouterStatusBody} from '../../src/ipc/messages.js'
import {BaseCommand} from '../base-command.js'
import {queryRouterStatus} from '../router-status-client.js'
import {DEFAULT_ROUTER_SOCKET} from './client/start.js'
import {DEFAULT_SERVER_SOCKET} from './server/start.js'

export interface StatusResult {
  client: RouterStatusBody | null
  server: RouterStatusBody | null
}

export default class Status extends BaseCommand {
  static override summary = 'show the running client and server routers: peers, bytes, handshakes, last activity'
  static override description = `asks the control sockets of \`pqc client start\` and \`pqc server start\` on this host.
client peers are PQConnect servers (name, real and internal address, state, handshakes, bytes,
seconds since last activity); server peers are tunnels of clients (pool address, endpoint, bytes).`

  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --json']

  static override enableJsonFlag = true

  static override flags = {
    'router-socket': Flags.string({description: 'control socket of the client router', default: DEFAULT_ROUTER_SOCKET, helpValue: 'PATH'}),
    'server-socket': Flags.string({description: 'control socket of the server router', default: DEFAULT_SERVER_SOCKET, helpValue: 'PATH'}),
  }

  async run(): Promise<StatusResult> {
    const {flags} = await this.parse(Status)
    const [client, server] = await Promise.all([queryRouterStatus(flags['router-socket']), queryRouterStatus(flags['server-socket'])])
    const result = {client: client ?? null, server: server ?? null}
    if (!this.jsonEnabled()) {
      for (const [label, s] of [['client', client], ['server', server]] as const) {
        if (s === undefined) {
          this.log(`${label}: not running`)
          continue
        }
        this.log(`${label}: pid ${s.pid}, up ${Math.round((Date.now() - s.startedMs) / 1000)} s, ${s.peers.length} peer(s)`)
        for (const p of s.peers) {
          this.log(`  ${Object.entries(p).filter(([, v]) => v !== null).map(([k, v]) => `${k}=${String(v)}`).join(' ')}`)
        }
      }
    }
    return result
  }
}
