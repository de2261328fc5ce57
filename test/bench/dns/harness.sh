#!/usr/bin/env bash
# harness.sh - loopback benchmark + conformance harness for local DNS forwarding proxies.
# Copied from the project's public harness ../shared/bench/dns/run.sh (see README.md there)
# and adapted for `npm run bench:dns` (test/bench/dns/bench.sh drives it): CPU per query is
# divided by the queries dnsperf saw answered ("Queries completed"), not the queries sent,
# and bench.tsv gets a 13th column: the target CPU us/q of every repeat ("a/b/c"), so that a
# median CPU figure can be taken independently of the median-q/s run. INTERLEAVE=1 runs all
# targets at once and cycles through them on every repeat (bench_interleaved). Otherwise unchanged.
#
# Sets up an authoritative server (nsd or knot) for a DNSSEC-signed test zone
# (example.test: A/AAAA, CNAME chains, bech32-style "pq1..." labels, wildcard,
# truncation-sized answers), then for each target (a forwarder pointed at that
# authoritative server) runs functional checks and dnsperf load.
#
# Safety: by default everything runs inside a private, anonymous network
# namespace (unshare -n) that holds only a loopback interface and disappears when
# the script exits; with NETNS=0 it uses the host loopback (127.0.53.0/24) only.
# Every loop is bounded and every process it starts is killed by PID on exit.
#
# Usage:  ./run.sh [all|checks|bench|list]      (default: all)
# See README.md beside this file for the knobs and for plugging in a new target.
set -uo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"
MODE=${1:-all}

# ----------------------------------------------------------------- knobs ----
WORK=${WORK:-/tmp/pqc-dnsbench}
TARGETS=${TARGETS:-auth dnsmasq-nocache dnsmasq-cache unbound}
WORKLOADS=${WORKLOADS:-hit miss hit-do hit-tcp pq}
AUTH=${AUTH:-nsd}                  # nsd | knot  (both serve the same signed zone)
DURATION=${DURATION:-10}           # s, saturation run per workload
OUTSTANDING=${OUTSTANDING:-100}    # dnsperf -q for saturation runs
CLIENTS=${CLIENTS:-1}              # dnsperf -c (UDP workloads)
TCP_CLIENTS=${TCP_CLIENTS:-10}     # dnsperf -c for hit-tcp (= TCP connections)
UPSTREAM=${UPSTREAM:-auth}         # auth | validator (a validating unbound in
                                   # front of the auth server, for AD checks)
LAT_QPS=${LAT_QPS:-2000}           # fixed-rate latency run: queries/s
LAT_DURATION=${LAT_DURATION:-5}    # s
SERIAL_DURATION=${SERIAL_DURATION:-3}  # s, one-query-at-a-time latency run
DIG_N=${DIG_N:-20}                 # dig single queries (median reported)
MISS_NAMES=${MISS_NAMES:-1500000}  # unique names per saturation miss run
REPEAT=${REPEAT:-3}                # saturation runs per workload (median reported)
PORT=${PORT:-5300}                 # every server listens on <its addr>:$PORT
NET=${NET:-127.0.53}               # /24 inside 127.0.0.0/8 used for all servers
AUTH_ADDR=${AUTH_ADDR:-$NET.1}
LOADGEN_CPUS=${LOADGEN_CPUS:-0}    # taskset list for dnsperf/dig
SERVER_CPUS=${SERVER_CPUS:-1}      # taskset list for the auth server and target
PIN=${PIN:-auto}                   # auto|0|1 (auto: pin when >=2 CPUs)
NETNS=${NETNS:-1}                  # 1: run inside a private netns (unshare -n)
FAILOVER_CHECKS=${FAILOVER_CHECKS:-1}  # dead-upstream / failover checks
READY_TIMEOUT=${READY_TIMEOUT:-15} # s to wait for a target to answer
DNSPERF_EXTRA=${DNSPERF_EXTRA:-}   # extra dnsperf args for every load run
# Extra targets: a file defining target_<name>_start functions (see README),
# and/or PROXY_CMD, a command template that defines the target "proxy".
DNSBENCH_TARGETS_FILE=${DNSBENCH_TARGETS_FILE:-}
PROXY_CMD=${PROXY_CMD:-}

case "$NET.|$AUTH_ADDR" in
  127.*"|"127.*) ;;
  *) echo "NET and AUTH_ADDR must be inside 127.0.0.0/8" >&2; exit 2 ;;
esac

# ------------------------------------------------------------- netns --------
if [[ "$NETNS" == 1 && -z "${DNSBENCH_IN_NETNS:-}" && "$MODE" != list ]]; then
  if unshare -n true 2>/dev/null; then
    export DNSBENCH_IN_NETNS=1
    exec unshare -n -- bash "$SELF" "$@"
  fi
  echo "[run.sh] unshare -n not permitted; using the host loopback ($NET.0/24)" >&2
fi
if [[ -n "${DNSBENCH_IN_NETNS:-}" ]]; then
  ip link set lo up 2>/dev/null || { echo "cannot bring lo up in netns" >&2; exit 1; }
fi

# ------------------------------------------------------------- helpers ------
log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }
STARTED_PIDS=()

