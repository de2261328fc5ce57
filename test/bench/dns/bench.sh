#!/usr/bin/env bash
# bench.sh - `npm run bench:dns`: dnsperf against our resolver (`pqc resolver start`), dnsmasq
# and unbound in one run of harness.sh (same signed zone, same nsd, same CPU pinning, private
# network namespace, loopback only), then one Markdown table of q/s, CPU us per answered query,
# latency p50/p99 at a fixed rate, and ours/theirs ratios; written to $OUT and printed.
# Needs root (unshare -n) and: apt-get install dnsperf dnsmasq-base nsd knot unbound bind9-dnsutils.
# Usage: test/bench/dns/bench.sh [bench|all|checks]   (all/checks add the harness's conformance checks)
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
HERE=$ROOT/test/bench/dns
MODE=${1:-bench}

# Knobs (see ../shared/bench/dns/README.md for the harness's own); defaults keep a run ~5 min.
export WORK=${WORK:-/tmp/pqc-dnsbench}
export TARGETS=${TARGETS:-pqc dnsmasq-cache dnsmasq-nocache unbound}
export WORKLOADS=${WORKLOADS:-hit miss pq}
export DURATION=${DURATION:-4}
export REPEAT=${REPEAT:-3}
export LAT_QPS=${LAT_QPS:-2000}
export LAT_DURATION=${LAT_DURATION:-3}
export SERIAL_DURATION=${SERIAL_DURATION:-2}
export DIG_N=${DIG_N:-5}
export MISS_NAMES=${MISS_NAMES:-400000}
export FAILOVER_CHECKS=${FAILOVER_CHECKS:-0}
export INTERLEAVE=${INTERLEAVE:-1}   # all targets up at once, repeats cycle through them
export PQC_BUILD=${PQC_BUILD:-/tmp/pqc-dnsbench-build}   # compiled copy of the tree (not dist/)
export PQC_ROOT=$ROOT
export DNSBENCH_TARGETS_FILE=$HERE/targets.sh
OUT=${OUT:-$ROOT/test/bench/results/dns.md}
OURS=${OURS:-pqc}

[[ "$WORK" == /tmp/* && "$PQC_BUILD" == /tmp/* ]] || { echo "WORK and PQC_BUILD must be under /tmp" >&2; exit 2; }
for b in dnsperf dig knotd nsd dnsmasq unbound node unshare; do
  command -v "$b" >/dev/null || { echo "missing $b: apt-get install -y dnsperf bind9-dnsutils knot nsd dnsmasq-base unbound" >&2; exit 2; }
done

# Compile into a private directory, so that dist/ (which others may be rebuilding) is untouched.
# shellcheck source=../private-build.sh
source "$ROOT/test/bench/private-build.sh"
if [[ "${PQC_NO_BUILD:-0}" != 1 ]]; then pqc_private_build "$ROOT" "$PQC_BUILD"; fi
[[ -f "$PQC_BUILD/dist/oclif/commands/resolver/start.js" ]] || { echo "build failed, see $PQC_BUILD/tsc.log" >&2; exit 1; }

bash "$HERE/harness.sh" "$MODE"
[[ "$MODE" == checks ]] && exit 0
[[ -s "$WORK/bench.tsv" ]] || { echo "no results in $WORK/bench.tsv" >&2; exit 1; }

# bench.tsv columns: 1 target 2 workload 3 q/s 4 avg 5 sd 6 lost 7 end 8 cpu(median-q/s run)
# 9 auth cpu 10 "p50 p99 p99.9 max n" 11 q/s range 12 psi 13 cpu of every repeat (a/b/c)
mkdir -p "$(dirname "$OUT")"
{
  echo "# DNS benchmark: $OURS vs dnsmasq and unbound ($(date -u +%FT%TZ))"
  echo
  echo "\`npm run bench:dns\` (test/bench/dns/bench.sh). nsd serves the signed example.test zone; every"
  echo "target forwards to it. Private network namespace, loopback only; dnsperf on CPU 0, nsd and the"
  echo "target share CPU 1. Saturation: dnsperf -q 100 for ${DURATION} s, ${REPEAT} repeats$([[ $INTERLEAVE == 1 ]] && echo ", each repeat cycling through all targets (running at once)"); q/s is the"
  echo "median run [min-max]; CPU µs/q is the target's utime+stime (/proc/PID/stat, all threads)"
  echo "over a run divided by the queries answered, median [min-max] of the repeats; auth µs/q is"
  echo "nsd's cost per answered query. Latency: p50/p99 at a fixed ${LAT_QPS} q/s for ${LAT_DURATION} s."
  echo "The last two columns compare $OURS with that row: CPU µs/q ours/theirs (below 1 = we are cheaper)"
  echo "and q/s ours/theirs (above 1 = we are faster). CPU psi = /proc/pressure/cpu avg10 (other load)."
  echo
  echo "| workload | target | q/s [range] | CPU µs/q [range] | auth µs/q | p50 ms | p99 ms | CPU ours/this | q/s ours/this | cpu psi |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"
  awk -F'\t' -v ours="$OURS" -v wls="$WORKLOADS" '
    function med(list,   n, a, i, j, t) {
      n = split(list, a, "/")
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
      lo[0] = a[1]; hi[0] = a[n]
      return a[int((n + 1) / 2)]
    }
    { key = $2 SUBSEP $1; q[key] = $3; qr[key] = $11; c[key] = med($13); cr[key] = lo[0] "-" hi[0]
      au[key] = $9; split($10, p, " "); p50[key] = p[1]; p99[key] = p[2]; psi[key] = $12
      if (!($1 in seen)) { seen[$1] = 1; order[++nt] = $1 } }
    END {
      nw = split(wls, w, " ")
      for (i = 1; i <= nw; i++) for (k = 1; k <= nt; k++) {
        key = w[i] SUBSEP order[k]; if (!(key in q)) continue
        ok = w[i] SUBSEP ours
        rc = (order[k] == ours || !(ok in c) || c[key] + 0 == 0) ? "–" : sprintf("%.2f", c[ok] / c[key])
        rq = (order[k] == ours || !(ok in q) || q[key] + 0 == 0) ? "–" : sprintf("%.2f", q[ok] / q[key])
        name = (order[k] == ours) ? "**" ours "**" : order[k]
        printf "| %s | %s | %s [%s] | %s [%s] | %s | %s | %s | %s | %s | %s |\n", w[i], name, q[key], qr[key], c[key], cr[key], au[key], p50[key], p99[key], rc, rq, psi[key]
      }
    }' "$WORK/bench.tsv"
  echo
  echo "Targets: dnsmasq-cache = \`--cache-size=10000\`, dnsmasq-nocache = \`--cache-size=0\`, unbound ="
  echo "iterator only, 1 thread, forward-zone \".\"; $OURS = \`pqc resolver start\` (cache of 10 000 entries)."
  echo "Full harness report (versions, serial latency, RSS): \`$WORK/report.md\`; raw dnsperf output: \`$WORK/out/\`."
} > "$OUT"
echo
cat "$OUT"
echo
echo "[bench.sh] table written to $OUT"
if [[ "${PQC_PROFILE:-0}" == 1 ]]; then
  echo "[bench.sh] CPU profiles: $(ls "$WORK"/t/pqc-*/*.cpuprofile 2>/dev/null | tr '\n' ' ')"
fi
