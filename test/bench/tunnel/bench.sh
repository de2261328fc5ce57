#!/usr/bin/env bash
# bench.sh - `npm run bench`: pqc against userspace VPN peers in one run of run.sh (tunbench:
# namespaces tunbench-a/b, its lock and watchdog), all at the same inner MTU, then the pqc-only
# scripts of test/bench/own/, then test/bench/report/write-report.ts: results/<ts>/table.md
# (medians, ratios pqc/peer, the harness's own tables, pqc-only figures) and chart.svg.
# Needs root. Usage: test/bench/tunnel/bench.sh [run.sh options, e.g. --quick, -r 3, -t "baseline pqc"]
# Knobs: TUNNELS, TUN_MTU (1280), PQC_BUILD (/tmp/pqc-tunbench-build), PQC_NO_BUILD=1, OWN=0,
# OWN_TIMEOUT (s, 900), INSTALL=0 (no apt-get); run.sh's own (README.md there).
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
HERE=$ROOT/test/bench/tunnel
TUNNELS=${TUNNELS:-baseline wggo ovpn_chacha fastd pqc_nooff pqc}
export TUN_MTU=${TUN_MTU:-1280}
export PQC_BUILD=${PQC_BUILD:-/tmp/pqc-tunbench-build}   # compiled copy of the tree (never dist/)
OWN=${OWN:-1}
OWN_TIMEOUT=${OWN_TIMEOUT:-900}

if ((EUID != 0)); then
  command -v sudo >/dev/null || { echo "bench.sh: needs root (network namespaces, TUN)" >&2; exit 2; }
  exec sudo --preserve-env=TUNNELS,TUN_MTU,PQC_BUILD,PQC_NO_BUILD,OWN,OWN_TIMEOUT,INSTALL,DURATION,REPS,TESTS,START_QUIET_WAIT,QUIET_STREAK,PATH \
    bash "${BASH_SOURCE[0]}" "$@"
fi
[[ "$PQC_BUILD" == /tmp/* ]] || { echo "PQC_BUILD must be under /tmp" >&2; exit 2; }
# run.sh's maintenance modes need neither a build nor a report
for a in "$@"; do
  case $a in --install | --cleanup | --list | --merge | -h | --help) exec bash "$HERE/run.sh" "$@" ;; esac
done

# Our own -t / -o win over the defaults; everything else goes to run.sh untouched.
args=() out=""
while (($#)); do
  case $1 in
    -t) TUNNELS=$2; shift 2 ;;
    -o) out=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
OUT_DIR=${out:-$HERE/results/$(date +%Y%m%d-%H%M%S)}

# Compile into a private directory (dist/ of the work tree may be mid-rebuild by someone else).
# shellcheck source=../private-build.sh
source "$ROOT/test/bench/private-build.sh"
if [[ " $TUNNELS " == *" pqc"* && "${PQC_NO_BUILD:-0}" != 1 ]]; then pqc_private_build "$ROOT" "$PQC_BUILD"; fi
if [[ " $TUNNELS " == *" pqc"* ]]; then
  [[ -f "$PQC_BUILD/dist/oclif/commands/server/start.js" ]] || { echo "build failed, see $PQC_BUILD/tsc.log" >&2; exit 1; }
  [[ -f "$PQC_BUILD/build/Release/pqc_native.node" ]] ||
    { echo "no native addon in $PQC_BUILD/build (run npm ci / npx node-gyp rebuild in $ROOT)" >&2; exit 1; }
fi

mkdir -p "$OUT_DIR"
rc=0
PQC_REPO=$PQC_BUILD bash "$HERE/run.sh" -t "$TUNNELS" -o "$OUT_DIR" "${args[@]}" || rc=$?

# pqc-only figures: each test/bench/own/*.ts script prints one JSON object per line on stdout.
if [[ "$OWN" == 1 && -d "$ROOT/test/bench/own" ]]; then
  mkdir -p "$OUT_DIR/own"
  for f in "$ROOT"/test/bench/own/*.ts; do
    n=$(basename "$f" .ts)
    [[ -f $f && $n != common && $n != all && $n != *.d ]] || continue  # all.ts would run every script twice
    echo "[bench.sh] own: $n (timeout ${OWN_TIMEOUT}s)" >&2
    # From the compiled private build when there is one (production code, no tsx loader: its
    # transpiler adds ~35 MB of RSS to the memory figure), else from the sources.
    js=$PQC_BUILD/dist/test/bench/own/$n.js
    if [[ -f $js ]]; then run_own=(node "$js") own_dir=$PQC_BUILD; else run_own=(node --import tsx "$f") own_dir=$ROOT; fi
    (cd "$own_dir" && timeout -k 10 "$OWN_TIMEOUT" "${run_own[@]}") >"$OUT_DIR/own/$n.json" 2>"$OUT_DIR/own/$n.log" ||
      echo "[bench.sh] own: $n failed (exit $?), see $OUT_DIR/own/$n.log" >&2
  done
fi

[[ -s "$OUT_DIR/summary.tsv" ]] || { echo "no summary.tsv in $OUT_DIR" >&2; exit 1; }
(cd "$ROOT" && node --import tsx test/bench/report/write-report.ts "$OUT_DIR" --subject pqc --order "$TUNNELS" \
  --title "pqc vs userspace VPN tunnels, inner MTU $TUN_MTU ($(date -u +%FT%TZ))")
echo
cat "$OUT_DIR/table.md"
echo
echo "[bench.sh] results: $OUT_DIR (table.md, chart.svg, harness-table.md, summary.tsv, raw.tsv, logs/)"
exit "$rc"
