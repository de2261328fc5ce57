/**
 * Packet captures for the end-to-end test: tcpdump writing a pcap inside a namespace (started
 * before the traffic, stopped by PID with SIGINT so the file is flushed), then read back with
 * `tcpdump -r -nn -q` into one record per packet, plus the raw file for plaintext searches.
 */
import {execFile} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {promisify} from 'node:util'

import {type E2eTopology, type Service} from './e2e-topology.js'

const run = promisify(execFile)

export interface CapturedPacket {
  /** 'IP' or 'IP6' for IP packets; the first word for others ('ARP', ...). */
  family: string
  src: string
  dst: string
  sport?: number
  dport?: number
  /** 'udp', 'tcp', 'icmp', 'icmp6' or 'other'. */
  proto: string
  line: string
}

export interface Capture {
  packets: CapturedPacket[]
  raw: Buffer
  text: string
}

/** Splits tcpdump's `addr.port` (IPv4 with four dots before the port, IPv6 with one dot). */
function splitAddr(s: string, v6: boolean): {addr: string; port?: number} {
  const dot = s.lastIndexOf('.')
  const hasPort = v6 ? dot >= 0 : s.split('.').length === 5
  return hasPort ? {addr: s.slice(0, dot), port: Number(s.slice(dot + 1))} : {addr: s}
}

/** Parses one line of `tcpdump -r FILE -nn -q -t` (no timestamps). */
export function parseTcpdumpLine(line: string): CapturedPacket {
  const m = /^(IP6?) (\S+) > (\S+?): (.*)$/.exec(line)
  if (m === null) return {family: line.split(/[\s,]/)[0] ?? '', src: '', dst: '', proto: 'other', line}
  const v6 = m[1] === 'IP6'
  const src = splitAddr(m[2]!, v6)
  const dst = splitAddr(m[3]!, v6)
  const rest = m[4]!
  const proto = /^UDP\b/.test(rest) ? 'udp' : /^tcp\b/.test(rest) ? 'tcp' : /^ICMP6\b/.test(rest) ? 'icmp6'
    : /^ICMP\b/.test(rest) ? 'icmp' : 'other'
  return {family: m[1]!, src: src.addr, dst: dst.addr, sport: src.port, dport: dst.port, proto, line}
}

export class PacketCapture {
  private constructor(private readonly service: Service, private readonly file: string) {}

  /** Starts tcpdump on `ifname` in `ns`, writing `file`; resolves once it listens. */
  static async start(topo: E2eTopology, ns: string, ifname: string, file: string): Promise<PacketCapture> {
    // --immediate-mode: hand each packet over at once (else packets still in the kernel's ring when
    // SIGINT arrives are lost); -U: write each packet at once; -Z root: keep the right to write our temp dir.
    const s = topo.start(`tcpdump ${ifname}`, ns, 'tcpdump',
      ['-i', ifname, '-nn', '--immediate-mode', '-U', '-Z', 'root', '-w', file])
    await new Promise<void>((resolve, reject) => {
      let err = ''
      const timer = setTimeout(() => reject(new Error(`tcpdump did not start: ${err}`)), 10_000)
      const onData = (d: Buffer): void => {
        err += d.toString()
        if (err.includes('listening on')) {
          clearTimeout(timer)
          s.child.stderr?.off('data', onData)
          resolve()
        }
      }
      s.child.stderr?.on('data', onData)
      s.child.once('exit', () => reject(new Error(`tcpdump exited: ${err}`)))
    })
    return new PacketCapture(s, file)
  }

  /** Stops tcpdump (SIGINT by PID, awaited) and parses what it wrote. */
  async stop(): Promise<Capture> {
    // A short pause so the last packets of the flow are in the kernel's capture buffer.
    await new Promise((r) => setTimeout(r, 300))
    await this.service.stop('SIGINT', 5_000)
    const {stdout} = await run('tcpdump', ['-r', this.file, '-nn', '-q', '-t'], {maxBuffer: 64 << 20, encoding: 'utf8'})
    const packets = stdout.split('\n').filter((l) => l.trim() !== '').map(parseTcpdumpLine)
    return {packets, raw: readFileSync(this.file), text: stdout}
  }
}
