#!/usr/bin/env bash
# tunbench — benchmark userspace VPN tunnels between two Linux network
# namespaces that this script creates (and removes) itself.
# (pqc's copy of /work/shared/bench/tunnel/run.sh: TUN_MTU defaults to 1280,
# apt-get without recommends, nsd/dig known; `npm run bench` drives it via bench.sh.)
#
#   sudo ./run.sh                      # all registered tunnels, 10 s x 3 reps
#   sudo ./run.sh -t "baseline wggo"   # a subset
#   sudo ./run.sh --quick              # 3 s x 1 rep smoke test
#   sudo ./run.sh --cleanup            # only remove leftovers of a previous run
#   sudo ./run.sh --list               # list tunnel types
#
# See README.md for the plugin interface (setup_<name>/teardown_<name>).
#
# Traffic only ever flows between the two namespaces created here (a veth
# pair, 10.201.0.0/24 underlay, 10.202.N.0/24 tunnel subnets).  The namespaces
# have no default route and no link to the root namespace, so nothing can
# leave them.  Every wait/loop is bounded; a watchdog bounds the whole run.

set -u -o pipefail
export LC_ALL=C

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCRIPT_PATH="$SCRIPT_DIR/$(basename "${BASH_SOURCE[0]}")"

# ---------------------------------------------------------------- settings --
TB_PREFIX=${TB_PREFIX:-tunbench}
NS_A="${TB_PREFIX}-a"              # client side (iperf3 -c, ping)
NS_B="${TB_PREFIX}-b"              # server side (iperf3 -s)
VETH_A=tbv-a
VETH_B=tbv-b
UNDER_A=10.201.0.1                 # underlay (veth) addresses, only inside the netns
UNDER_B=10.201.0.2
UNDER_PLEN=24
UNDER_MTU=${UNDER_MTU:-1500}
TUN_MTU=${TUN_MTU:-1280}           # inner MTU used by every tunnel (pqc's default; the shared harness uses 1420)

DURATION=${DURATION:-10}           # seconds per iperf3 run (after OMIT)
OMIT=${OMIT:-1}                    # iperf3 -O: warm-up seconds not counted
REPS=${REPS:-3}
UDP_LEN=${UDP_LEN:-64}             # UDP payload bytes for the pps test
PARALLEL=${PARALLEL:-4}            # streams for the multi-stream TCP test
PING_COUNT=${PING_COUNT:-50}
PING_INTERVAL=${PING_INTERVAL:-0.01}
FR_INTERVAL=${FR_INTERVAL:-0.005}  # ping interval while waiting for the first reply
FR_TIMEOUT=${FR_TIMEOUT:-30}       # max seconds to wait for a tunnel to pass traffic
IPERF_PORT=${IPERF_PORT:-5201}
SETTLE=${SETTLE:-1}                # pause between tests (s); also samples background CPU load
QUIET_MAX=${QUIET_MAX:-15}         # machine busy % (tunnel idle) above which a test is flagged "noisy"
OTHERS_MAX=${OTHERS_MAX:-10}       # CPU % (of one core) used by foreign processes during a run above which it is flagged noisy
START_QUIET_WAIT=${START_QUIET_WAIT:-0} # before starting, wait up to this many s for QUIET_STREAK quiet seconds in a row
QUIET_STREAK=${QUIET_STREAK:-10}
QUIET_WAIT=${QUIET_WAIT:-20}       # wait up to this many s for busy <= QUIET_MAX before each test (0: don't wait)
TESTS=${TESTS:-"cold rekey ping tcp1 tcpN udp"}

STATE_DIR=${TB_STATE_DIR:-/run/tunbench}       # keys, configs, logs of the current run
LOCK_FILE=${TB_LOCK_FILE:-/run/tunbench.lock}
OUT_DIR=${OUT_DIR:-}
INSTALL=${INSTALL:-auto}           # auto: apt-get install missing tools; 0: never
KEEP=${KEEP:-0}                    # 1: leave namespaces up at exit (debugging)
MAX_RUNTIME=${MAX_RUNTIME:-}       # watchdog; computed from the plan if empty

CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)

