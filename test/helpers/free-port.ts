/** A loopback port that is free for both UDP and TCP right now (tests only). */
import dgram from 'node:dgram'
import net from 'node:net'

async function tryPort(port: number, host: string): Promise<number | undefined> {
  const udp = dgram.createSocket('udp4')
  const ok = await new Promise<number | undefined>((resolve) => {
    udp.once('error', () => resolve(undefined))
    udp.bind(port, host, () => resolve(udp.address().port))
  })
  if (ok === undefined) return undefined
  const tcp = net.createServer()
  const tcpOk = await new Promise<boolean>((resolve) => {
    tcp.once('error', () => resolve(false))
    tcp.listen(ok, host, () => resolve(true))
  })
  await new Promise<void>((r) => udp.close(() => r()))
  if (tcpOk) await new Promise<void>((r) => tcp.close(() => r()))
  return tcpOk ? ok : undefined
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const p = await tryPort(0, host)
    if (p !== undefined) return p
  }
  throw new Error('no free port')
}
