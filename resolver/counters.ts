/**
 * The resolver's counters (dns-anchors.md row 16), read through the control socket by
 * `pqc servers list` and friends. Plain numbers, incremented in place.
 */
export function newCounters() {
  return {
    queries: 0,
    queriesTcp: 0,
    cacheHits: 0,
    cacheMisses: 0,
    inflightJoined: 0,
    upstreamQueries: 0,
    upstreamReplies: 0,
    upstreamTimeouts: 0,
    upstreamMismatched: 0,
    upstreamTcpRetries: 0,
    upstreamRttMsSum: 0,
    overload: 0,
    servfail: 0,
    formerr: 0,
    notimp: 0,
    refused: 0,
    badvers: 0,
    canary: 0,
    dropped: 0,
    truncated: 0,
    rewrites: 0,
    chainsCompleted: 0,
    tcpConnections: 0,
    tcpRejected: 0,
    internalErrors: 0,
  }
}

export type Counters = ReturnType<typeof newCounters>