tree_pids() {  # PID and all its descendants
  local pid=$1
  ps -e -o pid=,ppid= 2>/dev/null | awk -v root="$pid" '
    { par[$1]=$2; pids[NR]=$1 }
    END { keep[root]=1; changed=1
          while (changed) { changed=0
            for (i in pids) { p=pids[i]; if (!(p in keep) && (par[p] in keep)) { keep[p]=1; changed=1 } } }
          for (p in keep) print p }'
}
stop_pid() {  # TERM the tree, wait up to 5 s, then KILL what is left
  local pid=$1 t p
  [[ -n "$pid" ]] || return 0
  local all; all=$(tree_pids "$pid")
  for p in $all; do kill -TERM "$p" 2>/dev/null; done
  for t in $(seq 50); do
    local alive=0
    for p in $all; do kill -0 "$p" 2>/dev/null && alive=1; done
    (( alive )) || break
    sleep 0.1
  done
  for p in $all; do kill -KILL "$p" 2>/dev/null; done
  wait "$pid" 2>/dev/null
  return 0
}
cleanup() {
  local i
  for (( i=${#STARTED_PIDS[@]}-1; i>=0; i-- )); do stop_pid "${STARTED_PIDS[$i]}"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() {  # utime+stime (all threads) summed over the process tree
  local p s=0 v
  for p in $(tree_pids "$1"); do
    v=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null) || v=0
    s=$(( s + ${v:-0} ))
  done
  echo "$s"
}
rss_kb() {  # VmRSS summed over the process tree
  local p s=0 v
  for p in $(tree_pids "$1"); do
    v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null) || v=0
    s=$(( s + ${v:-0} ))
  done
  echo "$s"
}

if [[ "$PIN" == auto ]]; then
  if (( $(nproc) >= 2 )); then PIN=1; else PIN=0; fi
fi
LG=(); (( PIN )) && LG=(taskset -c "$LOADGEN_CPUS")
ORIG_AFF=$(taskset -p -c $$ | awk -F': ' '{print $2}')
run_pinned() {  # run "$@" with this shell's affinity set to SERVER_CPUS, so that
  # servers it backgrounds inherit it (and stay children of this shell)
  (( PIN )) && taskset -p -c "$SERVER_CPUS" $$ >/dev/null
  "$@"
  (( PIN )) && taskset -p -c "$ORIG_AFF" $$ >/dev/null
  return 0
}

DIGQ=(dig +tries=1 +time=3 -p "$PORT")

# -------------------------------------------------------- test zone ---------
# pq1 labels in the PQConnect announcement grammar: "pq" + version "1" + 52 chars of
# DNSCurve base32 (alphabet 0-9 b-z minus e/i/o/a, little-endian bits) of a 32-byte
# hash [+ 4-char crypto port + 4-char key port] -> 55 or 63 (= the label maximum)
# characters. Synthetic hashes (sha256 of "dnsbench-A".."-D"); 55g1/5fg1 = 42424/42425.
PQ_A=pq1458nbkgvu1prhz7gbpwdg3u3k2qr0puykyglk7jujnmq8sd33wm055g15fg1   # 63, ports in label
PQ_B=pq1qzn5j4lrtxszq2zt7p7b660rm2lrxd6r01cnfpbmr29p2gbhn210           # 55, ports via TXT
PQ_C=pq1v76srwzllvtdl1p3g2cxcwk2dl5n494nn2qyd5uknycnmu0h1qs0           # 55, mid-chain
PQ_D=pq1b558cvvsh9f24lv8c1xtq5vbllj1ccl1f5wsdgrs92886kljg540           # 55, pq1 -> pq1

write_zone() {  # $1 = output file (unsigned zone)
  local f=$1 i
  {
    cat <<EOF
\$ORIGIN example.test.
\$TTL 3600
@          SOA   ns1 hostmaster 2024010101 7200 3600 1209600 300
@          NS    ns1
@          MX    10 mail
ns1        A     $AUTH_ADDR
mail       A     192.0.2.25
www        A     192.0.2.10
www        AAAA  2001:db8::10
dual       A     192.0.2.12
dual       AAAA  2001:db8::12
v4only     A     192.0.2.11
multi      A     192.0.2.20
multi      A     192.0.2.21
multi      A     192.0.2.22
multi      A     192.0.2.23
txt        TXT   "v=test1; hello"
ttl5    5  A     192.0.2.5
; plain CNAME chains
alias      CNAME www
chain1     CNAME chain2
chain2     CNAME chain3
chain3     CNAME www
; chains that reach "pq1..." labels (PQConnect-style announcements)
pq-direct  CNAME $PQ_A
pq-chain   CNAME hop1
hop1       CNAME hop2
hop2       CNAME $PQ_B
pq-mid     CNAME $PQ_C
$PQ_C      CNAME www
pq-two     CNAME $PQ_D
$PQ_D      CNAME $PQ_A
$PQ_A      A     192.0.2.53
$PQ_A      AAAA  2001:db8::53
$PQ_B      A     192.0.2.54
$PQ_B      AAAA  2001:db8::54
$PQ_B      TXT   "p=42424"
ks.$PQ_B   TXT   "ip=192.0.2.54;p=42425"
; cache-miss workload: unique random labels under a wildcard
*.miss     A     192.0.2.99
*.miss     AAAA  2001:db8::99
EOF
    # 60 A records: ~1 KB answer -> TC over 512-byte UDP, fits EDNS 1232
    for i in $(seq 1 60); do echo "big        A     198.51.100.$i"; done
    # ~2.4 KB TXT RRset -> TC even at EDNS 1232 -> TCP required
    for i in $(seq 1 8); do
      printf 'huge       TXT   "%03d-%s"\n' "$i" "$(printf 'x%.0s' $(seq 1 240))"
    done
  } > "$f"
}

knot_conf() {  # $1 dir $2 listen(addr@port) $3 zonefile $4 signing(on|off) $5 sync
  cat > "$1/knot.conf" <<EOF
server:
    rundir: "$1"
    listen: $2
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "$1/db"
log:
  - target: "$1/knot.log"
    any: info
template:
  - id: default
    storage: "$1"
    zonefile-sync: $5
    zonefile-load: whole
    journal-content: none
zone:
  - domain: example.test
    file: "$3"
    dnssec-signing: $4
EOF
}

sign_zone() {  # sign $ZDIR/example.test.unsigned -> $ZDIR/example.test.zone (via knotd)
  local d=$ZDIR/signer i pid
  rm -rf "$d"; mkdir -p "$d/db"
  cp "$ZDIR/example.test.unsigned" "$d/example.test.zone"
  knot_conf "$d" "$NET.250@$PORT" "$d/example.test.zone" on 0
  knotd -c "$d/knot.conf" >"$d/knotd.out" 2>&1 &
  pid=$!; STARTED_PIDS+=("$pid")
  for i in $(seq 100); do
    grep -q RRSIG "$d/example.test.zone" 2>/dev/null && break
    sleep 0.1
  done
  sleep 0.3
  stop_pid "$pid"
  grep -q RRSIG "$d/example.test.zone" || die "zone signing failed (see $d)"
  cp "$d/example.test.zone" "$ZDIR/example.test.zone"
  # trust anchor for a validating target: the KSK (flags 257)
  awk '$3=="DNSKEY" && $4==257 {print "example.test. 3600 IN DNSKEY", $4, $5, $6, $7}' \
    "$ZDIR/example.test.zone" > "$ZDIR/trust-anchor.txt"
  [[ -s "$ZDIR/trust-anchor.txt" ]] || die "no KSK in signed zone"
}

gen_data() {
  ZDIR=$WORK/zone; DATA=$WORK/data
  mkdir -p "$ZDIR" "$DATA"
  write_zone "$ZDIR/example.test.unsigned"
  sign_zone
  cat > "$DATA/hit.txt" <<EOF
www.example.test A
www.example.test AAAA
dual.example.test A
dual.example.test AAAA
v4only.example.test A
v4only.example.test AAAA
multi.example.test A
alias.example.test A
alias.example.test AAAA
chain1.example.test A
chain1.example.test AAAA
pq-direct.example.test A
pq-direct.example.test AAAA
pq-chain.example.test A
pq-chain.example.test AAAA
pq-mid.example.test A
pq-two.example.test A
mail.example.test A
nx1.example.test A
nx2.example.test AAAA
EOF
  # what a PQConnect-style client asks per connection: A/AAAA via the CNAME chain,
  # then TXT at the pq1 name and at ks.<pq1 name> (ports); pre-warmed like "hit"
  cat > "$DATA/pq.txt" <<EOF
pq-chain.example.test A
$PQ_B.example.test TXT
ks.$PQ_B.example.test TXT
pq-direct.example.test A
pq-direct.example.test AAAA
pq-two.example.test A
pq-chain.example.test AAAA
EOF
  local salt; salt=$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
  # disjoint unique-name sets per phase; targets are restarted, so sets are reused
  local r
  for r in $(seq "$REPEAT"); do
    awk -v n="$MISS_NAMES" -v s="$salt" -v r="$r" 'BEGIN{for(i=0;i<n;i++) printf "t%s-%d-%d.miss.example.test A\n", s, r, i}' > "$DATA/miss-t$r.txt"
  done
  awk -v n=$(( LAT_QPS * LAT_DURATION * 2 + 1000 )) -v s="$salt" 'BEGIN{for(i=0;i<n;i++) printf "l%s%d.miss.example.test A\n", s, i}' > "$DATA/miss-l.txt"
  awk -v n=300000 -v s="$salt" 'BEGIN{for(i=0;i<n;i++) printf "s%s%d.miss.example.test A\n", s, i}' > "$DATA/miss-s.txt"
  SALT=$salt
}

# ------------------------------------------------------------- targets ------
# Contract: target_<name>_start DIR ADDR PORT UPSTREAM [UPSTREAM...]
#   UPSTREAM is "a.b.c.d:port". Start the server in the background listening on
#   ADDR:PORT (UDP and TCP), forwarding to the upstream(s); write its PID to
#   DIR/pid (the harness kills that PID and its descendants). Logs go in DIR.
#   It is started with the CPU affinity SERVER_CPUS already applied.
# Optional: target_<name>_version prints one line.
# ("-" in a target name maps to "_" in the function name.)

target_auth_start() {  # the authoritative server itself (ignores upstreams)
  local dir=$1 addr=$2 port=$3
  case "$AUTH" in
    nsd)
      cat > "$dir/nsd.conf" <<EOF
server:
  ip-address: $addr@$port
  server-count: 1
  username: ""
  chroot: ""
  zonesdir: "$ZDIR"
  database: ""
  pidfile: "$dir/nsd.pid"
  xfrdfile: "$dir/xfrd.state"
  zonelistfile: "$dir/zone.list"
  logfile: "$dir/nsd.log"
  verbosity: 1
  do-ip6: no
  hide-version: yes
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: example.test
  zonefile: example.test.zone
EOF
      nsd -d -c "$dir/nsd.conf" >"$dir/out.log" 2>&1 &
      echo $! > "$dir/pid" ;;
    knot)
      mkdir -p "$dir/db"
      knot_conf "$dir" "$addr@$port" "$ZDIR/example.test.zone" off -1
      knotd -c "$dir/knot.conf" >"$dir/out.log" 2>&1 &
      echo $! > "$dir/pid" ;;
    *) die "AUTH must be nsd or knot" ;;
  esac
}
target_auth_version() {
  case "$AUTH" in nsd) nsd -v 2>&1 | head -1 ;; knot) knotd -V | head -1 ;; esac
}

