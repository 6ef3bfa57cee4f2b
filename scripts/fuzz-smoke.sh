#!/usr/bin/env bash
# Builds every fuzz target and runs each for a short time (default 60 s).
# Long campaigns: see docs/fuzzing.md.
#
# cargo-fuzz needs nightly compiler flags. With a nightly toolchain
# installed it is used; otherwise the stable compiler is told to accept
# them (RUSTC_BOOTSTRAP=1), which works for libFuzzer builds.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}

if cargo +nightly --version >/dev/null 2>&1; then
  toolchain=(+nightly)
else
  toolchain=()
  export RUSTC_BOOTSTRAP=1
  echo "no nightly toolchain: building the fuzz targets with stable and RUSTC_BOOTSTRAP=1" >&2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

cargo run -q -p redarc --example fuzz_seeds -- fuzz/corpus >/dev/null
targets=$(cargo "${toolchain[@]}" fuzz list --fuzz-dir fuzz)
cargo "${toolchain[@]}" fuzz build -O --fuzz-dir fuzz
for t in $targets; do
  log=$(mktemp)
  if ! cargo "${toolchain[@]}" fuzz run -O --fuzz-dir fuzz "$t" -- -max_total_time="$seconds" >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz target $t failed" >&2
    exit 1
  fi
  echo "fuzz $t: $(grep -E '^Done [0-9]+ runs' "$log" | tail -1)"
  rm -f "$log"
done

# The corpus minimisation docs/fuzzing.md shows after a long campaign, kept
# working: tar's corpus from this run, merged down to what adds coverage.
log=$(mktemp)
if ! cargo "${toolchain[@]}" fuzz cmin -O --fuzz-dir fuzz tar >"$log" 2>&1; then
  tail -n 40 "$log"
  echo "fuzz cmin tar failed" >&2
  exit 1
fi
echo "fuzz cmin tar: $(ls fuzz/corpus/tar | wc -l) inputs kept"
rm -f "$log"
