/**
 * The server router worker (architecture.md section 3): started by the root monitor of
 * `pqc server start` with the TUN, both UDP ports and the five key files already open. It reads
 * the keys from those descriptors, drops to the worker user, and serves; the key directory
 * itself stays unreadable to it.
 */
import {sntrup761} from '../../src/crypto/sntrup.js'
import {MonitorLink, dropPrivileges, readEnvelope} from '../../monitor/worker-link.js'
import {KEY_FIELDS, type ServerKeyFiles, readKeyFds} from '../keys/keydir.js'
import {loadAddon} from '../native/addon.js'
import {type ServerRunOptions, startServer} from '../server/run.js'

export type ServerWorkerConfig = Omit<ServerRunOptions, 'handed'>

const envelope = readEnvelope<ServerWorkerConfig>()
const fds = envelope.fds
const keys = readKeyFds(Object.fromEntries(KEY_FIELDS.map((f) => [f, fds[f]!])) as Record<keyof ServerKeyFiles, number>)
loadAddon()
await sntrup761.keypair()
if (envelope.drop !== undefined) dropPrivileges(envelope.drop.uid, envelope.drop.gid)
const link = new MonitorLink()
const running = await startServer({...envelope.config, handed: {tunFd: fds.tun!, pqcFd: fds.pqc!, keyFd: fds.key!, keys}})
const stop = (): void => {
  running.close()
  process.exit(0)
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
await link.request({t: 'ready'})
