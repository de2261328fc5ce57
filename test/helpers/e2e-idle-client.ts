/**
 * Child script for the client namespace: connects to HOST:PORT (name resolved by the system
 * resolver, so through pqc's DNS proxy), sends a line and reads the echo, stays silent for
 * IDLE_MS, then sends a second line and reads its echo. Prints one JSON result line with done:true.
 */
import net from 'node:net'

const [host, port, idle] = process.argv.slice(2)
const idleMs = Number(idle)
const done = (r: Record<string, unknown>): never => {
  console.log(JSON.stringify({done: true, idleMs, ...r}))
  process.exit(0)
}

const sock = net.connect({host: host!, port: Number(port), family: 4})
sock.setNoDelay(true)
let buf = ''
const waitFor = (text: string, ms: number): Promise<string> => new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`no echo of ${JSON.stringify(text)} within ${ms} ms (got ${JSON.stringify(buf)})`)), ms)
  const check = (): void => {
    if (buf.includes(text)) {
      clearTimeout(timer)
      sock.off('data', onData)
      resolve(text)
    }
  }
  const onData = (d: Buffer): void => {
    buf += d.toString()
    check()
  }
  sock.on('data', onData)
  check()
})
sock.on('error', (err) => done({error: `socket: ${err.message}`, remoteAddress: sock.remoteAddress ?? ''}))
sock.on('close', () => done({error: 'connection closed', remoteAddress: sock.remoteAddress ?? ''}))
const connectTimer = setTimeout(() => done({error: 'connect timeout'}), 20_000)
sock.once('connect', async () => {
  clearTimeout(connectTimer)
  const remoteAddress = sock.remoteAddress ?? ''
  try {
    sock.write('first-before-idle\n')
    const first = await waitFor('first-before-idle\n', 20_000)
    await new Promise((r) => setTimeout(r, idleMs))
    sock.write('second-after-idle\n')
    const second = await waitFor('second-after-idle\n', 20_000)
    sock.removeAllListeners('close')
    sock.destroy()
    done({remoteAddress, first, second})
  } catch (err) {
    sock.removeAllListeners('close')
    done({error: (err as Error).message, remoteAddress})
  }
})
