/**
 * Applications of the end-to-end test: the deterministic HTTP body (with a marker that must never
 * appear in a capture of tunnelled traffic), the ports of the server namespace's HTTP, echo and
 * iperf3 servers, and starters for the app server and the idle-TCP client scripts.
 */
import {type E2eTopology, type Service} from './e2e-topology.js'
import {siblingScript, waitForJsonLine} from './netns.js'

export const HTTP_PORT = 80
export const ECHO_PORT = 7007
export const IPERF_PORT = 5201
/** Size of the HTTP body in bytes. */
export const BODY_BYTES = 100_000
/** Every line of the body starts with this: finding it in a capture means plaintext went over the wire. */
export const BODY_MARKER = 'pqc-e2e-plaintext-line '

/** 100 kB of printable, deterministic bytes: numbered lines of a repeating alphabet. */
export function e2eBody(): Buffer {
  const lines: string[] = []
  let size = 0
  for (let i = 0; size < BODY_BYTES; i++) {
    const fill = Array.from({length: 64}, (_, j) => String.fromCharCode(97 + ((i * 7 + j) % 26))).join('')
    const line = `${BODY_MARKER}${String(i).padStart(6, '0')} ${fill}\n`
    lines.push(line)
    size += line.length
  }
  return Buffer.from(lines.join('')).subarray(0, BODY_BYTES)
}

/** Starts the HTTP (0.0.0.0:80) and TCP echo (0.0.0.0:7007) servers in `ns`; resolves when both listen. */
export async function startAppServer(topo: E2eTopology, ns: string): Promise<Service> {
  const s = topo.start('app-server', ns, process.execPath, [...tsxImport(), siblingScript(import.meta.url, 'e2e-app-server')])
  await waitForJsonLine<{ready?: boolean}>(s.child, (v) => v.ready === true, 20_000)
  return s
}

export interface IdleResult {
  remoteAddress: string
  first: string
  second: string
  idleMs: number
  error?: string
}

/** Opens a TCP connection to host:ECHO_PORT from `ns`, echoes, idles `idleMs`, echoes again. */
export async function idleEcho(topo: E2eTopology, ns: string, host: string, idleMs: number): Promise<IdleResult & {log: string}> {
  const s = topo.start('idle-client', ns, process.execPath,
    [...tsxImport(), siblingScript(import.meta.url, 'e2e-idle-client'), host, String(ECHO_PORT), String(idleMs)])
  const result = await waitForJsonLine<IdleResult & {done?: boolean}>(s.child, (v) => v.done === true, idleMs + 60_000)
    .catch((err: unknown) => ({remoteAddress: '', first: '', second: '', idleMs, error: String(err)}))
  await s.stop('SIGTERM', 2_000)
  return {...result, log: s.log()}
}

/** `--import tsx` when running from sources, nothing once compiled. */
function tsxImport(): string[] {
  return import.meta.url.endsWith('.ts') ? ['--import', 'tsx'] : []
}