dnsmasq_start() {  # $1 cache-size, then DIR ADDR PORT UPSTREAM...
  local cache=$1 dir=$2 addr=$3 port=$4; shift 4
  local srv=() u
  for u in "$@"; do srv+=("--server=${u%:*}#${u##*:}"); done
  dnsmasq -k -C /dev/null --no-resolv --no-hosts --bind-interfaces \
    --listen-address="$addr" --port="$port" "${srv[@]}" \
    --cache-size="$cache" --pid-file --user=root --group=root \
    --log-facility="$dir/dnsmasq.log" >"$dir/out.log" 2>&1 &
  echo $! > "$dir/pid"
}
target_dnsmasq_nocache_start() { dnsmasq_start 0 "$@"; }
target_dnsmasq_cache_start()   { dnsmasq_start 10000 "$@"; }
target_dnsmasq_nocache_version() { dnsmasq --version | head -1; }
target_dnsmasq_cache_version()   { dnsmasq --version | head -1; }

unbound_start() {  # $1 module-config, then DIR ADDR PORT UPSTREAM...
  local modules=$1 dir=$2 addr=$3 port=$4; shift 4
  local u fwd="" ta=""
  for u in "$@"; do fwd+="  forward-addr: ${u%:*}@${u##*:}"$'\n'; done
  [[ "$modules" == *validator* ]] && ta="  trust-anchor-file: \"$ZDIR/trust-anchor.txt\""
  cat > "$dir/unbound.conf" <<EOF
server:
  verbosity: 0
  interface: $addr@$port
  do-ip6: no
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "$dir"
  pidfile: ""
  use-syslog: no
  logfile: "$dir/unbound.log"
  num-threads: 1
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  local-zone: "test." nodefault
  module-config: "$modules"
$ta
remote-control:
  control-enable: no
forward-zone:
  name: "."
$fwd
EOF
  unbound -d -c "$dir/unbound.conf" >"$dir/out.log" 2>&1 &
  echo $! > "$dir/pid"
}
target_unbound_start()            { unbound_start "iterator" "$@"; }
target_unbound_validating_start() { unbound_start "validator iterator" "$@"; }
target_unbound_version()            { unbound -V | head -1 | sed 's/^/unbound /'; }
target_unbound_validating_version() { target_unbound_version; }

