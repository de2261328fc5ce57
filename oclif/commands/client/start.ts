import {mkdirSync} from 'node:fs'
import {dirname} from 'node:path'

import {Flags} from '@oclif/core'

import {DEFAULT_CONTROL_SOCKET, formatHostPort, resolveConfig} from '../../../resolver/config.js'
import {startResolver} from '../../../resolver/main.js'
import {startClientRouter} from '../../../router/client/run.js'
import {PQCPORT_CLIENT} from '../../../src/constants.js'
import {LocalError} from '../../../src/errors.js'
import {BaseCommand} from '../../base-command.js'
import {CLIENT_PID_FILE, claimPidFile, releasePidFile} from '../../pid-file.js'
import {waitForSignal} from '../../signals.js'

import {DEFAULT_ROUTER_SOCKET} from '../../tunnel-states.js'

export {DEFAULT_ROUTER_SOCKET}

export default class ClientStart extends BaseCommand {
  static override summary = 'run the PQConnect client: the DNS proxy and the tunnel router'
  static override description = `starts the router (TUN device, tunnels to PQConnect servers) and the local DNS proxy that
hands applications internal addresses for announced servers. point /etc/resolv.conf at the
--listen address. runs in the foreground until SIGINT or SIGTERM, then removes the TUN device.`

  static override examples = [
    '<%= config.bin %> client start --upstream 9.9.9.9',
    '<%= config.bin %> client start --listen 127.0.0.53:53 --upstream 192.0.2.53 --cache-dir /var/cache/pqconnect',
  ]

  static override flags = {
    listen: Flags.string({description: 'DNS listen address and port', default: '127.0.0.53:53', helpValue: 'ADDR:PORT'}),
    upstream: Flags.string({description: 'upstream resolver, in failover order (repeatable)', multiple: true, helpValue: 'ADDR[:PORT]'}),
    config: Flags.string({description: 'resolver JSON config file', helpValue: 'FILE'}),
    tun: Flags.string({description: 'TUN device name', default: 'pqccli0', helpValue: 'NAME'}),
    'tun-addr': Flags.string({description: 'TUN address and prefix; servers get addresses in that subnet', default: '10.43.0.1/16', helpValue: 'CIDR'}),
    port: Flags.integer({description: 'local UDP port of the tunnels', default: PQCPORT_CLIENT, min: 1, max: 65535}),
    mtu: Flags.integer({description: 'TUN MTU', default: 1280, min: 576, max: 9000}),
    'cache-dir': Flags.string({description: 'where verified server keys are kept', default: '/var/cache/pqconnect', helpValue: 'DIR'}),
    'router-socket': Flags.string({description: 'control socket between resolver and router', default: DEFAULT_ROUTER_SOCKET, helpValue: 'PATH'}),
    'control-socket': Flags.string({description: `status socket of the resolver [default: ${DEFAULT_CONTROL_SOCKET}]`, helpValue: 'PATH'}),
    'pid-file': Flags.string({description: 'where the pid is recorded for `pqc client stop`', default: CLIENT_PID_FILE, helpValue: 'PATH'}),
    verbose: Flags.boolean({char: 'v', description: 'log more', default: false}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(ClientStart)
    claimPidFile(flags['pid-file'])
    const router = await startClientRouter({
      tunName: flags.tun, tunCidr: flags['tun-addr'], port: flags.port, cacheDir: flags['cache-dir'],
      routerSocket: flags['router-socket'], mtu: flags.mtu, verbose: flags.verbose,
    })
    const cfg = resolveConfig({
      listen: flags.listen, upstreams: flags.upstream, config: flags.config, routerSocket: flags['router-socket'],
      controlSocket: flags['control-socket'], logQueries: undefined,
    })
    cfg.controlSocket ??= DEFAULT_CONTROL_SOCKET
    mkdirSync(dirname(cfg.controlSocket), {recursive: true})
    const resolver = await startResolver(cfg).catch(async (err: unknown) => {
      await router.close()
      throw new LocalError('PQC_ERR_IO', `cannot listen on ${formatHostPort(cfg.listen)}: ${(err as Error).message}`, {cause: err})
    })
    this.logToStderr(`client: resolver on ${resolver.status().listen}, upstreams ${cfg.upstreams.map(formatHostPort).join(', ')}`)
    await waitForSignal()
    await resolver.close()
    await router.close()
    releasePidFile(flags['pid-file'])
  }
}