# ----------------------------------------------------------------- logging --
log()  { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
warn() { printf '[%(%H:%M:%S)T] WARNING: %s\n' -1 "$*" >&2; }
die()  { printf '[%(%H:%M:%S)T] ERROR: %s\n' -1 "$*" >&2; exit 1; }

# ------------------------------------------------------ tunnel registry --
TUNNEL_LIST=()
declare -A TUNNEL_DESC=()
# register_tunnel NAME "description" — makes NAME part of the default run.
register_tunnel() {
  local n=$1; shift
  [[ -n ${TUNNEL_DESC[$n]+x} ]] || TUNNEL_LIST+=("$n")
  TUNNEL_DESC[$n]="$*"
}

# --------------------------------------------------------- plugin helpers --
# State every setup_<name> must fill in:
TUN_ADDR_A=""      # inner address of side A (no prefix length)
TUN_ADDR_B=""      # inner address of side B
TUN_PIDS_A=()      # tunnel processes in NS_A (CPU accounting + kill safety net)
TUN_PIDS_B=()      # tunnel processes in NS_B
WORK=""            # per-tunnel scratch dir (keys, configs, logs); set by harness
SPAWN_PID=""

ns_exec() {        # ns_exec NS cmd... — run a command inside one of OUR namespaces
  local ns=$1; shift
  [[ $ns == "$NS_A" || $ns == "$NS_B" ]] || { warn "ns_exec: refusing unknown namespace '$ns'"; return 99; }
  ip netns exec "$ns" "$@"
}

# spawn_ns NS LOGFILE cmd... — start a long-running tunnel process in NS in the
# background (must stay in the foreground itself, i.e. not daemonize), record
# its PID in TUN_PIDS_A/B and in SPAWN_PID.
spawn_ns() {
  local ns=$1 logf=$2; shift 2
  [[ $ns == "$NS_A" || $ns == "$NS_B" ]] || { warn "spawn_ns: unknown namespace '$ns'"; return 99; }
  ip netns exec "$ns" "$@" </dev/null >>"$logf" 2>&1 9>&- &   # 9>&-: do not inherit the run lock
  SPAWN_PID=$!
  if [[ $ns == "$NS_A" ]]; then TUN_PIDS_A+=("$SPAWN_PID"); else TUN_PIDS_B+=("$SPAWN_PID"); fi
  echo "$SPAWN_PID $(pid_starttime "$SPAWN_PID") $ns $*" >>"$STATE_DIR/pids"
}

pid_starttime() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; s=${s##*) }; set -- $s; echo "${20}"; }
pid_alive() {      # alive and not a zombie
  local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; s=${s##*) }; [[ ${s:0:1} != Z ]]
}
# kill_pids PID... — TERM, wait up to 5 s, then KILL what is left.  By PID only.
kill_pids() {
  local p i alive=()
  for p in "$@"; do [[ -n $p ]] && pid_alive "$p" && alive+=("$p"); done
  ((${#alive[@]})) || return 0
  kill -TERM "${alive[@]}" 2>/dev/null
  for ((i = 0; i < 50; i++)); do
    local still=()
    for p in "${alive[@]}"; do pid_alive "$p" && still+=("$p"); done
    ((${#still[@]})) || return 0
    sleep 0.1
  done
  for p in "${alive[@]}"; do pid_alive "$p" && kill -KILL "$p" 2>/dev/null; done
  sleep 0.2
  return 0
}
kill_tun_pids() { kill_pids "${TUN_PIDS_A[@]}" "${TUN_PIDS_B[@]}"; }

# Bounded waits.  All return non-zero on timeout.
wait_for_file() {  # PATH TIMEOUT_S
  local end=$((${EPOCHREALTIME/./} + ${2:-5} * 1000000))
  until [[ -e $1 ]]; do ((${EPOCHREALTIME/./} > end)) && return 1; sleep 0.01; done
}
wait_for_link() {  # NS IFNAME TIMEOUT_S
  local end=$((${EPOCHREALTIME/./} + ${3:-5} * 1000000))
  until ip -n "$1" link show dev "$2" >/dev/null 2>&1; do ((${EPOCHREALTIME/./} > end)) && return 1; sleep 0.01; done
}
wait_for_listen() { # NS udp|tcp PORT TIMEOUT_S
  local f=-Hlun end=$((${EPOCHREALTIME/./} + ${4:-5} * 1000000))
  [[ $2 == tcp ]] && f=-Hltn
  until [[ -n $(ip netns exec "$1" ss $f "sport = :$3" 2>/dev/null) ]]; do
    ((${EPOCHREALTIME/./} > end)) && return 1; sleep 0.01
  done
}

# ------------------------------------------------------------- namespaces --
netns_exists() { [[ -e /run/netns/$1 ]]; }

cleanup_netns() {
  local ns pids=() p
  for ns in "$NS_A" "$NS_B"; do
    netns_exists "$ns" || continue
    for p in $(ip netns pids "$ns" 2>/dev/null); do pids+=("$p"); done
  done
  kill_pids "${pids[@]}"
  for ns in "$NS_A" "$NS_B"; do netns_exists "$ns" && ip netns del "$ns" 2>/dev/null; done
  # wireguard-go UAPI sockets live in the shared /var/run; remove only ours
  rm -f /var/run/wireguard/tbwg-a.sock /var/run/wireguard/tbwg-b.sock 2>/dev/null
  return 0
}

kill_stale_watchdog() {
  local f=$STATE_DIR/watchdog pid st
  [[ -r $f ]] || return 0
  while read -r pid st; do
    [[ -n $pid && $(pid_starttime "$pid" 2>/dev/null) == "$st" ]] && kill -TERM "$pid" 2>/dev/null
  done <"$f"
  rm -f "$f"
}

cleanup_all() {
  cleanup_netns
  # processes a plugin started outside the namespaces (should not happen)
  if [[ -r $STATE_DIR/pids ]]; then
    local pid st rest
    while read -r pid st rest; do
      [[ -n $pid && $(pid_starttime "$pid" 2>/dev/null) == "$st" ]] && kill -TERM "$pid" 2>/dev/null
    done <"$STATE_DIR/pids"
    : >"$STATE_DIR/pids"
  fi
}

make_underlay() {
  cleanup_netns
  ip netns add "$NS_A" && ip netns add "$NS_B" || return 1
  ip link add "$VETH_A" netns "$NS_A" mtu "$UNDER_MTU" type veth peer name "$VETH_B" netns "$NS_B" mtu "$UNDER_MTU" || return 1
  local ns dev addr
  for ns in "$NS_A" "$NS_B"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1
    ip -n "$ns" link set lo up
  done
  ip -n "$NS_A" addr add "$UNDER_A/$UNDER_PLEN" dev "$VETH_A" && ip -n "$NS_A" link set "$VETH_A" up || return 1
  ip -n "$NS_B" addr add "$UNDER_B/$UNDER_PLEN" dev "$VETH_B" && ip -n "$NS_B" link set "$VETH_B" up || return 1
  # veth needs a moment to get carrier
  local i; for ((i = 0; i < 100; i++)); do
    ip netns exec "$NS_A" ping -n -q -c 1 -W 1 "$UNDER_B" >/dev/null 2>&1 && return 0; sleep 0.05
  done
  return 1
}

# ======================================================== built-in tunnels ==
# Each tunnel: setup_<n> NS_A NS_B / teardown_<n> NS_A NS_B, optional
# deps_<n> (prints required commands), prepare_<n> NS_A NS_B (untimed key
# generation), rekey_<n> NS_A NS_B (drop session state so the next packet
# triggers a fresh handshake).

# --- baseline: no tunnel, the veth itself -----------------------------------
register_tunnel baseline "plain veth between the namespaces (no tunnel)"
setup_baseline()    { TUN_ADDR_A=$UNDER_A; TUN_ADDR_B=$UNDER_B; }
teardown_baseline() { :; }

# --- wireguard-go (userspace WireGuard over TUN) ----------------------------
WG_GO_BIN=${WG_GO_BIN:-wireguard-go}
WG_PORT=51820
register_tunnel wggo "wireguard-go (userspace, TUN) — Noise IK, ChaCha20-Poly1305"
deps_wggo()    { echo "$WG_GO_BIN" wg; }
prepare_wggo() {
  local s; (umask 077; for s in a b; do wg genkey >"$WORK/$s.key" && wg pubkey <"$WORK/$s.key" >"$WORK/$s.pub"; done)
}
_wggo_peer() { # side: a|b
  local s=$1 o ns uo
  if [[ $s == a ]]; then o=b ns=$NS_A uo=$UNDER_B; else o=a ns=$NS_B uo=$UNDER_A; fi
  ns_exec "$ns" wg set "tbwg-$s" peer "$(<"$WORK/$o.pub")" endpoint "$uo:$WG_PORT" allowed-ips "10.202.1.$([[ $o == a ]] && echo 1 || echo 2)/32"
}
setup_wggo() {
  local a=$1 b=$2 s ns ip
  spawn_ns "$a" "$WORK/a.log" env WG_PROCESS_FOREGROUND=1 "$WG_GO_BIN" -f tbwg-a || return 1
  spawn_ns "$b" "$WORK/b.log" env WG_PROCESS_FOREGROUND=1 "$WG_GO_BIN" -f tbwg-b || return 1
  wait_for_file /var/run/wireguard/tbwg-a.sock 10 && wait_for_file /var/run/wireguard/tbwg-b.sock 10 || return 1
  for s in a b; do
    if [[ $s == a ]]; then ns=$a ip=10.202.1.1; else ns=$b ip=10.202.1.2; fi
    ns_exec "$ns" wg set "tbwg-$s" private-key "$WORK/$s.key" listen-port "$WG_PORT" || return 1
    _wggo_peer "$s" || return 1
    ns_exec "$ns" ip addr add "$ip/24" dev "tbwg-$s" && ns_exec "$ns" ip link set "tbwg-$s" mtu "$TUN_MTU" up || return 1
  done
  TUN_ADDR_A=10.202.1.1 TUN_ADDR_B=10.202.1.2
}
teardown_wggo() { kill_tun_pids; }
rekey_wggo() {   # remove + re-add the peer on both sides: no session, next packet handshakes
  ns_exec "$1" wg set tbwg-a peer "$(<"$WORK/b.pub")" remove &&
  ns_exec "$2" wg set tbwg-b peer "$(<"$WORK/a.pub")" remove &&
  _wggo_peer a && _wggo_peer b
}

# --- OpenVPN 2.6 (userspace, TLS p2p, peer-fingerprint, no DCO) -------------
register_tunnel ovpn_aes    "OpenVPN UDP p2p TLS1.3 (EC P-256 certs), data AES-256-GCM, no DCO"
register_tunnel ovpn_chacha "OpenVPN UDP p2p TLS1.3 (EC P-256 certs), data CHACHA20-POLY1305, no DCO"
deps_ovpn_aes()    { echo openvpn openssl; }
deps_ovpn_chacha() { echo openvpn openssl; }
_ovpn_prepare() {
  local s
  (umask 077; for s in a b; do
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
      -keyout "$WORK/$s.key" -out "$WORK/$s.crt" -subj "/CN=tunbench-$s" >/dev/null 2>&1 || exit 1
    openssl x509 -in "$WORK/$s.crt" -noout -fingerprint -sha256 | cut -d= -f2 >"$WORK/$s.fp"
  done)
}
prepare_ovpn_aes()    { _ovpn_prepare; }
prepare_ovpn_chacha() { _ovpn_prepare; }
_ovpn_setup() { # a b cipher subnet-octet dev-suffix
  local a=$1 b=$2 cipher=$3 n=$4 d=$5 port=1194
  local common=(--dev-type tun --proto udp4 --tun-mtu "$TUN_MTU" --data-ciphers "$cipher"
    --disable-dco --verb 3 --mute-replay-warnings --script-security 0)
  spawn_ns "$b" "$WORK/b.log" openvpn "${common[@]}" --dev "tbov$d-b" --local "$UNDER_B" --lport "$port" \
    --remote "$UNDER_A" "$port" --tls-server --dh none --cert "$WORK/b.crt" --key "$WORK/b.key" \
    --peer-fingerprint "$(<"$WORK/a.fp")" --ifconfig "10.202.$n.2" "10.202.$n.1" || return 1
  wait_for_listen "$b" udp "$port" 10 || return 1
  spawn_ns "$a" "$WORK/a.log" openvpn "${common[@]}" --dev "tbov$d-a" --local "$UNDER_A" --lport "$port" \
    --remote "$UNDER_B" "$port" --tls-client --cert "$WORK/a.crt" --key "$WORK/a.key" \
    --peer-fingerprint "$(<"$WORK/b.fp")" --ifconfig "10.202.$n.1" "10.202.$n.2" || return 1
  TUN_ADDR_A=10.202.$n.1 TUN_ADDR_B=10.202.$n.2
}
setup_ovpn_aes()       { _ovpn_setup "$1" "$2" AES-256-GCM 2 g; }
setup_ovpn_chacha()    { _ovpn_setup "$1" "$2" CHACHA20-POLY1305 3 c; }
teardown_ovpn_aes()    { kill_tun_pids; }
teardown_ovpn_chacha() { kill_tun_pids; }

# --- fastd (userspace, TUN) -------------------------------------------------
FASTD_METHOD=${FASTD_METHOD:-salsa2012+umac}
register_tunnel fastd "fastd v22 TUN mode, ec25519-fhmqvc handshake, method $FASTD_METHOD"
deps_fastd() { echo fastd; }
prepare_fastd() {
  local s
  (umask 077; for s in a b; do
    fastd --generate-key 2>/dev/null >"$WORK/$s.kp" || exit 1
    awk '/^Secret:/{print $2}' "$WORK/$s.kp" >"$WORK/$s.sec"; awk '/^Public:/{print $2}' "$WORK/$s.kp" >"$WORK/$s.pub"
  done
  # Only A has a "remote": if both sides initiate at the same moment fastd v22
  # can end up with a dead session for ~18 s (observed), so B stays passive.
  for s in a b; do
    local o=b ip=$UNDER_A; [[ $s == b ]] && o=a ip=$UNDER_B
    {
      echo "log level warn;"; echo "interface \"tbfd-$s\";"; echo "mode tun;"
      echo "method \"$FASTD_METHOD\";"; echo "bind $ip:10000;"; echo "mtu $TUN_MTU;"
      echo "secret \"$(<"$WORK/$s.sec")\";"
      echo "peer \"$o\" {"; echo "  key \"$(<"$WORK/$o.pub")\";"
      [[ $s == a ]] && echo "  remote $UNDER_B:10000;"
      echo "}"
    } >"$WORK/$s.conf"
  done)
}
setup_fastd() {
  local a=$1 b=$2
  spawn_ns "$b" "$WORK/b.log" fastd -c "$WORK/b.conf" || return 1
  wait_for_link "$b" tbfd-b 10 && wait_for_listen "$b" udp 10000 10 || return 1
  ns_exec "$b" ip addr add 10.202.4.2/24 dev tbfd-b && ns_exec "$b" ip link set tbfd-b up || return 1
  spawn_ns "$a" "$WORK/a.log" fastd -c "$WORK/a.conf" || return 1
  wait_for_link "$a" tbfd-a 10 || return 1
  ns_exec "$a" ip addr add 10.202.4.1/24 dev tbfd-a && ns_exec "$a" ip link set tbfd-a up || return 1
  TUN_ADDR_A=10.202.4.1 TUN_ADDR_B=10.202.4.2
}
teardown_fastd() { kill_tun_pids; }

# --- tinc 1.0 (userspace, TUN, router mode) ---------------------------------
register_tunnel tinc "tinc 1.0 router mode, RSA-2048 meta, data AES-256-CBC + HMAC-SHA256"
deps_tinc() { echo tincd; }
prepare_tinc() {
  local s o ip in
  (umask 077; for s in a b; do
    o=b ip=$UNDER_A in=10.202.5.1; [[ $s == b ]] && o=a ip=$UNDER_B in=10.202.5.2
    mkdir -p "$WORK/$s/hosts"
    printf 'Name = %s\nInterface = tbtc-%s\nMode = router\nAddressFamily = ipv4\nBindToAddress = %s 655\nConnectTo = %s\nCipher = aes-256-cbc\nDigest = sha256\n' \
      "$s" "$s" "$ip" "$o" >"$WORK/$s/tinc.conf"
    printf 'Address = %s 655\nSubnet = %s/32\n' "$ip" "$in" >"$WORK/$s/hosts/$s"
    printf '#!/bin/sh\nip addr add %s/24 dev "$INTERFACE"\nip link set "$INTERFACE" mtu %s up\n' "$in" "$TUN_MTU" >"$WORK/$s/tinc-up"
    chmod 700 "$WORK/$s/tinc-up"
    tincd -c "$WORK/$s" -K 2048 </dev/null >/dev/null 2>&1 || exit 1
  done
  cp "$WORK/a/hosts/a" "$WORK/b/hosts/a" && cp "$WORK/b/hosts/b" "$WORK/a/hosts/b")
}
setup_tinc() {
  local a=$1 b=$2
  spawn_ns "$b" "$WORK/b.out" tincd -c "$WORK/b" -D -d1 --pidfile="$WORK/b.pid" --logfile="$WORK/b.log" || return 1
  wait_for_listen "$b" tcp 655 10 || return 1
  spawn_ns "$a" "$WORK/a.out" tincd -c "$WORK/a" -D -d1 --pidfile="$WORK/a.pid" --logfile="$WORK/a.log" || return 1
  TUN_ADDR_A=10.202.5.1 TUN_ADDR_B=10.202.5.2
}
teardown_tinc() { kill_tun_pids; }

# ---------------------------------------------------------------- plugins --
# Drop-in tunnel definitions: tunnels.d/*.sh next to this script, plus any
# files listed (colon-separated) in $TB_PLUGINS.
shopt -s nullglob
for _f in "$SCRIPT_DIR"/tunnels.d/*.sh; do source "$_f"; done
IFS=: read -r -a _extra <<<"${TB_PLUGINS:-}"
for _f in "${_extra[@]}"; do [[ -n $_f ]] && { source "$_f" || die "cannot source plugin $_f"; }; done
shopt -u nullglob
unset _f _extra

# ============================================================ measurement ==
RAW=""   # $OUT_DIR/raw.tsv : tunnel metric rep value

record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$RAW"; }

cpu_ticks_of() {   # sum utime+stime (clock ticks) of the given PIDs (all threads)
  local p s sum=0 f
  for p in "$@"; do
    s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    s=${s##*) }; read -r -a f <<<"$s"
    sum=$((sum + f[11] + f[12]))
  done
  echo "$sum"
}
# others_snapshot FILE — "pid starttime ticks" of every userspace process that
# is NOT in our namespaces and not this harness.  others_delta F0 F1 = CPU ticks
# those processes used in between (processes alive at both ends: delta; new
# ones: all their ticks; ones that exited in between are missed, so this is a
# lower bound).  A contamination indicator for shared machines.
others_snapshot() {
  local excl=" $$ ${WATCHDOG_PID:-} $(ip netns pids "$NS_A" 2>/dev/null | tr '\n' ' ') $(ip netns pids "$NS_B" 2>/dev/null | tr '\n' ' ') "
  awk -v excl="$excl" '
    FNR == 1 { pid = $1; if (index(excl, " " pid " ")) next
               r = $0; sub(/^.*\) /, "", r); n = split(r, f, " "); if (n < 20) next
               if (int(f[7] / 2097152) % 2) next          # PF_KTHREAD: kernel thread
               print pid, f[20], f[12] + f[13] }' /proc/[0-9]*/stat 2>/dev/null >"$1"
}
others_delta() {
  awk 'NR == FNR { a[$1 " " $2] = $3; next }
       { k = $1 " " $2; d += (k in a) ? $3 - a[k] : $3 }
       END { printf "%.0f\n", (d < 0) ? 0 : d }' "$1" "$2"
}
sys_cpu() {        # "total idle steal" jiffies from /proc/stat
  local cpu u n s i w irq si st rest
  read -r cpu u n s i w irq si st rest </proc/stat
  echo "$((u + n + s + i + w + irq + si + st)) $((i + w)) $st"
}

# wait_first_reply NS ADDR — ping (every FR_INTERVAL s) until one reply.
# Sets FR_WALL_MS (wall clock incl. process start) and FR_PING_MS (measured by
# ping itself: from the first echo request of the successful attempt to its
# reply, plus the wall time of earlier failed attempts).
wait_first_reply() {
  local ns=$1 addr=$2 t0 ta t1 out end
  FR_WALL_MS=NA FR_PING_MS=NA
  t0=${EPOCHREALTIME/./}; end=$((t0 + FR_TIMEOUT * 1000000))
  while ((${EPOCHREALTIME/./} < end)); do
    ta=${EPOCHREALTIME/./}
    if out=$(ns_exec "$ns" ping -n -c 1 -i "$FR_INTERVAL" -w 1 "$addr" 2>&1); then
      t1=${EPOCHREALTIME/./}
      FR_WALL_MS=$(awk -v d=$((t1 - t0)) 'BEGIN{printf "%.3f", d/1000}')
      FR_PING_MS=$(awk -v pre=$((ta - t0)) -v iv="$FR_INTERVAL" '
        /icmp_seq=/ { match($0, /icmp_seq=[0-9]+/); seq = substr($0, RSTART+9, RLENGTH-9)
                      match($0, /time=[0-9.]+/);     t = substr($0, RSTART+5, RLENGTH-5)
                      printf "%.3f", pre/1000 + (seq-1)*iv*1000 + t; exit }' <<<"$out")
      [[ -n $FR_PING_MS ]] || FR_PING_MS=$FR_WALL_MS
      return 0
    fi
    sleep 0.01
  done
  return 1
}

# settle NAME TEST REP — pause SETTLE s while sampling machine-wide CPU busy %
# (our tunnel is idle then, so this is background load from other processes).
# If above QUIET_MAX, keep sampling (1 s each) up to QUIET_WAIT s.  Records
# <test>_bgbusy (last sample) and counts noisy tests.
NOISY=0
settle() {
  local name=$1 test=$2 rep=$3 a b busy t0=${EPOCHREALTIME/./} said=0
  while :; do
    read -r -a a <<<"$(sys_cpu)"; sleep "$SETTLE"; read -r -a b <<<"$(sys_cpu)"
    busy=$(awk -v t=$((b[0] - a[0])) -v i=$((b[1] - a[1])) 'BEGIN{printf "%.1f", (t > 0) ? (t-i)/t*100 : 0}')
    awk -v x="$busy" -v m="$QUIET_MAX" 'BEGIN{exit !(x <= m)}' && break
    if ((${EPOCHREALTIME/./} - t0 >= QUIET_WAIT * 1000000)); then
      warn "$name/$test#$rep: background load ${busy}% > ${QUIET_MAX}% — measuring anyway (flagged noisy)"
      NOISY=$((NOISY + 1)); break
    fi
    ((said++)) || log "  background load ${busy}% > ${QUIET_MAX}%, waiting up to ${QUIET_WAIT}s for a quiet machine"
  done
  record "$name" "${test}_bgbusy" "$rep" "$busy"
}

# wait_quiet_start — shared machines: wait (bounded by START_QUIET_WAIT) until
# the machine has been <= QUIET_MAX busy for QUIET_STREAK consecutive seconds.
wait_quiet_start() {
  ((START_QUIET_WAIT > 0)) || return 0
  local t0=${EPOCHREALTIME/./} streak=0 a b busy
  log "waiting up to ${START_QUIET_WAIT}s for ${QUIET_STREAK}s of machine load <= ${QUIET_MAX}%"
  while ((${EPOCHREALTIME/./} - t0 < START_QUIET_WAIT * 1000000)); do
    read -r -a a <<<"$(sys_cpu)"; sleep 1; read -r -a b <<<"$(sys_cpu)"
    busy=$(awk -v t=$((b[0] - a[0])) -v i=$((b[1] - a[1])) 'BEGIN{printf "%.1f", (t > 0) ? (t-i)/t*100 : 0}')
    if awk -v x="$busy" -v m="$QUIET_MAX" 'BEGIN{exit !(x <= m)}'; then
      streak=$((streak + 1)); ((streak >= QUIET_STREAK)) && { log "machine quiet — starting"; return 0; }
    else
      streak=0
    fi
  done
  warn "machine did not become quiet within ${START_QUIET_WAIT}s — starting anyway"
}

start_iperf_server() {
  IPERF_SRV_PID=""
  ip netns exec "$NS_B" iperf3 -s -1 -p "$IPERF_PORT" </dev/null >>"$WORK/iperf3-server.log" 2>&1 9>&- &
  IPERF_SRV_PID=$!
  echo "$IPERF_SRV_PID $(pid_starttime "$IPERF_SRV_PID") $NS_B iperf3-server" >>"$STATE_DIR/pids"
  wait_for_listen "$NS_B" tcp "$IPERF_PORT" 10
}

# run_iperf TUNNEL TESTNAME REP iperf3-args... — one iperf3 run A -> B
run_iperf() {
  local name=$1 test=$2 rep=$3; shift 3
  local json="$OUT_DIR/raw/$name.$test.$rep.json" tmo=$((DURATION + OMIT + 20)) omit=$OMIT
  local c0a c0b s0 c1a c1b s1 t0 t1 rc
  # iperf3 3.12 miscounts UDP loss with -O (sequence numbers of omitted packets)
  [[ $test == udp ]] && omit=0
  if ! start_iperf_server; then
    warn "$name/$test#$rep: iperf3 server did not start"; kill_pids "$IPERF_SRV_PID"; return 1
  fi
  c0a=$(cpu_ticks_of "${TUN_PIDS_A[@]}"); c0b=$(cpu_ticks_of "${TUN_PIDS_B[@]}"); s0=$(sys_cpu); others_snapshot "$STATE_DIR/others.0"
  t0=${EPOCHREALTIME/./}
  timeout -k 5 "$tmo" ip netns exec "$NS_A" iperf3 -c "$TUN_ADDR_B" -p "$IPERF_PORT" \
    -t "$DURATION" -O "$omit" -J "$@" >"$json" 2>"$json.err"
  rc=$?
  t1=${EPOCHREALTIME/./}
  c1a=$(cpu_ticks_of "${TUN_PIDS_A[@]}"); c1b=$(cpu_ticks_of "${TUN_PIDS_B[@]}"); s1=$(sys_cpu); others_snapshot "$STATE_DIR/others.1"
  kill_pids "$IPERF_SRV_PID"
  local err; err=$(jq -r '.error // empty' "$json" 2>/dev/null)
  if ((rc != 0)) || [[ -n $err ]]; then
    warn "$name/$test#$rep: iperf3 failed (rc=$rc${err:+, $err})"; return 1
  fi
  # CPU: tunnel processes in % of ONE core, machine-wide busy/steal in % of ALL cores
  local wall_s; wall_s=$(awk -v d=$((t1 - t0)) 'BEGIN{print d/1e6}')
  if ((${#TUN_PIDS_A[@]} + ${#TUN_PIDS_B[@]})); then
    record "$name" "${test}_cpuA" "$rep" "$(awk -v d=$((c1a - c0a)) -v hz="$CLK_TCK" -v w="$wall_s" 'BEGIN{printf "%.1f", d/hz/w*100}')"
    record "$name" "${test}_cpuB" "$rep" "$(awk -v d=$((c1b - c0b)) -v hz="$CLK_TCK" -v w="$wall_s" 'BEGIN{printf "%.1f", d/hz/w*100}')"
  fi
  local oth; oth=$(awk -v d="$(others_delta "$STATE_DIR/others.0" "$STATE_DIR/others.1")" -v hz="$CLK_TCK" -v w="$wall_s" 'BEGIN{x = d/hz/w*100; if (x < 0) x = 0; printf "%.1f", x}')
  record "$name" "${test}_others" "$rep" "$oth"
  if awk -v x="$oth" -v m="$OTHERS_MAX" 'BEGIN{exit !(x > m)}'; then
    warn "$name/$test#$rep: other processes used ${oth}% of a core during the run (> ${OTHERS_MAX}%) — flagged noisy"
    NOISY=$((NOISY + 1))
  fi
  read -r -a s0 <<<"$s0"; read -r -a s1 <<<"$s1"
  local dt=$((s1[0] - s0[0])) 
  if ((dt > 0)); then
    record "$name" "${test}_busy"  "$rep" "$(awk -v t=$dt -v i=$((s1[1] - s0[1])) 'BEGIN{printf "%.1f", (t-i)/t*100}')"
    record "$name" "${test}_steal" "$rep" "$(awk -v t=$dt -v s=$((s1[2] - s0[2])) 'BEGIN{printf "%.1f", s/t*100}')"
  fi
  return 0
}

measure_tcp() {    # TUNNEL TESTNAME REP [iperf args]
  local name=$1 test=$2 rep=$3; shift 3
  run_iperf "$name" "$test" "$rep" "$@" || { record "$name" "${test}_mbps" "$rep" NA; return; }
  local json="$OUT_DIR/raw/$name.$test.$rep.json" v r
  read -r v r < <(jq -r '[.end.sum_received.bits_per_second/1e6, (.end.sum_sent.retransmits // 0)] | @tsv' "$json")
  record "$name" "${test}_mbps" "$rep" "$(printf '%.1f' "$v")"
  record "$name" "${test}_retr" "$rep" "$r"
  log "  $test #$rep: $(printf '%.0f' "$v") Mbit/s (retr $r)"
}

measure_udp() {
  local name=$1 rep=$2
  run_iperf "$name" udp "$rep" -u -b 0 -l "$UDP_LEN" || { record "$name" udp_rxkpps "$rep" NA; return; }
  local json="$OUT_DIR/raw/$name.udp.$rep.json" rx tx loss
  # rx = payload bytes received / UDP_LEN, over the sender's test duration
  read -r rx tx loss < <(jq -r --argjson len "$UDP_LEN" '.end |
      [ (.sum_received.bytes / $len) / .sum_sent.seconds / 1000,
        .sum_sent.packets / .sum_sent.seconds / 1000,
        (if .sum_sent.packets > 0 then 100 * (1 - (.sum_received.bytes / $len) / .sum_sent.packets) else 0 end)
      ] | @tsv' "$json")
  record "$name" udp_rxkpps "$rep" "$(printf '%.1f' "$rx")"
  record "$name" udp_txkpps "$rep" "$(printf '%.1f' "$tx")"
  record "$name" udp_loss "$rep" "$(printf '%.1f' "$loss")"
  log "  udp #$rep: rx $(printf '%.1f' "$rx") kpps, tx $(printf '%.1f' "$tx") kpps, loss $(printf '%.1f' "$loss")%"
}

measure_ping() {
  local name=$1 rep=$2 out avg loss
  out=$(ns_exec "$NS_A" ping -n -q -c "$PING_COUNT" -i "$PING_INTERVAL" -w $((PING_COUNT / 10 + 10)) "$TUN_ADDR_B" 2>&1)
  avg=$(awk -F'[/ =]+' '/^rtt|^round-trip/ {print $7}' <<<"$out")
  loss=$(grep -o '[0-9.]*% packet loss' <<<"$out" | cut -d% -f1)
  record "$name" rtt_avg_ms "$rep" "${avg:-NA}"
  record "$name" ping_loss "$rep" "${loss:-NA}"
  log "  ping #$rep: avg ${avg:-NA} ms, loss ${loss:-NA}%"
}

reset_tun_state() { TUN_ADDR_A="" TUN_ADDR_B="" TUN_PIDS_A=() TUN_PIDS_B=(); }

do_teardown() {
  local name=$1
  "teardown_$name" "$NS_A" "$NS_B" >>"$WORK/harness.log" 2>&1
  kill_tun_pids   # safety net
  reset_tun_state
}

# do_setup NAME — setup + wait for the first reply; records cold-start time
do_setup() {
  local name=$1 rep=$2 t0 t1 rc
  reset_tun_state
  t0=${EPOCHREALTIME/./}
  "setup_$name" "$NS_A" "$NS_B" >>"$WORK/harness.log" 2>&1; rc=$?
  t1=${EPOCHREALTIME/./}
  if ((rc != 0)) || [[ -z $TUN_ADDR_A || -z $TUN_ADDR_B ]]; then
    warn "$name: setup_$name failed (rc=$rc, addrs '$TUN_ADDR_A' '$TUN_ADDR_B'); see $OUT_DIR/logs/$name/"
    return 1
  fi
  if ! wait_first_reply "$NS_A" "$TUN_ADDR_B"; then
    warn "$name: no reply from $TUN_ADDR_B within ${FR_TIMEOUT}s"; return 1
  fi
  local setup_ms cold_ms
  setup_ms=$(awk -v d=$((t1 - t0)) 'BEGIN{printf "%.1f", d/1000}')
  cold_ms=$(awk -v s="$setup_ms" -v w="$FR_WALL_MS" 'BEGIN{printf "%.1f", s + w}')
  record "$name" setup_ms "$rep" "$setup_ms"
  record "$name" cold_ms "$rep" "$cold_ms"
  log "  cold start #$rep: ${cold_ms} ms (setup hook ${setup_ms} ms + first reply ${FR_WALL_MS} ms)"
}

has_test() { [[ " $TESTS " == *" $1 "* ]]; }

run_tunnel() {
  local name=$1 r dep missing=()
  if ! declare -F "setup_$name" >/dev/null || ! declare -F "teardown_$name" >/dev/null; then
    warn "$name: setup_$name/teardown_$name not defined — skipped"; echo -e "$name\tundefined" >>"$OUT_DIR/status.tsv"; return
  fi
  if declare -F "deps_$name" >/dev/null; then
    for dep in $("deps_$name"); do command -v "$dep" >/dev/null 2>&1 || missing+=("$dep"); done
  fi
  if ((${#missing[@]})); then
    warn "$name: missing ${missing[*]} — skipped"; echo -e "$name\tmissing: ${missing[*]}" >>"$OUT_DIR/status.tsv"; return
  fi
  log "=== $name: ${TUNNEL_DESC[$name]:-}"
  WORK="$STATE_DIR/$name"; rm -rf "$WORK"; mkdir -p "$WORK"
  make_underlay || { warn "$name: underlay setup failed"; echo -e "$name\tunderlay failed" >>"$OUT_DIR/status.tsv"; return; }
  if declare -F "prepare_$name" >/dev/null; then
    "prepare_$name" "$NS_A" "$NS_B" >>"$WORK/harness.log" 2>&1 || { warn "$name: prepare failed"; echo -e "$name\tprepare failed" >>"$OUT_DIR/status.tsv"; return; }
  fi

  local status=ok ncold=1 noisy0=$NOISY
  settle "$name" start 1
  has_test cold && ncold=$REPS
  for ((r = 1; r <= ncold; r++)); do
    if ! do_setup "$name" "$r"; then status="setup failed"; do_teardown "$name"; break; fi
    ((r < ncold)) && { do_teardown "$name"; sleep 0.2; }
  done

  if [[ $status == ok ]]; then
    if has_test rekey && declare -F "rekey_$name" >/dev/null; then
      for ((r = 1; r <= REPS; r++)); do
        sleep 0.5
        if "rekey_$name" "$NS_A" "$NS_B" >>"$WORK/harness.log" 2>&1 && wait_first_reply "$NS_A" "$TUN_ADDR_B"; then
          record "$name" rekey_ms "$r" "$FR_PING_MS"
          log "  rekey #$r: first reply after ${FR_PING_MS} ms (ping-internal; wall incl. ping start ${FR_WALL_MS} ms)"
        else
          record "$name" rekey_ms "$r" NA; warn "$name: rekey #$r failed"
        fi
      done
    fi
    if has_test ping; then for ((r = 1; r <= REPS; r++)); do measure_ping "$name" "$r"; done; fi
    if has_test tcp1; then for ((r = 1; r <= REPS; r++)); do settle "$name" tcp1 "$r"; measure_tcp "$name" tcp1 "$r"; done; fi
    if has_test tcpN; then for ((r = 1; r <= REPS; r++)); do settle "$name" tcpN "$r"; measure_tcp "$name" tcpN "$r" -P "$PARALLEL"; done; fi
    if has_test udp;  then for ((r = 1; r <= REPS; r++)); do settle "$name" udp "$r"; measure_udp "$name" "$r"; done; fi
    do_teardown "$name"
  fi
  mkdir -p "$OUT_DIR/logs/$name"
  find "$WORK" -maxdepth 2 -type f \( -name '*.log' -o -name '*.out' -o -name '*.conf' \) -exec cp {} "$OUT_DIR/logs/$name/" \; 2>/dev/null
  ((NOISY > noisy0)) && status+=" (noisy: $((NOISY - noisy0)) tests)"
  echo -e "$name\t$status" >>"$OUT_DIR/status.tsv"
  cleanup_netns
}

# ================================================================ report ==
summarize() {      # raw.tsv -> summary.tsv (tunnel metric n median min max)
  sort -t$'\t' -k1,1 -k2,2 -k4,4g "$RAW" | awk -F'\t' '
    function flush() { if (n > 0) { med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
                       printf "%s\t%s\t%d\t%.6g\t%.6g\t%.6g\n", t, m, n, med, v[1], v[n] } n = 0 }
    { k = $1 SUBSEP $2; if (k != prev) { flush(); prev = k; t = $1; m = $2 }
      if ($4 != "NA" && $4 != "") v[++n] = $4 }
    END { flush() }' >"$OUT_DIR/summary.tsv"
}

declare -A S=()
SHOW_N=0
fmt() {            # fmt METRICKEY DECIMALS -> REPLY "med (min-max)"
  local v=${S[$1]:-} n med mn mx
  if [[ -z $v ]]; then REPLY="-"; return; fi
  read -r n med mn mx <<<"$v"
  if ((n > 1)); then printf -v REPLY "%.${2}f (%.${2}f-%.${2}f)" "$med" "$mn" "$mx"
  else printf -v REPLY "%.${2}f" "$med"; fi
  ((SHOW_N)) && REPLY+=" n=$n"
  return 0
}
fmtm() { local v=${S[$1]:-} n med; [[ -z $v ]] && { REPLY="-"; return; }; read -r n med _ <<<"$v"; printf -v REPLY "%.${2}f" "$med"; }

report() {
  summarize
  local t m n med mn mx
  while IFS=$'\t' read -r t m n med mn mx; do S["$t.$m"]="$n $med $mn $mx"; done <"$OUT_DIR/summary.tsv"
  local out="$OUT_DIR/table.md" name st
  {
    echo "${REPORT_TITLE:-Tunnel performance (A -> B), median (min-max) of $REPS runs; iperf3 ${DURATION}s (+${OMIT}s omitted); TUN MTU $TUN_MTU}"
    echo
    echo "| tunnel | TCP x1 Mbit/s | TCP x$PARALLEL Mbit/s | UDP ${UDP_LEN}B rx kpps | UDP loss % | ping RTT avg ms | cold start ms | rekey ms | status |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for name in "${RUN_TUNNELS[@]}"; do
      st=$(awk -F'\t' -v n="$name" '$1==n{print $2}' "$OUT_DIR/status.tsv" | tail -1)
      local c1 c2 c3 c4 c5 c6 c7
      fmt "$name.tcp1_mbps" 0; c1=$REPLY; fmt "$name.tcpN_mbps" 0; c2=$REPLY
      fmt "$name.udp_rxkpps" 1; c3=$REPLY; fmtm "$name.udp_loss" 1; c4=$REPLY
      fmt "$name.rtt_avg_ms" 3; c5=$REPLY; fmt "$name.cold_ms" 1; c6=$REPLY; fmt "$name.rekey_ms" 2; c7=$REPLY
      echo "| $name | $c1 | $c2 | $c3 | $c4 | $c5 | $c6 | $c7 | ${st:-?} |"
    done
    echo
    echo "CPU during iperf3 (medians). tunA/tunB: tunnel processes in NS_A/NS_B, % of ONE core (2 cores = 200%);"
    echo "busy/steal: whole machine, % of ALL cores. TCP retransmits: median per run. bg busy: machine busy % in the"
    echo "${SETTLE}s before each test while the tunnel was idle (load from OTHER processes; > ${QUIET_MAX}% = noisy)."
    echo "others: CPU of userspace processes outside the benchmark namespaces DURING the runs, % of one core (> ${OTHERS_MAX}% = noisy)."
    echo
    echo "| tunnel | TCP x1 tunA/tunB % | TCP x1 busy % | TCP x1 retr | TCP x$PARALLEL tunA/tunB % | TCP x$PARALLEL busy % | UDP tunA/tunB % | UDP busy % | UDP tx kpps | max steal % | max bg busy % | max others % |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
    for name in "${RUN_TUNNELS[@]}"; do
      local row="| $name" x a b stl=0 v
      for x in tcp1 tcpN udp; do
        fmtm "$name.${x}_cpuA" 0; a=$REPLY; fmtm "$name.${x}_cpuB" 0; b=$REPLY
        row+=" | $a/$b"; fmtm "$name.${x}_busy" 0; row+=" | $REPLY"
        [[ $x == tcp1 ]] && { fmtm "$name.tcp1_retr" 0; row+=" | $REPLY"; }
        v=${S[$name.${x}_steal]:-}; [[ -n $v ]] && { read -r _ _ _ v <<<"$v"; stl=$(awk -v a="$stl" -v b="$v" 'BEGIN{m = (b > a) ? b : a; print m}'); }
      done
      local bg=0
      for x in start tcp1 tcpN udp; do
        v=${S[$name.${x}_bgbusy]:-}; [[ -n $v ]] && { read -r _ _ _ v <<<"$v"; bg=$(awk -v a="$bg" -v b="$v" 'BEGIN{m = (b > a) ? b : a; print m}'); }
      done
      local ot=0
      for x in tcp1 tcpN udp; do
        v=${S[$name.${x}_others]:-}; [[ -n $v ]] && { read -r _ _ _ v <<<"$v"; ot=$(awk -v a="$ot" -v b="$v" 'BEGIN{m = (b > a) ? b : a; print m}'); }
      done
      fmtm "$name.udp_txkpps" 1; row+=" | $REPLY | $stl | $bg | $ot |"
      echo "$row"
    done
  } >"$out"
  echo
  cat "$out"
  echo
  log "results: $OUT_DIR (table.md, summary.tsv, raw.tsv, raw/*.json, logs/, machine.txt)"
}

machine_info() {
  {
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host: $(uname -n)"
    echo "kernel: $(uname -srmv)"
    echo "nproc: $(nproc)"
    echo "cpu: $(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)"
    echo "cpu flags (crypto): $(grep -m1 -o -w -E 'aes|vaes|avx2|avx512f|sha_ni|pclmulqdq' /proc/cpuinfo | sort -u | tr '\n' ' ')"
    echo "mem: $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "virt: vm=$(systemd-detect-virt --vm 2>/dev/null || echo '?') container=$(systemd-detect-virt --container 2>/dev/null || echo '?') cpu-hypervisor-flag=$(grep -q -w hypervisor /proc/cpuinfo && echo yes || echo no)"
    echo "os: $(. /etc/os-release 2>/dev/null; echo "${PRETTY_NAME:-?}")"
    echo "bash: $BASH_VERSION"
    echo "iperf3: $(iperf3 --version 2>&1 | head -1)"
    echo "ping: $(ping -V 2>&1 | head -1)"
    command -v wireguard-go >/dev/null && echo "wireguard-go: $(wireguard-go --version 2>&1 | head -1)"
    command -v wg >/dev/null && echo "wireguard-tools: $(wg --version 2>&1 | head -1)"
    command -v openvpn >/dev/null && echo "openvpn: $(openvpn --version 2>&1 | head -1)"
    command -v openssl >/dev/null && echo "openssl: $(openssl version 2>&1)"
    command -v fastd >/dev/null && echo "fastd: $(fastd --version 2>&1 | head -1)"
    command -v tincd >/dev/null && echo "tinc: $(tincd --version 2>&1 | head -1)"
    echo "settings: DURATION=$DURATION OMIT=$OMIT REPS=$REPS UDP_LEN=$UDP_LEN PARALLEL=$PARALLEL TUN_MTU=$TUN_MTU UNDER_MTU=$UNDER_MTU PING=${PING_COUNT}x${PING_INTERVAL}s"
    echo "tunnels: ${RUN_TUNNELS[*]}"
    echo "loadavg at start: $(cat /proc/loadavg)"
  } >"$OUT_DIR/machine.txt"
}

# ============================================================ dependencies ==
declare -A PKG_OF=([iperf3]=iperf3 [ping]=iputils-ping [ip]=iproute2 [ss]=iproute2 [jq]=jq
  [flock]=util-linux [timeout]=coreutils [awk]=mawk [wireguard-go]=wireguard-go [wg]=wireguard-tools
  [openvpn]=openvpn [openssl]=openssl [fastd]=fastd [tincd]=tinc [nsd]=nsd [dig]=bind9-dnsutils)

ensure_deps() {
  local cmds=(ip ss ping iperf3 jq flock timeout awk) t c missing=() pkgs=()
  for t in "${RUN_TUNNELS[@]}"; do declare -F "deps_$t" >/dev/null && cmds+=($("deps_$t")); done
  for c in "${cmds[@]}"; do command -v "$c" >/dev/null 2>&1 || missing+=("$c"); done
  ((${#missing[@]})) || return 0
  for c in "${missing[@]}"; do [[ -n ${PKG_OF[$c]:-} ]] && pkgs+=("${PKG_OF[$c]}"); done
  if [[ $INSTALL == 0 || ${#pkgs[@]} -eq 0 ]] || ! command -v apt-get >/dev/null; then
    warn "missing commands: ${missing[*]} (Debian packages: ${pkgs[*]:-?})"; return 0
  fi
  log "installing: ${pkgs[*]}"
  timeout 300 apt-get update -qq >/dev/null 2>&1
  # --no-install-recommends: wireguard-tools would otherwise pull a kernel image + initramfs
  DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null 2>&1 || warn "apt-get install failed"
}

# merge_results DIR... — pool raw.tsv of several result dirs into a new
# OUT_DIR, dropping iperf3 samples (tunnel/test/rep) that were flagged noisy.
merge_results() {
  local d tag t
  (($#)) || die "--merge needs result directories"
  OUT_DIR=${OUT_DIR:-$SCRIPT_DIR/results/merged-$(date +%Y%m%d-%H%M%S)}
  mkdir -p "$OUT_DIR"; RAW="$OUT_DIR/raw.tsv"; : >"$RAW"; : >"$OUT_DIR/status.tsv"
  for d in "$@"; do
    [[ -r $d/raw.tsv ]] || die "no raw.tsv in $d"
    tag=$(basename "$d")
    awk -F'\t' -v OFS='\t' -v tag="$tag" -v omax="$OTHERS_MAX" -v qmax="$QUIET_MAX" '
      NR == FNR { split($2, p, "_"); k = $1 SUBSEP p[1] SUBSEP $3
                  if (($2 ~ /_others$/ && $4 + 0 > omax) || ($2 ~ /_bgbusy$/ && p[1] != "start" && $4 + 0 > qmax)) bad[k] = 1
                  next }
      { split($2, p, "_"); k = $1 SUBSEP p[1] SUBSEP $3
        if (k in bad) { dropped[$1 SUBSEP p[1] SUBSEP $3] = 1; next }
        $3 = tag ":" $3; print }
      END { for (k in dropped) { split(k, q, SUBSEP); print q[1], q[2], tag ":" q[3] > "/dev/stderr" } }' \
      "$d/raw.tsv" "$d/raw.tsv" >>"$RAW" 2>>"$OUT_DIR/dropped.tsv"
    echo "$d" >>"$OUT_DIR/sources.txt"
  done
  RUN_TUNNELS=()
  for t in $(awk -F'\t' '!seen[$1]++ {print $1}' "$RAW"); do RUN_TUNNELS+=("$t"); done
  for t in "${RUN_TUNNELS[@]}"; do
    local kept drop
    kept=$(awk -F'\t' -v t="$t" '$1 == t && $2 ~ /_mbps$|_rxkpps$/ && $4 != "NA"' "$RAW" | wc -l)
    drop=$(awk -v t="$t" '$1 == t' "$OUT_DIR/dropped.tsv" | wc -l)
    echo -e "$t\t$kept iperf3 samples kept, $drop dropped as noisy" >>"$OUT_DIR/status.tsv"
  done
  REPORT_TITLE="Pooled over $* — iperf3 samples flagged noisy dropped; median (min-max), n = samples kept"
  SHOW_N=1
  report
}

# ================================================================== main ==
usage() {
  sed -n '2,14p' "$SCRIPT_PATH" | sed 's/^# \{0,1\}//'
  cat <<EOF
Options:
  -t "LIST"    tunnels to run (default: all registered: ${TUNNEL_LIST[*]})
  -d SECS      iperf3 duration per run (default $DURATION, plus ${OMIT}s omitted warm-up)
  -r N         repetitions (default $REPS)
  -o DIR       output dir (default results/<timestamp>)
  --quick      -d 3 -r 1
  --install    apt-get install all tools for all built-in tunnels, then exit
  --cleanup    remove namespaces/processes left by a previous run, then exit
  --list       list tunnel types
  --merge DIR...  pool the samples of earlier result dirs, drop the iperf3 samples
               flagged noisy (others > OTHERS_MAX or bg busy > QUIET_MAX), print the tables
Env: TESTS="$TESTS" UDP_LEN PARALLEL TUN_MTU UNDER_MTU PING_COUNT FR_TIMEOUT
     TB_PLUGINS=file.sh[:file2.sh] KEEP=1 INSTALL=0 WG_GO_BIN FASTD_METHOD MAX_RUNTIME
     START_QUIET_WAIT QUIET_STREAK QUIET_MAX QUIET_WAIT OTHERS_MAX (shared-machine noise control)
EOF
}

main() {
  MODE=run
  RUN_TUNNELS=()
  while (($#)); do
    case $1 in
      -t) read -r -a RUN_TUNNELS <<<"$2"; shift 2 ;;
      -d) DURATION=$2; shift 2 ;;
      -r) REPS=$2; shift 2 ;;
      -o) OUT_DIR=$2; shift 2 ;;
      --quick) DURATION=3 REPS=1; shift ;;
      --install) MODE=install; shift ;;
      --cleanup) MODE=cleanup; shift ;;
      --list) MODE=list; shift ;;
    --merge) MODE=merge; shift; MERGE_DIRS=("$@"); break ;;
      -h | --help) usage; exit 0 ;;
      *) usage; die "unknown argument: $1" ;;
    esac
  done
  ((${#RUN_TUNNELS[@]})) || RUN_TUNNELS=("${TUNNEL_LIST[@]}")

  if [[ $MODE == merge ]]; then merge_results "${MERGE_DIRS[@]}"; exit $?; fi
  if [[ $MODE == list ]]; then
    for t in "${TUNNEL_LIST[@]}"; do printf '%-12s %s\n' "$t" "${TUNNEL_DESC[$t]}"; done; exit 0
  fi
  ((EUID == 0)) || die "must run as root (network namespaces)"

  exec 9>"$LOCK_FILE"
  flock -n 9 || die "another tunbench run holds $LOCK_FILE"

  if [[ $MODE == install ]]; then RUN_TUNNELS=("${TUNNEL_LIST[@]}"); INSTALL=1; ensure_deps; exit 0; fi

  # idempotency: remove whatever a previous run of this script left behind
  mkdir -p "$STATE_DIR"
  kill_stale_watchdog
  cleanup_all
  if [[ $MODE == cleanup ]]; then rm -rf "$STATE_DIR"; log "cleanup done"; exit 0; fi
  rm -rf "$STATE_DIR"; mkdir -p "$STATE_DIR"; : >"$STATE_DIR/pids"

  ensure_deps
  for c in ip ss ping iperf3 jq; do command -v "$c" >/dev/null || die "required command '$c' not found"; done

  OUT_DIR=${OUT_DIR:-$SCRIPT_DIR/results/$(date +%Y%m%d-%H%M%S)}
  mkdir -p "$OUT_DIR/raw"
  RAW="$OUT_DIR/raw.tsv"; : >"$RAW"; : >"$OUT_DIR/status.tsv"

  # Watchdog: a separate process that, if this run exceeds MAX_RUNTIME (or this
  # shell was SIGKILLed), tears everything down.  Its sleep is killed at exit.
  if [[ -z $MAX_RUNTIME ]]; then
    MAX_RUNTIME=$((300 + START_QUIET_WAIT + ${#RUN_TUNNELS[@]} * (REPS * 3 * (DURATION + OMIT + 30 + QUIET_WAIT) + REPS * 2 * (FR_TIMEOUT + 5) + QUIET_WAIT + 120)))
  fi
  MAIN_PID=$$
  (
    exec 9>&-          # release the run lock in this process: a SIGKILLed run must not block the next one
    trap - EXIT INT TERM
    sleep "$MAX_RUNTIME" & sp=$!
    echo "$sp $(pid_starttime "$sp")" >>"$STATE_DIR/watchdog"
    wait "$sp" || exit 0
    echo "[watchdog] tunbench exceeded ${MAX_RUNTIME}s — tearing down" >&2
    kill -TERM "$MAIN_PID" 2>/dev/null; sleep 15
    cleanup_all
  ) </dev/null &
  WATCHDOG_PID=$!
  echo "$WATCHDOG_PID $(pid_starttime "$WATCHDOG_PID")" >>"$STATE_DIR/watchdog"

  REPORTED=0
  on_exit() {
    local rc=$?
    trap - EXIT INT TERM
    if ((REPORTED == 0)) && [[ -s ${RAW:-} ]]; then
      warn "run did not finish — partial report follows"; report || true
    fi
    if [[ $KEEP == 1 ]]; then warn "KEEP=1: namespaces $NS_A/$NS_B left up; run '$0 --cleanup' later"
    else cleanup_all; fi
    kill_stale_watchdog
    [[ $KEEP == 1 ]] || rm -rf "$STATE_DIR"
    exit "$rc"
  }
  trap on_exit EXIT
  trap 'warn "interrupted"; exit 130' INT TERM

  wait_quiet_start
  machine_info
  log "tunbench: tunnels=(${RUN_TUNNELS[*]}) duration=${DURATION}s reps=$REPS out=$OUT_DIR (watchdog ${MAX_RUNTIME}s)"
  for t in "${RUN_TUNNELS[@]}"; do run_tunnel "$t"; done
  report; REPORTED=1
}

main "$@"
