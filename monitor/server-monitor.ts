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
import {createLogger} from '../router/log.js'
import {loadAddon} from '../router/native/addon.js'
import {applyRuleset, removeTable} from '../router/nft/apply.js'
import {networkOf} from './client-monitor.js'
import {type WorkerIds, lookupUser, prepareSocketPath, workerEntry} from './host.js'
import {Supervisor} from './supervisor.js'
import {TunKeeper} from './tun-keeper.js'

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
}

export interface RunningServerMonitor {
  routerPid(): number | undefined
  stop(): Promise<void>
}

export async function startServerMonitor(o: ServerMonitorOptions): Promise<RunningServerMonitor> {
  const log = createLogger('monitor', {verbose: o.verbose})
  const addon = loadAddon()
  const ids: WorkerIds | undefined = o.user === undefined ? undefined : lookupUser(o.user)
  if (ids !== undefined) addon.noNewPrivs()
  const fds: number[] = []
  let supervisor: Supervisor | undefined
  let tun: TunKeeper | undefined
  let tableApplied = false
  const cleanup = async (): Promise<void> => {
    await supervisor?.stop()
    if (tableApplied) {
      try {
        removeTable()
      } catch (error) {
        log.error((error as Error).message)
      }
    }
    tun?.close()
    for (const fd of fds) addon.closeFd(fd)
  }
  try {
    const keyFds = openKeyFiles(o.keydir)
    fds.push(...Object.values(keyFds))
    tun = await TunKeeper.open(addon, o.tunName, o.tunCidr, o.mtu)
    const pqc = addon.udpOpen(4, o.bind, o.pqcPort, false, UDP_SOCKET_BUFFER_BYTES)
    fds.push(pqc)
    const key = addon.udpOpen(4, o.bind, o.keyPort, false, UDP_SOCKET_BUFFER_BYTES)
    fds.push(key)
    prepareSocketPath(o.controlSocket, ids)
    if (o.nft) {
      applyRuleset(renderServerRuleset({
        pqcPort: o.pqcPort, keyPort: o.keyPort, tunName: tun.name, poolCidr: networkOf(o.tunCidr),
        ...(o.hostIp === undefined ? {} : {hostIp: o.hostIp}),
        ...(o.masqueradeIfname === undefined ? {} : {masqueradeIfname: o.masqueradeIfname}),
      }))
      tableApplied = true
    }
    const {keydir: _keydir, user: _user, nft: _nft, masqueradeIfname: _m, ...config} = o
    supervisor = new Supervisor({
      role: 'server-router', entry: workerEntry('../router/worker/server-main'), log,
      fds: {tun: tun.fd, pqc, key, ...Object.fromEntries(KEY_FIELDS.map((f) => [f, keyFds[f]]))},
      drop: ids === undefined ? undefined : {uid: ids.uid, gid: ids.gid},
      config: {...config, keydir: '', tunName: tun.name},
      onRequest: () => undefined,
    })
    await supervisor.start()
    const sup = supervisor
    tun.watch(log, (fd) => sup.restartWith({tun: fd}))
    log.info(`router worker ${supervisor.pid}${ids === undefined ? '' : ` as ${ids.user}`}; nftables ${o.nft ? 'on' : 'off'}`)
    return {routerPid: () => supervisor?.pid, stop: cleanup}
  } catch (error) {
    await cleanup()
    throw error
  }
}
