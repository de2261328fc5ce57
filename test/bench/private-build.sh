# Sourced by test/bench/*/bench.sh: compile the repository into a private directory, so that
# dist/ (which others may be rebuilding) is untouched. tsc emits even when some unrelated file has
# type errors; each caller checks for the compiled file it needs. The native addon is copied.
#   pqc_private_build ROOT BUILD
pqc_private_build() {
  local root=$1 build=$2
  echo "[bench] compiling into $build" >&2
  rm -rf "$build"; mkdir -p "$build/oclif/bin"
  "$root/node_modules/.bin/tsc" -p "$root" --outDir "$build/dist" >"$build/tsc.log" 2>&1 || true
  cp "$root/package.json" "$build/"
  cp "$root/oclif/bin/run.js" "$build/oclif/bin/"
  ln -s "$root/node_modules" "$build/node_modules"
  if [[ -d "$root/build" ]]; then cp -r "$root/build" "$build/build"; fi
}
