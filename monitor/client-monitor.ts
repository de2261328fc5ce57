/**
 * The root monitor of `pqc client start` (architecture.md sections 3 and 4). It creates and
 * configures the TUN, binds the tunnel UDP port and the DNS listeners (UDP and TCP, port 53),
 * applies our nftables table, and starts two workers that drop to the worker user: the router
 * (TUN + UDP) and the resolver (DNS sockets only). Afterwards it only answers their validated
 * requests (the router's steer set -> the whole table re-rendered and replaced atomically) and
 * restarts a worker that dies. Stopping removes the table; the TUN goes with the last descriptor.
 */
import {isIP} from 'node:net'

import {DNS_TCP_BACKLOG, UDP_SOCKET_BUFFER_BYTES} from '../src/constants.js'
import {LocalError} from '../src/errors.js'
import type {MonitorRequest} from '../src/ipc/monitor-requests.js'
import {type ClientNftConfig, type SteeredServer, renderClientRuleset} from '../src/nft/client-ruleset.js'
import {prepareSocketPath, prepareWorkerDir, workerEntry} from './host.js'
import {MonitorResources, networkOf} from './resources.js'
import {Supervisor} from './supervisor.js'

export interface ClientMonitorOptions {
  tunName: string
  tunCidr: string
  mtu: number
  port: number
  cacheDir: string
  routerSocket: string
  verbose: boolean
  /** The resolver worker's config (resolver/config.ts ResolverConfig, serializable). */
  resolver: {listen: {host: string; port: number}; controlSocket?: string} & Record<string, unknown>
  /** Worker user; undefined = no privilege separation (workers keep our identity: tests, non-root). */
  user: string | undefined
  /** Program nftables (steering, inbound drop, optional DNS capture). */
  nft: boolean
  /** TUN checksum and TCP segmentation offload (default true). */
  offload?: boolean
  captureDns: boolean
  /** Steer forwarded flows too (client-in-a-bottle: this host is the gateway of others). */
  steerForwarded?: boolean
  inboundAllow?: {tcp?: number[]; udp?: number[]}
}

export interface RunningClientMonitor {
  routerPid(): number | undefined
  resolverPid(): number | undefined
  stop(): Promise<void>
}

export async function startClientMonitor(o: ClientMonitorOptions): Promise<RunningClientMonitor> {
  const res = new MonitorResources(o.user, o.verbose)
  const {addon, ids, log} = res
  const nftConfig: ClientNftConfig = {
    tunName: o.tunName, tunAddr: o.tunCidr.split('/')[0]!, poolCidr: networkOf(o.tunCidr),
    ...(o.inboundAllow === undefined ? {} : {inboundAllow: o.inboundAllow}),
    ...(o.steerForwarded === true ? {steerForwarded: true} : {}),
    ...(o.captureDns ? {captureDns: {address: o.resolver.listen.host, port: o.resolver.listen.port, exemptUid: ids?.uid ?? 0}} : {}),
  }
  try {
    if (o.captureDns && ids === undefined) {
      throw new LocalError('PQC_ERR_ARGUMENT', '--capture-dns needs the resolver to run as its own user (the capture exempts it by uid)', {hint: 'drop --no-privsep'})
    }
    const tun = await res.openTun(o.tunName, o.tunCidr, o.mtu, o.offload ?? true)
    const udp = res.fd(addon.udpOpen(4, '0.0.0.0', o.port, false, UDP_SOCKET_BUFFER_BYTES))
    const family = isIP(o.resolver.listen.host) === 6 ? 6 : 4
    const dnsUdp = res.fd(addon.udpOpen(family, o.resolver.listen.host, o.resolver.listen.port, false, 0))
    const dnsTcp = res.fd(addon.tcpListen(family, o.resolver.listen.host, addon.udpLocalAddress(dnsUdp).port, DNS_TCP_BACKLOG))
    prepareWorkerDir(o.cacheDir, ids, 0o700)
    prepareSocketPath(o.routerSocket, ids)
    if (o.resolver.controlSocket !== undefined) prepareSocketPath(o.resolver.controlSocket, ids)
    if (o.nft) res.applyTable(renderClientRuleset(nftConfig, []))
    const drop = res.drop
    const onSteer = (req: MonitorRequest): void => {
      if (req.t !== 'steer' || !o.nft) return
      const servers: SteeredServer[] = req.servers
      res.applyTable(renderClientRuleset(nftConfig, servers))
      log.verbose(`nftables: steering ${servers.length} server(s)`)
    }
    const router = new Supervisor({
      role: 'client-router', entry: workerEntry('../router/worker/client-main'), fds: {tun: tun.fd, udp}, drop, log,
      config: {tunName: tun.name, tunCidr: o.tunCidr, port: o.port, cacheDir: o.cacheDir, routerSocket: o.routerSocket, mtu: o.mtu, verbose: o.verbose},
      onRequest: onSteer,
    })
    const resolver = new Supervisor({
      role: 'resolver', entry: workerEntry('../resolver/worker-main'), fds: {udp: dnsUdp, tcp: dnsTcp}, drop, log,
      config: {...o.resolver, routerSocket: o.routerSocket}, onRequest: () => undefined,
    })
    res.supervisors.push(router, resolver)
    // Both at once: ordinary names resolve as soon as the resolver is up; until the router's
    // control socket answers, the resolver refuses pq1 names (SERVFAIL) rather than guess.
    await Promise.all([router.start(), resolver.start()])
    tun.watch(log, (fd) => router.restartWith({tun: fd}))
    log.info(`workers: router ${router.pid}, resolver ${resolver.pid}${ids === undefined ? '' : ` as ${ids.user}`}; nftables ${o.nft ? 'on' : 'off'}`)
    return {routerPid: () => router.pid, resolverPid: () => resolver.pid, stop: () => res.release()}
  } catch (error) {
    await res.release()
    throw error
  }
}
