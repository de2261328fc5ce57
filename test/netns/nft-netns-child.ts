/**
 * Endpoints inside a namespace for nft.netns.test.ts. `serve ADDR:PORT/PROTO...` listens on each
 * and answers every datagram or connection with JSON {at: where it arrived, from: its source}, so
 * the test sees where a steered flow really went; prints {ready: true}, runs until killed.
 * `probe JSON` sends one message per probe ({proto, host, port}), as uid PQC_PROBE_UID if set,
 * and prints [{reply, peer}] (reply null after 1 s): peer is the address the application saw.
 */
import {createSocket} from 'node:dgram'
import {connect, createServer} from 'node:net'

interface Probe {
  proto: 'udp' | 'tcp'
  host: string
  port: number
}

interface ProbeResult {
  reply: {at: string; from: string} | null
  peer: string | null
}

const PROBE_TIMEOUT_MS = 1000

function serve(specs: string[]): void {
  for (const spec of specs) {
    const m = /^([\d.]+):(\d+)\/(udp|tcp)$/.exec(spec)
    if (m === null) throw new Error(`bad spec ${spec}`)
    const [, host, port, proto] = m
    const at = `${host}:${port}`
    if (proto === 'udp') {
      const s = createSocket('udp4')
      s.on('message', (_msg, rinfo) => s.send(JSON.stringify({at, from: rinfo.address}), rinfo.port, rinfo.address))
      s.bind(Number(port), host)
    } else {
      createServer((c) => {
        c.on('error', () => undefined)
        c.end(JSON.stringify({at, from: c.remoteAddress}))
      }).listen(Number(port), host)
    }
  }
  setTimeout(() => console.log(JSON.stringify({ready: true})), 200)
}

function probeUdp(p: Probe): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const s = createSocket('udp4')
    const timer = setTimeout(() => {
      s.close()
      resolve({reply: null, peer: null})
    }, PROBE_TIMEOUT_MS)
    s.on('message', (msg, rinfo) => {
      clearTimeout(timer)
      s.close()
      resolve({reply: JSON.parse(msg.toString()) as ProbeResult['reply'], peer: `${rinfo.address}:${rinfo.port}`})
    })
    s.on('error', () => undefined)
    s.send('probe', p.port, p.host)
  })
}

function probeTcp(p: Probe): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let data = ''
    let peer: string | null = null
    const c = connect(p.port, p.host)
    c.on('connect', () => (peer = `${c.remoteAddress}:${c.remotePort}`))
    const timer = setTimeout(() => {
      c.destroy()
      resolve({reply: null, peer: null})
    }, PROBE_TIMEOUT_MS)
    c.on('data', (d) => (data += d.toString()))
    c.on('error', () => undefined)
    c.on('close', () => {
      clearTimeout(timer)
      resolve(data === '' ? {reply: null, peer} : {reply: JSON.parse(data) as ProbeResult['reply'], peer})
    })
  })
}

async function probe(probes: Probe[]): Promise<void> {
  const uid = process.env.PQC_PROBE_UID
  if (uid !== undefined && uid !== '') process.setuid!(Number(uid))
  const out: ProbeResult[] = []
  for (const p of probes) out.push(await (p.proto === 'udp' ? probeUdp(p) : probeTcp(p)))
  console.log(JSON.stringify(out))
}

const [mode, ...rest] = process.argv.slice(2)
if (mode === 'serve') serve(rest)
else if (mode === 'probe') await probe(JSON.parse(rest[0]!) as Probe[])
else throw new Error(`unknown mode ${mode}`)
