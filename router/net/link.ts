/**
 * Link configuration of our TUN devices through `ip` (iproute2), run with execFile (no shell):
 * address, MTU (default 1280, architecture.md section 5) and up/down. Each setter has its undo
 * beside it. A non-persistent TUN takes its addresses and routes with it when its fd closes, so
 * "removed on exit" is closing the device; removeAddress/setDown serve a live reconfiguration.
 */
import {execFile} from 'node:child_process'
import {isIP} from 'node:net'
import {promisify} from 'node:util'

import {
  IP_COMMAND_TIMEOUT_MS, TUN_MTU_DEFAULT_BYTES, TUN_MTU_MAX_BYTES, TUN_MTU_MIN_BYTES, TUN_TXQUEUELEN_MAX_PACKETS,
} from '../../src/constants.js'
import {LocalError} from '../../src/errors.js'

const run = promisify(execFile)

/** Linux IFNAMSIZ - 1; names also must not look like options. */
const IFNAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/

function checkName(name: string): void {
  if (!IFNAME_RE.test(name)) throw new LocalError('PQC_ERR_ARGUMENT', `bad interface name: ${JSON.stringify(name)}`)
}

/** 'a.b.c.d/len' or 'v6/len', validated before it reaches `ip`. */
function checkCidr(cidr: string): void {
  const [addr, len, extra] = cidr.split('/')
  const family = isIP(addr ?? '')
  const bits = Number(len)
  const max = family === 4 ? 32 : 128
  if (family === 0 || extra !== undefined || len === undefined || !/^\d{1,3}$/.test(len) || bits > max) {
    throw new LocalError('PQC_ERR_ARGUMENT', `bad address/prefix: ${JSON.stringify(cidr)}`)
  }
}

/** Runs `ip ARGS`; a failure is a LocalError with ip's own message. */
export async function ip(args: readonly string[]): Promise<string> {
  try {
    const {stdout} = await run('ip', [...args], {timeout: IP_COMMAND_TIMEOUT_MS})
    return stdout
  } catch (error) {
    const e = error as {stderr?: string; message: string}
    const detail = (e.stderr ?? '').trim() || e.message
    throw new LocalError('PQC_ERR_IO', `ip ${args.join(' ')}: ${detail}`, {cause: error, hint: 'needs root or CAP_NET_ADMIN and iproute2'})
  }
}

/** Adds (or keeps) an address such as '10.43.0.1/16'. Undo: removeAddress. */
export async function addAddress(name: string, cidr: string): Promise<void> {
  checkName(name)
  checkCidr(cidr)
  await ip(['address', 'replace', cidr, 'dev', name])
}

export async function removeAddress(name: string, cidr: string): Promise<void> {
  checkName(name)
  checkCidr(cidr)
  await ip(['address', 'del', cidr, 'dev', name])
}

/** Sets the MTU (default 1280). Undo: none needed; the device goes away with its fd. */
export async function setMtu(name: string, mtu: number = TUN_MTU_DEFAULT_BYTES): Promise<void> {
  checkName(name)
  if (!Number.isInteger(mtu) || mtu < TUN_MTU_MIN_BYTES || mtu > TUN_MTU_MAX_BYTES) {
    throw new LocalError('PQC_ERR_ARGUMENT', `MTU must be an integer in [${TUN_MTU_MIN_BYTES}, ${TUN_MTU_MAX_BYTES}], got ${mtu}`)
  }
  await ip(['link', 'set', 'dev', name, 'mtu', String(mtu)])
}

/** The kernel's queue of packets waiting for our reads (a TUN's default is 500). */
export async function setTxQueueLength(name: string, packets: number): Promise<void> {
  checkName(name)
  if (!Number.isInteger(packets) || packets < 1 || packets > TUN_TXQUEUELEN_MAX_PACKETS) {
    throw new LocalError('PQC_ERR_ARGUMENT', `txqueuelen must be an integer in [1, ${TUN_TXQUEUELEN_MAX_PACKETS}], got ${packets}`)
  }
  await ip(['link', 'set', 'dev', name, 'txqueuelen', String(packets)])
}

/** Link up. Undo: setDown. */
export async function setUp(name: string): Promise<void> {
  checkName(name)
  await ip(['link', 'set', 'dev', name, 'up'])
}

export async function setDown(name: string): Promise<void> {
  checkName(name)
  await ip(['link', 'set', 'dev', name, 'down'])
}

export interface LinkConfig {
  /** Addresses with prefix, e.g. ['10.43.0.1/16']. */
  addresses: readonly string[]
  /** Default TUN_MTU_DEFAULT_BYTES (1280). */
  mtu?: number
  /** Kernel queue toward our reader, in packets; the kernel's default when absent. */
  txQueueLength?: number
}

/** MTU, addresses, then up: the order in which a TUN becomes usable. */
export async function configureLink(name: string, config: LinkConfig): Promise<void> {
  await setMtu(name, config.mtu ?? TUN_MTU_DEFAULT_BYTES)
  if (config.txQueueLength !== undefined) await setTxQueueLength(name, config.txQueueLength)
  for (const cidr of config.addresses) await addAddress(name, cidr)
  await setUp(name)
}

/** Current MTU and state, read back through `ip -j link show` (for tests and `pqc status`). */
export async function readLink(name: string): Promise<{mtu: number; up: boolean; addresses: string[]}> {
  checkName(name)
  const links = JSON.parse(await ip(['-j', 'address', 'show', 'dev', name])) as {
    mtu: number; flags: string[]; addr_info?: {local: string; prefixlen: number}[]
  }[]
  const link = links[0]
  if (link === undefined) throw new LocalError('PQC_ERR_IO', `no such interface: ${name}`)
  return {mtu: link.mtu, up: link.flags.includes('UP'), addresses: (link.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`)}
}
