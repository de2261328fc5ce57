import {Flags} from '@oclif/core'

import {KEYPORT_PQC_DEFAULT, PQCPORT_PQC_DEFAULT} from '../../../src/constants.js'
import {readConfigHost, readConfigPorts} from '../../../router/keys/config-dir.js'
import {startServer} from '../../../router/server/run.js'
import {BaseCommand} from '../../base-command.js'
import {configDirFlag, keydirFlag, keyportFlag, pqcportFlag} from '../../key-flags.js'
import {SERVER_PID_FILE, claimPidFile, releasePidFile} from '../../pid-file.js'
import {waitForSignal} from '../../signals.js'

export const DEFAULT_SERVER_SOCKET = '/run/pqconnect/server.sock'

export default class ServerStart extends BaseCommand {
  static override summary = 'run a PQConnect server in the foreground'
  static override description = `serves the key port (static key as Merkle nodes, ephemeral keys per 30 s slot) and the crypto
port (handshakes and tunnels). decrypted packets appear on the TUN device from the client's pool
address (10.42.x.y) to the TUN address, or to --host-ip (server-in-a-bottle). ports come from the
flags, else the config directory, else 624 and 584. stops cleanly on SIGINT or SIGTERM.`

  static override examples = [
    '<%= config.bin %> server start',
    '<%= config.bin %> server start --keydir ./keys --pqcport 42424 --keyport 42425 --host-ip 203.0.113.9',
  ]

  static override flags = {
    keydir: keydirFlag,
    'config-dir': configDirFlag,
    pqcport: pqcportFlag,
    keyport: keyportFlag,
    bind: Flags.string({description: 'local IPv4 address of the two UDP sockets', default: '0.0.0.0', helpValue: 'ADDR'}),
    tun: Flags.string({description: 'TUN device name', default: 'pqcserv0', helpValue: 'NAME'}),
    'tun-addr': Flags.string({description: 'TUN address and prefix; the client pool is that subnet', default: '10.42.0.1/16', helpValue: 'CIDR'}),
    mtu: Flags.integer({description: 'TUN MTU', default: 1280, min: 576, max: 9000}),
    'host-ip': Flags.string({description: 'inner destination of decrypted packets (server-in-a-bottle); default: config dir `host`, else the TUN address', helpValue: 'IP'}),
    'control-socket': Flags.string({description: 'control socket answering `pqc status`', default: DEFAULT_SERVER_SOCKET, helpValue: 'PATH'}),
    'pid-file': Flags.string({description: 'where the pid is recorded for `pqc server stop`', default: SERVER_PID_FILE, helpValue: 'PATH'}),
    verbose: Flags.boolean({char: 'v', description: 'log more', default: false}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(ServerStart)
    const cfg = readConfigPorts(flags['config-dir'])
    claimPidFile(flags['pid-file'])
    const server = await startServer({
      keydir: flags.keydir,
      controlSocket: flags['control-socket'],
      pqcPort: flags.pqcport ?? cfg.pqcPort ?? PQCPORT_PQC_DEFAULT,
      keyPort: flags.keyport ?? cfg.keyPort ?? KEYPORT_PQC_DEFAULT,
      bind: flags.bind,
      tunName: flags.tun,
      tunCidr: flags['tun-addr'],
      mtu: flags.mtu,
      hostIp: flags['host-ip'] ?? readConfigHost(flags['config-dir']),
      verbose: flags.verbose,
    })
    await waitForSignal()
    server.close()
    releasePidFile(flags['pid-file'])
  }
}