if [[ -n "$PROXY_CMD" ]]; then
  # Placeholders: {dir} {addr} {port} {upstream} (first, a.b.c.d:port)
  #               {up_addr} {up_port} {upstreams} (comma-separated)
  target_proxy_start() {
    local dir=$1 addr=$2 port=$3; shift 3
    local ups; ups=$(IFS=,; echo "$*")
    local c=$PROXY_CMD
    c=${c//\{dir\}/$dir}; c=${c//\{addr\}/$addr}; c=${c//\{port\}/$port}
    c=${c//\{upstreams\}/$ups}; c=${c//\{upstream\}/$1}
    c=${c//\{up_addr\}/${1%:*}}; c=${c//\{up_port\}/${1##*:}}
    echo "$c" > "$dir/cmd"
    bash -c "exec $c" >"$dir/out.log" 2>&1 &
    echo $! > "$dir/pid"
  }
  target_proxy_version() { echo "proxy: $PROXY_CMD"; }
fi
if [[ -n "$DNSBENCH_TARGETS_FILE" ]]; then
  # shellcheck source=/dev/null
  source "$DNSBENCH_TARGETS_FILE" || die "cannot source $DNSBENCH_TARGETS_FILE"
fi

fn_of() { echo "target_${1//-/_}_$2"; }

# start_target NAME ADDR UPSTREAM... -> sets TPID (0 on failure); waits for answers
start_target() {
  local name=$1 addr=$2; shift 2
  local dir=$WORK/t/$name-$addr fn; fn=$(fn_of "$name" start)
  declare -F "$fn" >/dev/null || die "no such target: $name (need function $fn)"
  rm -rf "$dir"; mkdir -p "$dir"
  run_pinned "$fn" "$dir" "$addr" "$PORT" "$@"
  TPID=0
  local i
  for i in $(seq 20); do [[ -s "$dir/pid" ]] && break; sleep 0.05; done
  [[ -s "$dir/pid" ]] || { log "$name: start function wrote no pid"; return 1; }
  TPID=$(cat "$dir/pid"); STARTED_PIDS+=("$TPID")
  for i in $(seq $(( READY_TIMEOUT * 5 ))); do
    kill -0 "$TPID" 2>/dev/null || { log "$name died on start; see $dir"; tail -5 "$dir"/*.log >&2; return 1; }
    if [[ -n $("${DIGQ[@]}" +time=1 @"$addr" www.example.test A +short 2>/dev/null) ]]; then return 0; fi
    sleep 0.2
  done
  log "$name: not answering after ${READY_TIMEOUT}s; see $dir"; return 1
}

# a silent upstream (reads and drops UDP, accepts TCP and never answers);
# exits by itself after $2 seconds
start_blackhole() {
  local addr=$1 secs=$2
  node -e '
    const [a,p,s]=process.argv.slice(1); const d=require("dgram").createSocket("udp4");
    d.on("message",()=>{}); d.bind(+p,a);
    require("net").createServer(c=>{c.on("data",()=>{}); c.on("error",()=>{})}).listen(+p,a);
    setTimeout(()=>process.exit(0), (+s)*1000);' "$addr" "$PORT" "$secs" &
  BHPID=$!; STARTED_PIDS+=("$BHPID"); sleep 0.3
}

# ------------------------------------------------------------- checks -------
ans() {  # normalized answer section: ADDR NAME TYPE [dig opts] (TTLs stripped)
  local a=$1 n=$2 t=$3; shift 3
  "${DIGQ[@]}" @"$a" "$n" "$t" +noall +answer "$@" 2>/dev/null | awk '{ $2=""; print tolower($0) }' | sort
}
hdr() { "${DIGQ[@]}" @"$1" "$2" "$3" "${@:4}" 2>/dev/null; }

psi() {  # CPU pressure (some avg10) - how much runnable work waited for a CPU
  awk '/^some/ { sub(/avg10=/, "", $2); print $2 }' /proc/pressure/cpu 2>/dev/null || echo "?"
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

checks_target() {  # NAME ADDR -> one TSV row
  local name=$1 a=$2 r out tmp ref
  local -A R
  same() {  # key name type
    ref=$(ans "$AUTH_ADDR" "$2" "$3"); out=$(ans "$a" "$2" "$3")
    if [[ -n "$ref" && "$ref" == "$out" ]]; then R[$1]=ok; else R[$1]=FAIL; fi
  }
  same a www.example.test A
  same aaaa www.example.test AAAA
  same cname3 chain1.example.test A
  same pq1 pq-chain.example.test AAAA
  [[ "${R[pq1]}" == ok ]] && { same pq1 pq-two.example.test A; }
  same pq1txt "$PQ_B.example.test" TXT
  [[ "${R[pq1txt]}" == ok ]] && { same pq1txt "ks.$PQ_B.example.test" TXT; }
  same wildcard "c$SALT$RANDOM.miss.example.test" A
  out=$(hdr "$a" "nx-$SALT$RANDOM.example.test" A)
  if grep -q 'status: NXDOMAIN' <<<"$out" && grep -qE 'AUTHORITY: [1-9]' <<<"$out"; then R[nxdomain]=ok
  else R[nxdomain]="FAIL($(grep -o 'status: [A-Z]*' <<<"$out" | head -1))"; fi
  out=$(hdr "$a" v4only.example.test AAAA)
  if grep -q 'status: NOERROR' <<<"$out" && grep -q 'ANSWER: 0' <<<"$out" && grep -qE 'AUTHORITY: [1-9]' <<<"$out"; then R[nodata]=ok; else R[nodata]=FAIL; fi
  out=$(hdr "$a" big.example.test A +noedns +ignore)
  if grep -qE 'flags:[^;]* tc' <<<"$out"; then R[tc512]=ok
  else R[tc512]="no-TC($(grep -oE 'ANSWER: [0-9]+' <<<"$out"))"; fi
  r=$(ans "$a" big.example.test A +tcp | grep -c ' a ')
  [[ "$r" == 60 ]] && R[tcp]=ok || R[tcp]="FAIL($r)"
  out=$(hdr "$a" big.example.test A +bufsize=1232 +ignore)
  if grep -qE 'flags:[^;]* tc' <<<"$out"; then R[edns1232]="TC"
  elif grep -q 'ANSWER: 60' <<<"$out"; then R[edns1232]=ok; else R[edns1232]=FAIL; fi
  r=$(ans "$a" huge.example.test TXT +bufsize=1232 | grep -c ' txt ')
  [[ "$r" == 8 ]] && R[tc_retry]=ok || R[tc_retry]="FAIL($r)"
  r=$(ans "$a" www.example.test A +dnssec | grep -c ' rrsig ')
  (( r > 0 )) && R[do_rrsig]=ok || R[do_rrsig]=none
  out=$(hdr "$a" www.example.test A +dnssec +adflag)
  grep -qE 'flags:[^;]* ad' <<<"$out" && R[ad]=set || R[ad]=clear
  out=$("${DIGQ[@]}" @"$a" WwW.ExAmPlE.TeSt A +noall +question +answer 2>/dev/null)
  grep -q '^;WwW.ExAmPlE.TeSt' <<<"$out" && R[case]=kept || R[case]=changed
  # TTL decrement: two queries ~2.2 s apart
  local t1 t2
  t1=$("${DIGQ[@]}" @"$a" dual.example.test A +noall +answer 2>/dev/null | awk 'NR==1{print $2}')
  sleep 2.2
  t2=$("${DIGQ[@]}" @"$a" dual.example.test A +noall +answer 2>/dev/null | awk 'NR==1{print $2}')
  if [[ -z "$t1" || -z "$t2" ]]; then R[ttl]=FAIL; elif (( t2 < t1 )); then R[ttl]="dec($t1>$t2)"; else R[ttl]="const($t2)"; fi
  out=$(hdr "$a" www.example.org A)
  R[out_of_zone]=$(grep -o 'status: [A-Z]*' <<<"$out" | head -1 | cut -d' ' -f2); R[out_of_zone]=${R[out_of_zone]:-noanswer}

  R[dead_up]=n/a; R[failover]=n/a
  if [[ "$name" != auth && "$FAILOVER_CHECKS" == 1 ]]; then
    local bh=$NET.249 d0 d1 st i lat=()
    start_blackhole "$bh" 60
    # (1) only upstream is silent
    if start_target_noready "$name" "$NET.241" "$bh:$PORT"; then
      d0=$(now_ms); out=$("${DIGQ[@]}" +time=12 @"$NET.241" "dead$SALT.example.test" A 2>/dev/null); d1=$(now_ms)
      st=$(grep -o 'status: [A-Z]*' <<<"$out" | cut -d' ' -f2)
      if [[ -n "$st" ]]; then R[dead_up]="$st@$(awk '/Query time/{print $4}' <<<"$out")ms"
      else R[dead_up]="none@$(( d1 - d0 ))ms"; fi
      stop_pid "$TPID"
    fi
    # (2) first upstream silent, second is the auth server; 6 fresh names
    if start_target_noready "$name" "$NET.242" "$bh:$PORT" "$UP"; then
      for i in 1 2 3 4 5 6; do
        d0=$(now_ms); out=$("${DIGQ[@]}" +time=12 @"$NET.242" "fo$i$SALT.miss.example.test" A 2>/dev/null); d1=$(now_ms)
        if grep -q '^fo.*192\.0\.2\.99' <<<"$out"; then lat+=("$(awk '/Query time/{print $4}' <<<"$out")")
        else lat+=("x$(( d1 - d0 ))"); fi
      done
      R[failover]="$(IFS=/; echo "${lat[*]}")ms"
      stop_pid "$TPID"
    fi
    stop_pid "$BHPID"
  fi
  local k row="$name"
  for k in $CHECK_KEYS; do row+=$'\t'"${R[$k]:-?}"; done
  echo "$row"
}
CHECK_KEYS="a aaaa cname3 pq1 pq1txt wildcard nxdomain nodata tc512 tcp edns1232 tc_retry do_rrsig ad case ttl out_of_zone dead_up failover"

start_target_noready() {  # like start_target, but a dead upstream means no readiness probe
  local name=$1 addr=$2; shift 2
  local dir=$WORK/t/$name-$addr fn; fn=$(fn_of "$name" start)
  rm -rf "$dir"; mkdir -p "$dir"
  run_pinned "$fn" "$dir" "$addr" "$PORT" "$@"
  TPID=0; local i
  for i in $(seq 20); do [[ -s "$dir/pid" ]] && break; sleep 0.05; done
  [[ -s "$dir/pid" ]] || return 1
  TPID=$(cat "$dir/pid"); STARTED_PIDS+=("$TPID")
  sleep 1.0   # no probe possible: give it a moment to bind
  kill -0 "$TPID" 2>/dev/null
}

# ------------------------------------------------------------- load ---------
# dnsperf_run OUTFILE args... -> prints "qps avg_ms sd_ms lost% sent end completed"
dnsperf_run() {
  local of=$1; shift
  "${LG[@]}" dnsperf -s "$TADDR" -p "$PORT" -c "$CLIENTS" $DNSPERF_EXTRA "$@" > "$of" 2>&1
  awk '
    /Queries sent:/      { sent=$3 }
    /Queries completed:/ { done=$3 }
    /Queries lost:/      { lost=$4; gsub(/[()%]/,"",lost) }
    /Queries per second:/{ qps=$4 }
    /Average Latency/ && !ga { avg=$4*1000; ga=1 }   # first block only (TCP adds
    /Latency StdDev/ && !gs  { sd=$4*1000; gs=1 }    # a connection-latency block)
    /Testing complete/   { end=($0 ~ /end of file/) ? "eof" : "time" }
    END { printf "%.0f %.3f %.3f %s %s %s %s\n", qps, avg, sd, lost==""?"?":lost, sent, end, done+0 }' "$of"
}
# percentiles of "> RCODE name type latency" lines (verbose dnsperf) in ms
pctl() {
  grep '^> ' "$1" | awk '{print $NF*1000}' | sort -g | awk '
    function at(q,  i) { i = int(n*q) + 1; if (i > n) i = n; return v[i] }
    { v[NR]=$1 } END { n=NR; if (n==0) { print "- - - - 0"; exit }
      printf "%.3f %.3f %.3f %.3f %d\n", at(0.50), at(0.99), at(0.999), v[n], n }'
}

wl_args() {  # workload -> "datafile|dnsperf args|warm(0/1)"
  case "$1" in
    hit)     echo "$DATA/hit.txt||1" ;;
    hit-do)  echo "$DATA/hit.txt|-D|1" ;;
    hit-tcp) echo "$DATA/hit.txt|-m tcp -c $TCP_CLIENTS|1" ;;
    pq)      echo "$DATA/pq.txt||1" ;;
    miss)    echo "$DATA/miss-t@R@.txt|-n 1|0" ;;
    *) die "unknown workload $1" ;;
  esac
}

bench_target() {  # NAME ADDR
  local name=$1; TADDR=$2
  local d=$WORK/out/$name; mkdir -p "$d"
  local authpid=$AUTHPID
  # single-query latency via dig (ms resolution), median of DIG_N: hit + miss
  local i hits=() miss=()
  "${LG[@]}" "${DIGQ[@]}" @"$TADDR" pq-chain.example.test A >/dev/null 2>&1
  for i in $(seq "$DIG_N"); do
    hits+=("$("${LG[@]}" "${DIGQ[@]}" @"$TADDR" pq-chain.example.test A 2>/dev/null | awk '/Query time/{print $4}')")
    miss+=("$("${LG[@]}" "${DIGQ[@]}" @"$TADDR" "d$SALT$i.miss.example.test" A 2>/dev/null | awk '/Query time/{print $4}')")
  done
  local dh dm
  dh=$(printf '%s\n' "${hits[@]}" | sort -n | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}')
  dm=$(printf '%s\n' "${miss[@]}" | sort -n | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}')
  printf '%s\tdig\t%s\t%s\n' "$name" "$dh" "$dm" >> "$WORK/dig.tsv"
  # serial (1 outstanding) latency with microsecond resolution: hit + miss
  dnsperf_run "$d/serial-hit.txt" -d "$DATA/hit.txt" -q 1 -l "$SERIAL_DURATION" -v >/dev/null
  dnsperf_run "$d/serial-miss.txt" -d "$DATA/miss-s.txt" -n 1 -q 1 -l "$SERIAL_DURATION" -v >/dev/null
  printf '%s\tserial\t%s\t%s\n' "$name" "$(pctl "$d/serial-hit.txt")" "$(pctl "$d/serial-miss.txt")" >> "$WORK/serial.tsv"

  local wl spec file args warm r p c0 c1 a0 a1 res runs cpus best range psi0 psi1
  for wl in $WORKLOADS; do
    spec=$(wl_args "$wl"); file=${spec%%|*}; args=${spec#*|}; warm=${args##*|}; args=${args%|*}
    if [[ "$warm" == 1 ]]; then
      # shellcheck disable=SC2086
      dnsperf_run "$d/$wl-warm.txt" -d "$file" -n 2 $args >/dev/null
    fi
    runs=(); cpus=(); psi0=$(psi)
    for r in $(seq "$REPEAT"); do
      local f=$file; [[ "$wl" == miss ]] && f=${file/@R@/$r}
      c0=$(cpu_ticks "$TPID"); a0=$(cpu_ticks "$authpid")
      # shellcheck disable=SC2086
      res=$(dnsperf_run "$d/$wl-sat$r.txt" -d "$f" -l "$DURATION" -q "$OUTSTANDING" $args)
      c1=$(cpu_ticks "$TPID"); a1=$(cpu_ticks "$authpid")
      local qps avg sd lost sent end done tcpu acpu
      read -r qps avg sd lost sent end done <<<"$res"
      tcpu=$(awk -v t=$(( c1 - c0 )) -v q="$done" -v hz="$CLK_TCK" 'BEGIN{ if (q>0) printf "%.1f", t/hz*1e6/q; else print "-" }')
      if [[ "$name" == auth ]]; then acpu=-; else
        acpu=$(awk -v t=$(( a1 - a0 )) -v q="$done" -v hz="$CLK_TCK" 'BEGIN{ if (q>0) printf "%.1f", t/hz*1e6/q; else print "-" }'); fi
      runs+=("$qps $avg $sd $lost $end $tcpu $acpu"); cpus+=("$tcpu")
    done
    psi1=$(psi)
    # report the run with the median q/s, plus the min-max range over repeats
    best=$(printf '%s\n' "${runs[@]}" | sort -n -k1,1 | awk -v m=$(( (REPEAT + 1) / 2 )) 'NR==m')
    range=$(printf '%s\n' "${runs[@]}" | sort -n -k1,1 | awk 'NR==1{lo=$1} END{print lo "-" $1}')
    # fixed-rate latency distribution (fresh names for miss)
    local lfile=$file
    [[ "$wl" == miss ]] && lfile=$DATA/miss-l.txt
    # shellcheck disable=SC2086
    dnsperf_run "$d/$wl-rate.txt" -d "$lfile" -l "$LAT_DURATION" -Q "$LAT_QPS" -q "$OUTSTANDING" -v $args >/dev/null
    p=$(pctl "$d/$wl-rate.txt")
    local qps avg sd lost end tcpu acpu
    read -r qps avg sd lost end tcpu acpu <<<"$best"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$wl" "$qps" "$avg" "$sd" "$lost" "$end" "$tcpu" "$acpu" "$p" "$range" "$psi0/$psi1" "$(IFS=/; echo "${cpus[*]}")" >> "$WORK/bench.tsv"
    log "  $name/$wl: ${qps} q/s [$range] avg ${avg} ms lost ${lost}% (${end}); target ${tcpu} us CPU/q; auth ${acpu}; @${LAT_QPS}q/s p50/p99/p99.9/max ms: $p; cpu-psi $psi0/$psi1"
  done
  echo -e "$name\t$(rss_kb "$TPID")" >> "$WORK/rss.tsv"
}

# Interleaved variant (INTERLEAVE=1, added for bench.sh): every target runs at once, and each
# saturation repeat cycles through the targets (rotating who goes first), so that load from other
# tenants drifting over minutes hits all targets alike. Same rows in bench.tsv as bench_target.
# Args: NAME ADDR PID triples.
bench_interleaved() {
  local -a names=() addrs=() pids=()
  while (( $# >= 3 )); do names+=("$1"); addrs+=("$2"); pids+=("$3"); shift 3; done
  local nt=${#names[@]} k
  (( nt > 0 )) || return 0
  local authpid=$AUTHPID
  # single-query latency (dig, serial dnsperf), as bench_target does
  for (( k=0; k<nt; k++ )); do
    local name=${names[$k]} i hits=() miss=() dh dm d=$WORK/out/${names[$k]}
    TADDR=${addrs[$k]}; mkdir -p "$d"
    "${LG[@]}" "${DIGQ[@]}" @"$TADDR" pq-chain.example.test A >/dev/null 2>&1
    for i in $(seq "$DIG_N"); do
      hits+=("$("${LG[@]}" "${DIGQ[@]}" @"$TADDR" pq-chain.example.test A 2>/dev/null | awk '/Query time/{print $4}')")
      miss+=("$("${LG[@]}" "${DIGQ[@]}" @"$TADDR" "d$SALT$i.miss.example.test" A 2>/dev/null | awk '/Query time/{print $4}')")
    done
    dh=$(printf '%s\n' "${hits[@]}" | sort -n | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}')
    dm=$(printf '%s\n' "${miss[@]}" | sort -n | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}')
    printf '%s\tdig\t%s\t%s\n' "$name" "$dh" "$dm" >> "$WORK/dig.tsv"
    dnsperf_run "$d/serial-hit.txt" -d "$DATA/hit.txt" -q 1 -l "$SERIAL_DURATION" -v >/dev/null
    dnsperf_run "$d/serial-miss.txt" -d "$DATA/miss-s.txt" -n 1 -q 1 -l "$SERIAL_DURATION" -v >/dev/null
    printf '%s\tserial\t%s\t%s\n' "$name" "$(pctl "$d/serial-hit.txt")" "$(pctl "$d/serial-miss.txt")" >> "$WORK/serial.tsv"
  done
  local wl spec file args warm r j p c0 c1 a0 a1 res best range
  for wl in $WORKLOADS; do
    spec=$(wl_args "$wl"); file=${spec%%|*}; args=${spec#*|}; warm=${args##*|}; args=${args%|*}
    local -A runs=() cpus=() psi0=()
    for (( k=0; k<nt; k++ )); do
      psi0[$k]=$(psi); TADDR=${addrs[$k]}
      # shellcheck disable=SC2086
      [[ "$warm" == 1 ]] && dnsperf_run "$WORK/out/${names[$k]}/$wl-warm.txt" -d "$file" -n 2 $args >/dev/null
    done
    for r in $(seq "$REPEAT"); do
      for (( j=0; j<nt; j++ )); do
        k=$(( (j + r - 1) % nt )); TADDR=${addrs[$k]}
        local f=$file; [[ "$wl" == miss ]] && f=${file/@R@/$r}
        c0=$(cpu_ticks "${pids[$k]}"); a0=$(cpu_ticks "$authpid")
        # shellcheck disable=SC2086
        res=$(dnsperf_run "$WORK/out/${names[$k]}/$wl-sat$r.txt" -d "$f" -l "$DURATION" -q "$OUTSTANDING" $args)
        c1=$(cpu_ticks "${pids[$k]}"); a1=$(cpu_ticks "$authpid")
        local qps avg sd lost sent end done tcpu acpu
        read -r qps avg sd lost sent end done <<<"$res"
        tcpu=$(awk -v t=$(( c1 - c0 )) -v q="$done" -v hz="$CLK_TCK" 'BEGIN{ if (q>0) printf "%.1f", t/hz*1e6/q; else print "-" }')
        acpu=$(awk -v t=$(( a1 - a0 )) -v q="$done" -v hz="$CLK_TCK" 'BEGIN{ if (q>0) printf "%.1f", t/hz*1e6/q; else print "-" }')
        [[ "${names[$k]}" == auth ]] && acpu=-
        runs[$k]+="$qps $avg $sd $lost $end $tcpu $acpu;"; cpus[$k]+="${cpus[$k]:+/}$tcpu"
      done
    done
    for (( k=0; k<nt; k++ )); do
      local name=${names[$k]}; TADDR=${addrs[$k]}
      best=$(tr ';' '\n' <<<"${runs[$k]}" | grep . | sort -n -k1,1 | awk -v m=$(( (REPEAT + 1) / 2 )) 'NR==m')
      range=$(tr ';' '\n' <<<"${runs[$k]}" | grep . | sort -n -k1,1 | awk 'NR==1{lo=$1} END{print lo "-" $1}')
      local lfile=$file; [[ "$wl" == miss ]] && lfile=$DATA/miss-l.txt
      # shellcheck disable=SC2086
      dnsperf_run "$WORK/out/$name/$wl-rate.txt" -d "$lfile" -l "$LAT_DURATION" -Q "$LAT_QPS" -q "$OUTSTANDING" -v $args >/dev/null
      p=$(pctl "$WORK/out/$name/$wl-rate.txt")
      local qps avg sd lost end tcpu acpu
      read -r qps avg sd lost end tcpu acpu <<<"$best"
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$wl" "$qps" "$avg" "$sd" "$lost" "$end" "$tcpu" "$acpu" "$p" "$range" "${psi0[$k]}/$(psi)" "${cpus[$k]}" >> "$WORK/bench.tsv"
      log "  $name/$wl: ${qps} q/s [$range] target CPU us/q ${cpus[$k]}; auth ${acpu}; @${LAT_QPS}q/s p50/p99/p99.9/max ms: $p"
    done
    unset runs cpus psi0
  done
  for (( k=0; k<nt; k++ )); do echo -e "${names[$k]}\t$(rss_kb "${pids[$k]}")" >> "$WORK/rss.tsv"; done
}

# ------------------------------------------------------------- report -------
versions() {
  local n fn
  echo "- kernel: $(uname -sr); CPUs: $(nproc) ($(awk -F: '/model name/{print $2; exit}' /proc/cpuinfo | sed 's/^ *//'))"
  echo "- dnsperf: $(dnsperf -h 2>&1 | grep -m1 Version)"
  echo "- dig: $(dig -v 2>&1)"
  echo "- authoritative: $(target_auth_version); zone signed by knotd $(knotd -V | awk '{print $NF}')"
  for n in $TARGETS; do
    [[ "$n" == auth ]] && continue
    fn=$(fn_of "$n" version)
    declare -F "$fn" >/dev/null && echo "- $n: $("$fn")"
  done
}

report() {
  local f=$WORK/report.md
  {
    echo "# dnsbench run $(date -u +%FT%TZ)"
    echo
    echo "netns=${DNSBENCH_IN_NETNS:-0} pin=$PIN loadgen_cpus=$LOADGEN_CPUS server_cpus=$SERVER_CPUS auth=$AUTH upstream=$UPSTREAM"
    echo "duration=${DURATION}s outstanding=$OUTSTANDING clients=$CLIENTS tcp_clients=$TCP_CLIENTS lat_qps=$LAT_QPS lat_duration=${LAT_DURATION}s"
    echo
    versions
    if [[ -s "$WORK/bench.tsv" ]]; then
      echo
      echo "## Saturation throughput (dnsperf -q $OUTSTANDING, ${DURATION}s, median of $REPEAT) and latency at ${LAT_QPS} q/s"
      echo
      echo "| target | workload | q/s | q/s range | avg ms (sat) | sd ms | lost % | target CPU µs/q | auth CPU µs/q | p50 ms @${LAT_QPS} | p99 ms | p99.9 ms | max ms | cpu psi before/after |"
      echo "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
      awk -F'\t' '{ split($10,p," "); e=($7=="eof")?" (eof)":"";
        printf "| %s | %s | %s%s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1,$2,$3,e,$11,$4,$5,$6,$8,$9,p[1],p[2],p[3],p[4],$12 }' "$WORK/bench.tsv"
    fi
    if [[ -s "$WORK/serial.tsv" ]]; then
      echo
      echo "## Single-query latency"
      echo
      echo "| target | dig hit median ms | dig miss median ms | serial hit p50 ms | serial hit p99 ms | serial miss p50 ms | serial miss p99 ms | RSS after run KiB |"
      echo "|---|---:|---:|---:|---:|---:|---:|---:|"
      join -t $'\t' <(sort "$WORK/dig.tsv") <(sort "$WORK/serial.tsv") | join -t $'\t' - <(sort "$WORK/rss.tsv") |
        awk -F'\t' '{ split($6,h," "); split($7,m," "); printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1,$3,$4,h[1],h[2],m[1],m[2],$8 }'
    fi
    if [[ -s "$WORK/checks.tsv" ]]; then
      echo
      echo "## Functional checks"
      echo
      echo "| target | ${CHECK_KEYS// / | } |"
      echo "|---$(for k in $CHECK_KEYS; do printf '|---'; done)|"
      awk -F'\t' '{ s="|"; for (i=1;i<=NF;i++) s=s " " $i " |"; print s }' "$WORK/checks.tsv"
    fi
  } > "$f"
  cat "$f"
}

# ------------------------------------------------------------- main ---------
main() {
  local n b
  for b in dnsperf dig knotd dnsmasq unbound node "$([[ $AUTH == nsd ]] && echo nsd || echo knotd)"; do
    command -v "$b" >/dev/null || die "missing $b (apt-get install -y dnsperf bind9-dnsutils knot nsd dnsmasq-base unbound)"
  done
  if [[ "$MODE" == list ]]; then
    declare -F | awk '{print $3}' | sed -n 's/^target_\(.*\)_start$/\1/p' | tr _ -; exit 0
  fi
  [[ "$WORK" == /tmp/* ]] || die "WORK must be under /tmp"
  rm -rf "$WORK"; mkdir -p "$WORK/t" "$WORK/out"
  log "netns=${DNSBENCH_IN_NETNS:-0} pin=$PIN work=$WORK; generating zone + data"
  gen_data
  # the authoritative server everyone forwards to
  start_target auth "$AUTH_ADDR" || die "authoritative server did not start"
  AUTHPID=$TPID
  UP="$AUTH_ADDR:$PORT"
  if [[ "$UPSTREAM" == validator ]]; then
    start_target unbound-validating "$NET.9" "$AUTH_ADDR:$PORT" || die "validator did not start"
    UP="$NET.9:$PORT"
  fi
  local i=10 inter=()
  for n in $TARGETS; do
    i=$(( i + 1 ))
    local addr=$NET.$i
    [[ "$n" == auth ]] && addr=$AUTH_ADDR
    log "target $n on $addr:$PORT"
    if [[ "${INTERLEAVE:-0}" == 1 && ( "$MODE" == all || "$MODE" == bench ) ]]; then
      if [[ "$MODE" == all ]]; then
        if [[ "$n" == auth ]]; then checks_target auth "$addr" >> "$WORK/checks.tsv"
        elif start_target "$n" "$addr" "$UP"; then
          local cpid=$TPID
          checks_target "$n" "$addr" >> "$WORK/checks.tsv"
          stop_pid "$cpid"
        fi
      fi
      if [[ "$n" == auth ]]; then inter+=(auth "$addr" "$AUTHPID")
      elif start_target "$n" "$addr" "$UP"; then inter+=("$n" "$addr" "$TPID"); fi
      continue
    fi
    if [[ "$MODE" == all || "$MODE" == checks ]]; then
      if [[ "$n" == auth ]]; then checks_target auth "$addr" >> "$WORK/checks.tsv"
      elif start_target "$n" "$addr" "$UP"; then
        local cpid=$TPID
        checks_target "$n" "$addr" >> "$WORK/checks.tsv"
        stop_pid "$cpid"
      fi
    fi
    if [[ "$MODE" == all || "$MODE" == bench ]]; then
      if [[ "$n" == auth ]]; then TPID=$AUTHPID; bench_target auth "$addr"
      elif start_target "$n" "$addr" "$UP"; then
        bench_target "$n" "$addr"
        stop_pid "$TPID"
      fi
    fi
  done
  if (( ${#inter[@]} > 0 )); then
    log "interleaved bench: ${#inter[@]} fields (name addr pid) of running targets"
    bench_interleaved "${inter[@]}"
  fi
  report
}
main
