import {Flags} from '@oclif/core'

import {DEFAULT_CONTROL_SOCKET, formatHostPort, resolveConfig} from '../../../resolver/config.js'
import {startClientMonitor} from '../../../monitor/client-monitor.js'
import {PQCPORT_CLIENT, PQC_CONFIG_FILE_DEFAULT, WORKER_USER} from '../../../src/constants.js'
import {effectiveConfig, givenFlags, loadConfigFile, valuesOf} from '../../config-file.js'
import {BaseCommand} from '../../base-command.js'
import {CLIENT_PID_FILE, claimPidFile, releasePidFile} from '../../pid-file.js'
import {waitForSignal} from '../../signals.js'

import {DEFAULT_ROUTER_SOCKET} from '../../tunnel-states.js'

export {DEFAULT_ROUTER_SOCKET}

export default class ClientStart extends BaseCommand {
  static override summary = 'run the PQConnect client: the DNS proxy and the tunnel router'
  static override description = `starts the router (TUN device, tunnels to PQConnect servers) and the local DNS proxy that
hands applications internal addresses for announced servers. point /etc/resolv.conf at the
--listen address. this process stays root and only opens the TUN device, binds the sockets and
programs nftables; the router and the resolver run as two workers under --user with no
capabilities, and are restarted if they die. runs in the foreground until SIGINT or SIGTERM,
then removes its nftables table and the TUN device.`

  static override examples = [
    '<%= config.bin %> client start --upstream 9.9.9.9',
    '<%= config.bin %> client start --listen 127.0.0.53:53 --upstream 192.0.2.53 --cache-dir /var/cache/pqconnect',
    '<%= config.bin %> client start --upstream 9.9.9.9 --capture-dns',
  ]

  static override flags = {
    listen: Flags.string({description: 'DNS listen address and port', default: '127.0.0.53:53', helpValue: 'ADDR:PORT'}),
    upstream: Flags.string({description: 'upstream resolver, in failover order (repeatable)', multiple: true, helpValue: 'ADDR[:PORT]'}),
    config: Flags.string({description: `configuration file, pqc.conf(5) [default: ${PQC_CONFIG_FILE_DEFAULT}, if it exists]`, helpValue: 'FILE'}),
    'resolver-config': Flags.string({description: 'resolver JSON config file (cache size, pool, upstreams)', helpValue: 'FILE'}),
    'inbound-allow': Flags.string({description: 'a local port servers may open new connections to through the tunnel (repeatable)', multiple: true, helpValue: 'PROTO/PORT'}),
    tun: Flags.string({description: 'TUN device name', default: 'pqccli0', helpValue: 'NAME'}),
    'tun-addr': Flags.string({description: 'TUN address and prefix; servers get addresses in that subnet', default: '10.43.0.1/16', helpValue: 'CIDR'}),
    port: Flags.integer({description: 'local UDP port of the tunnels', default: PQCPORT_CLIENT, min: 1, max: 65535}),
    mtu: Flags.integer({description: 'TUN MTU', default: 1280, min: 576, max: 9000}),
    'cache-dir': Flags.string({description: 'where verified server keys are kept', default: '/var/cache/pqconnect', helpValue: 'DIR'}),
    'router-socket': Flags.string({description: 'control socket between resolver and router', default: DEFAULT_ROUTER_SOCKET, helpValue: 'PATH'}),
    'control-socket': Flags.string({description: `status socket of the resolver [default: ${DEFAULT_CONTROL_SOCKET}]`, helpValue: 'PATH'}),
    'pid-file': Flags.string({description: 'where the pid is recorded for `pqc client stop`', default: CLIENT_PID_FILE, helpValue: 'PATH'}),
    user: Flags.string({description: 'user the router and resolver workers run as (created by `pqc install`)', default: WORKER_USER, helpValue: 'NAME'}),
    privsep: Flags.boolean({description: 'run the workers as --user (--no-privsep: keep this process\'s user; for debugging)', default: true, allowNo: true}),
    nft: Flags.boolean({description: 'program the nftables table inet pqconnect (steering, inbound drop, DNS capture)', default: true, allowNo: true}),
    offload: Flags.boolean({description: 'TUN checksum and TCP segmentation offload (--no-offload: one packet per TUN read and write)', default: true, allowNo: true}),
    'steer-forwarded': Flags.boolean({description: 'steer flows this host forwards too (client-in-a-bottle: a gateway for other machines)', default: false}),
    'capture-dns': Flags.boolean({description: 'redirect local applications\' DNS (port 53, any server) to our resolver', default: false}),
    verbose: Flags.boolean({char: 'v', description: 'log more', default: false}),
  }

  async run(): Promise<void> {
    const {flags, metadata} = await this.parse(ClientStart)
    // Flags, then the configuration file, then defaults (pqc config show prints the result).
    const eff = effectiveConfig({client: givenFlags('client', flags, metadata)}, loadConfigFile(flags.config)).client
    const c = valuesOf(eff)
    const cfg = resolveConfig({
      listen: eff.listen.source === 'default' ? undefined : c.listen, upstreams: c.upstreams.length > 0 ? c.upstreams : undefined,
      config: flags['resolver-config'], routerSocket: flags['router-socket'],
      controlSocket: flags['control-socket'], logQueries: undefined,
    })
    cfg.controlSocket ??= DEFAULT_CONTROL_SOCKET
    claimPidFile(flags['pid-file'])
    // Listen for SIGTERM/SIGINT before starting: a stop during start-up still cleans up.
    const signalled = waitForSignal()
    const monitor = await startClientMonitor({
      tunName: c.tun, tunCidr: c['tun-addr'], port: c.port, cacheDir: c['cache-dir'],
      routerSocket: flags['router-socket'], mtu: c.mtu, verbose: flags.verbose,
      resolver: {...cfg}, user: flags.privsep && process.getuid?.() === 0 ? flags.user : undefined,
      nft: flags.nft, offload: flags.offload, captureDns: c['capture-dns'], inboundAllow: c['inbound-allow'], steerForwarded: flags['steer-forwarded'],
    }).catch((error: unknown) => {
      releasePidFile(flags['pid-file'])
      throw error
    })
    this.logToStderr(`client: resolver on ${formatHostPort(cfg.listen)}, upstreams ${cfg.upstreams.map(formatHostPort).join(', ')}`)
    await signalled
    await monitor.stop()
    releasePidFile(flags['pid-file'])
  }
}
