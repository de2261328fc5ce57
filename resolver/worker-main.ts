/**
 * The resolver worker (architecture.md section 3): started by the root monitor of
 * `pqc client start` with the DNS UDP and TCP sockets already bound (port 53 needs privilege),
 * it drops to the worker user before reading any query. It holds no key material and no TUN or
 * netlink descriptor; all it can do besides DNS is talk to the router's control socket.
 */
import {MonitorLink, dropPrivileges, readEnvelope} from '../monitor/worker-link.js'
import type {ResolverConfig} from './config.js'
import {startResolver} from './main.js'

const envelope = readEnvelope<ResolverConfig>()
if (envelope.drop !== undefined) dropPrivileges(envelope.drop.uid, envelope.drop.gid)
const link = new MonitorLink()
const running = await startResolver({...envelope.config, listenFds: {udp: envelope.fds.udp!, tcp: envelope.fds.tcp!}})
const stop = (): void => {
  void running.close().finally(() => process.exit(0))
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
await link.request({t: 'ready'})
