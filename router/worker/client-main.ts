/**
 * The client router worker (architecture.md section 3): started by the root monitor of
 * `pqc client start` with the TUN and the client UDP socket already open, it drops to the worker
 * user before reading any packet, runs the router and its control socket, and asks the monitor to
 * steer (nftables) exactly the servers it knows. Steer requests are coalesced: one in flight, and
 * the newest set follows it.
 */
import {sntrup761} from '../../src/crypto/sntrup.js'
import {MonitorLink, dropPrivileges, readEnvelope} from '../../monitor/worker-link.js'
import type {ClientRouter} from '../client/client-router.js'
import {type ClientRunOptions, startClientRouter} from '../client/run.js'
import {createLogger} from '../log.js'
import {loadAddon} from '../native/addon.js'

export type ClientWorkerConfig = Omit<ClientRunOptions, 'handed' | 'onPeersChanged'>

const envelope = readEnvelope<ClientWorkerConfig>()
const log = createLogger('router', {verbose: envelope.config.verbose})
// Load everything that is read from disk lazily while we can still read it: the installed tree
// need not be readable by the worker user.
loadAddon()
await sntrup761.keypair()
if (envelope.drop !== undefined) dropPrivileges(envelope.drop.uid, envelope.drop.gid)
const link = new MonitorLink()

let steering = false
let again = false
async function steer(router: ClientRouter): Promise<void> {
  if (steering) {
    again = true
    return
  }
  steering = true
  try {
    do {
      again = false
      const r = await link.request({t: 'steer', servers: router.steering()})
      if (r.t === 'error') log.error(`nftables steering refused: ${r.message}`)
    } while (again)
  } finally {
    steering = false
  }
}

const running = await startClientRouter({
  ...envelope.config,
  handed: {tunFd: envelope.fds.tun!, udpFd: envelope.fds.udp!},
  onPeersChanged: (router) => void steer(router),
})
const stop = (): void => {
  void running.close().finally(() => process.exit(0))
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
await link.request({t: 'ready'})
