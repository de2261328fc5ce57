/**
 * Starting and stopping the client router: TUN with its address, the client UDP socket, the
 * control socket the resolver talks to. What `pqc client start` calls (with the resolver beside it).
 */
import {TUN_MTU_DEFAULT_BYTES} from '../../src/constants.js'
import {systemRng} from '../../src/crypto/rng.js'
import {defaultHandshakeCrypto} from '../../src/handshake/default-crypto.js'
import {systemClock} from '../clock.js'
import {createLogger} from '../log.js'
import {configureLink} from '../net/link.js'
import {LinuxTun} from '../tun/linux.js'
import {BatchUdpSocket} from '../udp/batch.js'
import {ClientRouter} from './client-router.js'
import {ControlServer} from '../control-server.js'

export interface ClientRunOptions {
  tunName: string
  tunCidr: string
  port: number
  cacheDir?: string
  routerSocket: string
  mtu?: number
  verbose?: boolean
  /** The TUN and UDP descriptors the root monitor opened and configured (privilege separation). */
  handed?: {tunFd: number; udpFd: number}
  /** The set of servers changed (nftables steering follows). */
  onPeersChanged?: (router: ClientRouter) => void
}

export interface RunningClientRouter {
  router: ClientRouter
  close(): Promise<void>
}

export async function startClientRouter(o: ClientRunOptions): Promise<RunningClientRouter> {
  const log = createLogger('router', {verbose: o.verbose})
  const [tunAddr, prefix] = o.tunCidr.split('/')
  const tun = o.handed === undefined ? LinuxTun.open({name: o.tunName}) : LinuxTun.fromFd(o.handed.tunFd, o.tunName)
  let sock: BatchUdpSocket | undefined
  try {
    if (o.handed === undefined) {
      await configureLink(tun.name, {addresses: [o.tunCidr], mtu: o.mtu ?? TUN_MTU_DEFAULT_BYTES})
      sock = BatchUdpSocket.open({family: 4, address: '0.0.0.0', port: o.port})
    } else {
      sock = BatchUdpSocket.fromFd(o.handed.udpFd, 4)
    }
    const router: ClientRouter = new ClientRouter({
      tun, sock, crypto: defaultHandshakeCrypto(systemRng), clock: systemClock, log, cacheDir: o.cacheDir,
      tunAddr, poolCidr: `${tunAddr}/${prefix}`, onPeersChanged: () => o.onPeersChanged?.(router),
    })
    router.start()
    const startedMs = Date.now()
    const control = await ControlServer.listen(o.routerSocket, {
      announce: (a) => router.announce(a),
      status: () => ({mode: 'client', pid: process.pid, startedMs, peers: router.status(), counters: {...router.counters}}),
    }, log)
    log.info(`${tun.name} ${o.tunCidr}, UDP port ${o.port}, control socket ${o.routerSocket}`)
    return {
      router,
      close: async () => {
        await control.close()
        router.close()
      },
    }
  } catch (error) {
    sock?.close()
    tun.close()
    throw error
  }
}
