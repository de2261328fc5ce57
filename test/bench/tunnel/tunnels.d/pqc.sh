# tunbench plugin: pqc (this repository), sourced by run.sh (helpers and variables from there).
# Side B runs nsd (serving the pq1 CNAME announcement of `pqc server announce --json`) and
# `pqc server start`; side A runs `pqc client start` (DNS proxy on 127.0.0.53 + router). The
# inner address of B is what A's proxy answers for www.bench (10.43.x.y); B sees A as its pool
# address 10.42.x.y (chosen per tunnel at the handshake, logged in server.log). Same flags as the
# e2e test (test/helpers/e2e-pqc.ts, test/helpers/e2e-nsd.ts); inner MTU is $TUN_MTU for pqc too.
#
#   PQC_REPO  tree whose oclif/bin/run.js + dist/ are run (bench.sh passes its private build)
#   PQC_NODE  node binary (default: node on PATH)

PQC_REPO=${PQC_REPO:-$(cd "$SCRIPT_DIR/../../.." && pwd)}
PQC_NODE=${PQC_NODE:-node}
PQC_PORT=${PQC_PORT:-624}          # crypto port (as in the e2e test)
PQC_KEYPORT=${PQC_KEYPORT:-584}    # key port
PQC_NAME=www.bench                 # service name; zone "bench." is served by nsd in B
PQC_CLIENT_LISTEN=127.0.0.53
PQC_READY_S=30                     # bound for each daemon to create its TUN and bind its ports

register_tunnel pqc "pqc (this repo): pq1, McEliece6960119+X25519 handshake, ChaCha20-Poly1305, TUN"

deps_pqc() { echo "$PQC_NODE" nsd dig; }

_pqc() { "$PQC_NODE" "$PQC_REPO/oclif/bin/run.js" "$@"; }
_pqc_keyflags() {
  echo --keydir "$WORK/server/keys" --config-dir "$WORK/server/config" --pqcport "$PQC_PORT" --keyport "$PQC_KEYPORT"
}

# untimed: server keys, the announcement, and nsd in B serving it on $UNDER_B:53 (it stays up
# for every rep of this tunnel; cleanup_netns removes it with the namespace)
prepare_pqc() {
  local z=$WORK/nsd i
  [[ -f $PQC_REPO/oclif/bin/run.js && -d $PQC_REPO/dist/oclif/commands ]] ||
    { echo "pqc: no compiled tree at $PQC_REPO (dist/ missing; run via bench.sh or set PQC_REPO)"; return 1; }
  # shellcheck disable=SC2046
  _pqc server keygen $(_pqc_keyflags) --json >"$WORK/keygen.json" || return 1
  # shellcheck disable=SC2046
  _pqc server announce --name "$PQC_NAME" --address "$UNDER_B" $(_pqc_keyflags) --json >"$WORK/announce.json" || return 1
  mkdir -p "$z"
  {
    echo "\$ORIGIN bench."
    echo "\$TTL 60"
    echo "@ IN SOA ns.bench. admin.bench. 1 3600 600 86400 60"
    echo "@ IN NS ns"
    echo "ns IN A $UNDER_B"
    jq -r '.records[] | "\(.name) IN \(.type) \(.value)"' "$WORK/announce.json"
  } >"$z/bench.zone" || return 1
  # the same nsd.conf as the tests' (test/helpers/nsd.ts nsdConf, compiled in $PQC_REPO)
  "$PQC_NODE" --input-type=module -e "import {nsdConf} from '$PQC_REPO/dist/test/helpers/nsd.js'
    process.stdout.write(nsdConf(process.argv[1], process.argv[2], 53, {bench: process.argv[3]}))" \
    "$z" "$UNDER_B" "$z/bench.zone" >"$z/nsd.conf" || return 1
  cp "$z/nsd.conf" "$WORK/nsd.conf"; cp "$z/bench.zone" "$WORK/bench.zone.conf"   # kept in logs/pqc/
  spawn_ns "$NS_B" "$WORK/nsd.out" nsd -d -c "$z/nsd.conf" || return 1
  local pq1; pq1=$(jq -r .pq1Name "$WORK/announce.json")
  for ((i = 0; i < 150; i++)); do
    [[ $(ns_exec "$NS_A" dig "@$UNDER_B" +short +time=1 +tries=1 "$pq1" A 2>/dev/null) == "$UNDER_B" ]] && return 0
    sleep 0.1
  done
  echo "pqc: nsd in $NS_B does not answer for $pq1"; return 1
}

