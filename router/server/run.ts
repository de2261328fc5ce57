/**
 * Starting and stopping a whole server: keys from the key directory, the Merkle tree, the TUN
 * device with its address, the crypto and key sockets, the key server and the router. What the
 * `pqc server start` command calls; it owns no protocol logic.
 */
import {TUN_MTU_DEFAULT_BYTES} from '../../src/constants.js'
import {systemRng} from '../../src/crypto/rng.js'
import {wipe} from '../../src/crypto/wipe.js'
import {defaultHandshakeCrypto} from '../../src/handshake/default-crypto.js'
import {buildMerkleTree} from '../../src/keys/merkle.js'
import {systemClock} from '../clock.js'
import {type ServerKeyFiles, readPublicKeys, readSecretKeys} from '../keys/keydir.js'
import {createLogger} from '../log.js'
import {ControlServer} from '../control-server.js'
import {configureLink} from '../net/link.js'
import {LinuxTun} from '../tun/linux.js'
import {BatchUdpSocket} from '../udp/batch.js'
import {KeyServer} from './key-server.js'
import {ServerRouter} from './server-router.js'

export interface ServerRunOptions {
  keydir: string
  /** Control socket for `pqc status`. */
  controlSocket: string
  pqcPort: number
  keyPort: number
  bind: string
  tunName: string
  /** TUN address with prefix, e.g. 10.42.0.1/16 (the client pool is that subnet). */
  tunCidr: string
  mtu?: number
  hostIp?: string
  verbose?: boolean
  /**
   * Privilege separation: the descriptors the root monitor opened (TUN configured, both ports
   * bound) and the key files it opened for us; the key directory itself is not readable here.
   */
  handed?: {tunFd: number; pqcFd: number; keyFd: number; keys: ServerKeyFiles}
}

export interface RunningServer {
  router: ServerRouter
  keyServer: KeyServer
  keyHashHex: string
  close(): void
}

function prefixed(prefix: string, counters: object): Record<string, number> {
  return Object.fromEntries(Object.entries(counters).map(([k, v]) => [`${prefix}.${k}`, v as number]))
}

export async function startServer(o: ServerRunOptions): Promise<RunningServer> {
  const log = createLogger('server', {verbose: o.verbose})
  const pub = o.handed?.keys ?? readPublicKeys(o.keydir)
  const sec = o.handed?.keys ?? readSecretKeys(o.keydir)
  wipe(sec.sessionKey) // cookies are never sent (section 14 item 19)
  const tree = buildMerkleTree(pub.mceliecePk, pub.x25519Pk)
  const [tunAddr, prefix] = o.tunCidr.split('/')
  const h = o.handed
  const tun = h === undefined ? LinuxTun.open({name: o.tunName}) : LinuxTun.fromFd(h.tunFd, o.tunName)
  const closers: Array<() => void> = [() => tun.close()]
  try {
    if (h === undefined) await configureLink(tun.name, {addresses: [o.tunCidr], mtu: o.mtu ?? TUN_MTU_DEFAULT_BYTES})
    const sock = h === undefined ? BatchUdpSocket.open({family: 4, address: o.bind, port: o.pqcPort}) : BatchUdpSocket.fromFd(h.pqcFd, 4)
    closers.push(() => sock.close())
    const keySock = h === undefined ? BatchUdpSocket.open({family: 4, address: o.bind, port: o.keyPort}) : BatchUdpSocket.fromFd(h.keyFd, 4)
    closers.push(() => keySock.close())
    const keyServer = new KeyServer({sock: keySock, tree, clock: systemClock, rng: systemRng, log: createLogger('keyserver', {verbose: o.verbose})})
    await keyServer.start()
    const router = new ServerRouter({
      tun, sock, keyServer, crypto: defaultHandshakeCrypto(systemRng),
      staticKeys: {mcelieceSecret: sec.mcelieceSk, x25519Secret: sec.x25519Sk},
      clock: systemClock, log, poolCidr: `${tunAddr}/${prefix}`, tunAddr, hostIp: o.hostIp,
    })
    router.start()
    closers.push(() => router.close())
    const keyHashHex = Buffer.from(tree.root).toString('hex')
    const startedMs = Date.now()
    const control = await ControlServer.listen(o.controlSocket, {
      status: () => ({
        mode: 'server', pid: process.pid, startedMs, peers: router.status(),
        counters: {...router.counters, ...prefixed('handshake', router.handshakes.counters), ...prefixed('admission', router.handshakes.admission), ...prefixed('keyserver', keyServer.counters)},
      }),
    }, log)
    log.info(`serving key ${keyHashHex.slice(0, 8)} on ${o.bind} crypto port ${o.pqcPort}, key port ${o.keyPort}; ${tun.name} ${o.tunCidr}`)
    return {
      router, keyServer, keyHashHex,
      close: () => {
        void control.close()
        router.close()
        keyServer.close()
        wipe(sec.mcelieceSk, sec.x25519Sk)
      },
    }
  } catch (error) {
    for (const c of closers.reverse()) c()
    wipe(sec.mcelieceSk, sec.x25519Sk)
    throw error
  }
}
