/**
 * The root monitor of `pqc server start` (architecture.md sections 3 and 4): creates and
 * configures the TUN, binds the crypto and key ports (below 1024 by default: port security),
 * opens the five key files (modes checked), applies the server table (accept for both ports,
 * masquerade for server-in-a-bottle), then starts the router worker, which reads the keys from
 * the descriptors and drops to the worker user. Stopping removes the table.
 */
import {UDP_SOCKET_BUFFER_BYTES} from '../src/constants.js'
import {renderServerRuleset} from '../src/nft/server-ruleset.js'
import {KEY_FIELDS, openKeyFiles} from '../router/keys/keydir.js'
import {prepareSocketPath, workerEntry} from './host.js'
import {MonitorResources, networkOf} from './resources.js'
import {Supervisor} from './supervisor.js'

export interface ServerMonitorOptions {
  keydir: string
  controlSocket: string
  pqcPort: number
  keyPort: number
  bind: string
  tunName: string
  tunCidr: string
  mtu: number
  hostIp?: string
  /** With hostIp: the interface toward it, where the bottle masquerade applies. */
  masqueradeIfname?: string
  verbose: boolean
  user: string | undefined
  nft: boolean
  /** TUN checksum and TCP segmentation offload (default true). */
  offload?: boolean
}

export interface RunningServerMonitor {
  routerPid(): number | undefined
  stop(): Promise<void>
}

export async function startServerMonitor(o: ServerMonitorOptions): Promise<RunningServerMonitor> {
  const res = new MonitorResources(o.user, o.verbose)
  const {addon, ids, log} = res
  try {
    const keyFds = openKeyFiles(o.keydir)
    for (const fd of Object.values(keyFds)) res.fd(fd)
    const tun = await res.openTun(o.tunName, o.tunCidr, o.mtu, o.offload ?? true)
    const pqc = res.fd(addon.udpOpen(4, o.bind, o.pqcPort, false, UDP_SOCKET_BUFFER_BYTES))
    const key = res.fd(addon.udpOpen(4, o.bind, o.keyPort, false, UDP_SOCKET_BUFFER_BYTES))
    prepareSocketPath(o.controlSocket, ids)
    if (o.nft) {
      res.applyTable(renderServerRuleset({
        pqcPort: o.pqcPort, keyPort: o.keyPort, tunName: tun.name, poolCidr: networkOf(o.tunCidr),
        ...(o.hostIp === undefined ? {} : {hostIp: o.hostIp}),
        ...(o.masqueradeIfname === undefined ? {} : {masqueradeIfname: o.masqueradeIfname}),
      }))
    }
    const {keydir: _keydir, user: _user, nft: _nft, offload: _offload, masqueradeIfname: _m, ...config} = o
    const supervisor = new Supervisor({
      role: 'server-router', entry: workerEntry('../router/worker/server-main'), log,
      fds: {tun: tun.fd, pqc, key, ...Object.fromEntries(KEY_FIELDS.map((f) => [f, keyFds[f]]))},
      drop: res.drop,
      config: {...config, keydir: '', tunName: tun.name},
      onRequest: () => undefined,
    })
    res.supervisors.push(supervisor)
    await supervisor.start()
    tun.watch(log, (fd) => supervisor.restartWith({tun: fd}))
    log.info(`router worker ${supervisor.pid}${ids === undefined ? '' : ` as ${ids.user}`}; nftables ${o.nft ? 'on' : 'off'}`)
    return {routerPid: () => supervisor.pid, stop: () => res.release()}
  } catch (error) {
    await res.release()
    throw error
  }
}