_pqc_start_client() { # NS_A: client with the key cache in $WORK/client (kept across restarts)
  local c=$WORK/client
  mkdir -p "$c"
  # The workers run as pqconnect: the monitor creates run/ (and cache/ the first time) for them.
  rm -rf "$c/run" "$c/client.pid"
  spawn_ns "$1" "$WORK/client.log" "$PQC_NODE" "$PQC_REPO/oclif/bin/run.js" client start \
    --listen "$PQC_CLIENT_LISTEN:53" --upstream "$UNDER_B:53" --tun tbpq-a --mtu "$TUN_MTU" ${PQC_EXTRA:-} \
    --cache-dir "$c/cache" --router-socket "$c/run/router.sock" --control-socket "$c/run/control.sock" \
    --pid-file "$c/client.pid" || return 1
  wait_for_link "$1" tbpq-a "$PQC_READY_S" && wait_for_listen "$1" udp 53 "$PQC_READY_S" || return 1
  _pqc_add_workers "$PQC_READY_S" A
}

# The monitor (the PID spawn_ns recorded) forks the router and resolver workers, which do the
# work: add their PIDs so the harness accounts their CPU (and kills them by PID if need be).
# The client's monitor spawns two (router, resolver), the server's one: wait for all of them, or
# a worker spawned a moment later is missed and its CPU is not counted.
_pqc_add_workers() { # WAIT_S A|B
  local i w monitor want
  if [[ $2 == A ]]; then monitor=${TUN_PIDS_A[-1]} want=2; else monitor=${TUN_PIDS_B[-1]} want=1; fi
  for ((i = 0; i < $1 * 10; i++)); do
    w=$(ps -o pid= --ppid "$monitor" 2>/dev/null | xargs)
    [[ $(wc -w <<<"$w") -ge $want ]] && break
    sleep 0.1
  done
  # shellcheck disable=SC2206
  if [[ $2 == A ]]; then TUN_PIDS_A+=($w); else TUN_PIDS_B+=($w); fi
}

_pqc_resolve() { # NS_A -> TUN_ADDR_B := the internal 10.43.x.y address the proxy hands out
  local addr
  addr=$(ns_exec "$1" dig "@$PQC_CLIENT_LISTEN" +short +time=2 +tries=3 "$PQC_NAME" A 2>/dev/null | tail -1)
  [[ $addr =~ ^10\.43\.[0-9]+\.[0-9]+$ ]] || { echo "pqc: $PQC_NAME resolved to '$addr' in $1"; return 1; }
  TUN_ADDR_B=$addr
}

# timed ("cold start"): both daemons start, the client's key cache is empty, so the first
# packet pays the static key fetch (McEliece public key), the ephemeral key and the handshake
setup_pqc() {
  local a=$1 b=$2 s=$WORK/server
  rm -rf "$WORK/client" "$s/run"
  rm -f "$s/server.pid"
  # The router workers run as user pqconnect: they must be able to enter $WORK.
  chmod o+x "$STATE_DIR" "$WORK"
  # shellcheck disable=SC2046
  spawn_ns "$b" "$WORK/server.log" "$PQC_NODE" "$PQC_REPO/oclif/bin/run.js" server start $(_pqc_keyflags) \
    --bind "$UNDER_B" --tun tbpq-b --mtu "$TUN_MTU" ${PQC_EXTRA:-} \
    --pid-file "$s/server.pid" --control-socket "$s/run/server.sock" || return 1
  wait_for_link "$b" tbpq-b "$PQC_READY_S" && wait_for_listen "$b" udp "$PQC_PORT" "$PQC_READY_S" &&
    wait_for_listen "$b" udp "$PQC_KEYPORT" "$PQC_READY_S" || return 1
  _pqc_add_workers "$PQC_READY_S" B
  _pqc_start_client "$a" || return 1
  _pqc_resolve "$a" || return 1
  # B's view of A: a 10.42.0.0/16 pool address chosen at the handshake (not known yet; only
  # informative for the harness, which pings and runs iperf3 from A to TUN_ADDR_B)
  TUN_ADDR_A=10.42.0.0
}

teardown_pqc() { kill_tun_pids; }

# "rekey": pqc has no command to drop a session, so the client is restarted (key cache kept)
# and re-resolves; the harness then times first echo request -> first reply = ephemeral key
# fetch + handshake + 1 RTT (the server still holds the old session until it times out)
rekey_pqc() {
  local a=$1 old=("${TUN_PIDS_A[@]}") p keep=()
  kill_pids "${old[@]}"
  for p in "${TUN_PIDS_A[@]}"; do pid_alive "$p" && keep+=("$p"); done
  TUN_PIDS_A=("${keep[@]}")
  _pqc_start_client "$a" && _pqc_resolve "$a"
}

# pqc_nooff: the same pqc with --no-offload on both sides (plain TUN devices: one packet per
# read/write, no TSO/GRO through the virtio-net header; UDP GSO still on), so one run shows what
# the TUN offloads give and how pqc compares without them.
register_tunnel pqc_nooff "pqc with --no-offload (plain TUN, no TSO/GRO)"
deps_pqc_nooff() { deps_pqc; }
prepare_pqc_nooff() { prepare_pqc "$@"; }
setup_pqc_nooff() { PQC_EXTRA=--no-offload setup_pqc "$@"; }
teardown_pqc_nooff() { teardown_pqc "$@"; }
rekey_pqc_nooff() { PQC_EXTRA=--no-offload rekey_pqc "$@"; }
