import {Flags} from '@oclif/core'

import {startServerMonitor} from '../../../monitor/server-monitor.js'
import {PQC_CONFIG_FILE_DEFAULT, WORKER_USER} from '../../../src/constants.js'
import {effectiveConfig, givenFlags, loadConfigFile, valuesOf} from '../../config-file.js'
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
flags, else the config directory, else 624 and 584. this process stays root: it opens the TUN,
binds the ports, opens the key files and programs nftables (accept for both ports, masquerade for
server-in-a-bottle); the router runs as a worker under --user with no capabilities, reading the
keys from the descriptors it was handed. stops cleanly on SIGINT or SIGTERM.`

  static override examples = [
    '<%= config.bin %> server start',
    '<%= config.bin %> server start --keydir ./keys --pqcport 42424 --keyport 42425 --host-ip 203.0.113.9',
  ]

  static override flags = {
    config: Flags.string({description: `configuration file, pqc.conf(5) [default: ${PQC_CONFIG_FILE_DEFAULT}, if it exists]`, helpValue: 'FILE'}),
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
    'masquerade-if': Flags.string({description: 'with --host-ip: the interface toward it, where the bottle masquerade applies', helpValue: 'IFNAME'}),
    user: Flags.string({description: 'user the router worker runs as (created by `pqc install`)', default: WORKER_USER, helpValue: 'NAME'}),
    privsep: Flags.boolean({description: 'run the worker as --user (--no-privsep: keep this process\'s user; for debugging)', default: true, allowNo: true}),
    offload: Flags.boolean({description: 'TUN checksum and TCP segmentation offload (--no-offload: one packet per TUN read and write)', default: true, allowNo: true}),
    nft: Flags.boolean({description: 'program the nftables table inet pqconnect (accept the ports, bottle masquerade)', default: true, allowNo: true}),
    verbose: Flags.boolean({char: 'v', description: 'log more', default: false}),
  }

  async run(): Promise<void> {
    const {flags, metadata} = await this.parse(ServerStart)
    // Flags, then the configuration file, then the config directory ($KEYPATH for keydir), then defaults.
    const s = valuesOf(effectiveConfig({server: givenFlags('server', flags, metadata)}, loadConfigFile(flags.config)).server)
    claimPidFile(flags['pid-file'])
    const hostIp = s['host-ip']
    // Listen for SIGTERM/SIGINT before starting: a stop during start-up still cleans up.
    const signalled = waitForSignal()
    const server = await startServerMonitor({
      keydir: s.keydir,
      controlSocket: flags['control-socket'],
      pqcPort: s.pqcport,
      keyPort: s.keyport,
      bind: s.bind,
      tunName: s.tun,
      tunCidr: s['tun-addr'],
      mtu: s.mtu,
      ...(hostIp === undefined ? {} : {hostIp}),
      ...(flags['masquerade-if'] === undefined ? {} : {masqueradeIfname: flags['masquerade-if']}),
      verbose: flags.verbose,
      user: flags.privsep && process.getuid?.() === 0 ? flags.user : undefined,
      nft: flags.nft,
      offload: flags.offload,
    }).catch((error: unknown) => {
      releasePidFile(flags['pid-file'])
      throw error
    })
    await signalled
    await server.stop()
    releasePidFile(flags['pid-file'])
  }
}
