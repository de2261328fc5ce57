# targets.sh - the `pqc` target for harness.sh (sourced through DNSBENCH_TARGETS_FILE).
# Runs `pqc resolver start` from the throw-away build bench.sh made in $PQC_BUILD (compiled
# JS, as installed, not tsx), with its control socket in the target's own directory.
# PQC_NODE_OPTS adds node flags; PQC_PROFILE=1 writes a V8 CPU profile (.cpuprofile) into the
# target's directory when the harness stops it (SIGTERM -> graceful close -> exit).
# Contract (see harness.sh): target_<name>_start DIR ADDR PORT UPSTREAM... in the background,
# PID in DIR/pid.

target_pqc_start() {  # DIR ADDR PORT UPSTREAM...
  local dir=$1 addr=$2 port=$3; shift 3
  local ups=() u opts=()
  for u in "$@"; do ups+=(--upstream "$u"); done
  # shellcheck disable=SC2206
  [[ -n "${PQC_NODE_OPTS:-}" ]] && opts=($PQC_NODE_OPTS)
  [[ "${PQC_PROFILE:-0}" == 1 ]] && opts+=(--cpu-prof --cpu-prof-dir="$dir")
  node "${opts[@]}" "$PQC_BUILD/oclif/bin/run.js" resolver start --listen "$addr:$port" "${ups[@]}" \
    --control-socket "$dir/control.sock" >"$dir/out.log" 2>&1 &
  echo $! > "$dir/pid"
}
target_pqc_version() { echo "pqc resolver start (compiled, $(git -C "$PQC_ROOT" rev-parse --short HEAD 2>/dev/null)+worktree) on node $(node --version)"; }
