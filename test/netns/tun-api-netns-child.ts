/**
 * Child of tun.netns.test.ts: the addon's edges, run as root in a namespace. Setup errors throw
 * with errno names, a reader closed inside its own callback is safe, an exception thrown by a
 * batch callback reaches 'uncaughtException', and the process exits once everything is closed.
 */
import {LinuxTun} from '../../router/tun/linux.js'
import {loadAddon} from '../../router/native/addon.js'
import {parseAddress} from '../../router/udp/address.js'
import {BatchUdpSocket} from '../../router/udp/batch.js'
import {LAB_IF_PREFIX} from '../helpers/netns.js'

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const codeOf = (fn: () => unknown): string => {
  try {
    fn()
    return 'no error'
  } catch (error) {
    const e = error as {code?: string; cause?: {code?: string}}
    return e.cause?.code ?? e.code ?? 'no code'
  }
}

async function main(): Promise<void> {
  const addon = loadAddon()
  const report: Record<string, unknown> = {}
  report.longName = codeOf(() => addon.tunOpen('x'.repeat(16), false))
  report.badFd = codeOf(() => addon.closeFd(987654))
  report.badFamily = codeOf(() => addon.udpOpen(5 as 4, '0.0.0.0', 0, false, 0))
  report.badAddress = codeOf(() => addon.udpOpen(4, '::1', 0, false, 0))
  const a = BatchUdpSocket.open({family: 4, address: '127.0.0.1', port: 0})
  report.inUse = codeOf(() => BatchUdpSocket.open({family: 4, address: '127.0.0.1', port: a.local.port}))
  report.secondReader = codeOf(() => new addon.BatchReader(a.fd, 4, 8, 2048, () => undefined))
  report.outOfRange = codeOf(() => addon.udpSend(a.fd, 4, new Uint8Array(4), 2, 8, new Uint8Array(4), 9))

  // Close inside the callback: the remaining datagrams are never delivered, nothing crashes.
  const to = parseAddress('127.0.0.1')!.bytes
  let calls = 0
  a.start(() => {
    calls++
    a.close()
  })
  const b = BatchUdpSocket.open({family: 4, address: '127.0.0.1', port: 0})
  for (let i = 0; i < 5; i++) b.send(new Uint8Array(10), to, a.local.port)
  await sleep(100)
  report.callsBeforeClose = calls

  // An exception in a callback is an uncaught exception of the process, not swallowed.
  let caught = ''
  process.once('uncaughtException', (e) => (caught = e.message))
  const c = BatchUdpSocket.open({family: 4, address: '127.0.0.1', port: 0})
  c.start(() => {
    throw new Error('thrown in onBatch')
  })
  b.send(new Uint8Array(10), to, c.local.port)
  await sleep(100)
  report.caught = caught
  c.close()
  b.close()

  // A multi-queue TUN: two queues of one device.
  const q1 = LinuxTun.open({name: `${LAB_IF_PREFIX}mq0`, multiQueue: true})
  const q2 = LinuxTun.open({name: `${LAB_IF_PREFIX}mq0`, multiQueue: true})
  report.multiQueue = [q1.name, q2.name]
  q1.start(() => undefined) // left started: close() must still let the process exit
  q1.close()
  q2.close()
  report.exitingAt = Date.now()
  process.stdout.write(`${JSON.stringify(report)}\n`)
}

await main()
