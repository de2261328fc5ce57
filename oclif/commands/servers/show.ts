import {Args, Flags} from '@oclif/core'

import {DEFAULT_CONTROL_SOCKET} from '../../../resolver/config.js'
import {LocalError} from '../../../src/errors.js'
import type {ServerInfo} from '../../../src/ipc/messages.js'
import {BaseCommand} from '../../base-command.js'
import {DEFAULT_ROUTER_SOCKET, tunnelStates} from '../../tunnel-states.js'
import {fetchStatus} from '../../../resolver/status-client.js'

export default class ServersShow extends BaseCommand {
  static override summary = 'show one PQConnect server the resolver has seen'
  static override description = `NAME is the pq1 name, its first label, or a prefix of the key hash (hex). the server is looked
up in the running resolver's table (see pqc servers list).`

  static override examples = [
    '<%= config.bin %> servers show pq1u1hy1ujsuk258krx3ku6wd9rp96kfxm64mgct3s3j26udp57dbu1.pqconnect.net',
    '<%= config.bin %> servers show 3a3c1f34 --json',
  ]

  static override enableJsonFlag = true

  static override args = {name: Args.string({description: 'pq1 name or key-hash prefix', required: true})}

  static override flags = {
    'control-socket': Flags.string({description: 'Unix socket of the running resolver', default: DEFAULT_CONTROL_SOCKET, helpValue: 'PATH'}),
    'router-socket': Flags.string({description: 'control socket of the client router, for the tunnel state', default: DEFAULT_ROUTER_SOCKET, helpValue: 'PATH'}),
  }

  async run(): Promise<ServerInfo & {tunnel: string}> {
    const {args, flags} = await this.parse(ServersShow)
    const st = await fetchStatus(flags['control-socket'])
    const want = args.name.toLowerCase().replace(/\.$/, '')
    const s = st.servers.find((x) => x.name.toLowerCase() === want || x.name.toLowerCase().split('.')[0] === want
      || (want.length >= 4 && /^[0-9a-f]+$/.test(want) && x.keyHash.startsWith(want)))
    if (s === undefined) throw new LocalError('PQC_ERR_NOT_ANNOUNCED', `no PQConnect server ${args.name} seen by the resolver`)
    const tunnel = (await tunnelStates(flags['router-socket'])).get(s.keyHash) ?? 'none'
    if (!this.jsonEnabled()) {
      this.log(`name:      ${s.name}`)
      this.log(`key hash:  ${s.keyHash}`)
      this.log(`real:      ${s.realAddrs.join(', ')}`)
      this.log(`internal:  ${s.internalAddr}`)
      this.log(`ports:     crypto ${s.pqcPort ?? 'unknown'}, key ${s.keyPort ?? 'unknown'}`)
      this.log(`state:     ${s.state}`)
      this.log(`last use:  ${new Date(s.lastUseMs).toISOString()}`)
      this.log(`tunnel:    ${tunnel}`)
    }
    return {...s, tunnel}
  }
}
