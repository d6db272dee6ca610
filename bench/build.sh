#!/usr/bin/env bash
# Build speed on the bundled example family (3 science + 2 compat builds) against the local
# Docker daemon: a full build without the engine's cache with --jobs 1 and --jobs 2, and a
# no-change rebuild (every image up to date: strata's own time plus the engine's image lookups).
#
#   bench/build.sh [RUNS]    (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
. "$(scripts/dev-env.sh up)"
cargo build --release --quiet -p strata
strata="$PWD/target/release/strata"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r examples/sciserver "$work/repo"
git -C "$work/repo" init -q && git -C "$work/repo" add -A
git -C "$work/repo" -c user.name=bench -c user.email=bench@strata.invalid commit -qm init

time_ms() { local start end; start=$(date +%s%N); "$@" >/dev/null 2>&1; end=$(date +%s%N); echo $(( (end - start) / 1000000 )); }
mean() { awk '{ total += $1 } END { printf "%.0f", total / NR }'; }

for jobs in 1 2; do
  samples=()
  for run in $(seq 1 "$runs"); do
    samples+=("$(time_ms "$strata" build --all --no-cache --jobs "$jobs" --repo "bench.invalid/j$jobs-$run-$$" "$work/repo")")
  done
  echo "full build, --no-cache, --jobs $jobs: $(printf '%s\n' "${samples[@]}" | mean) ms (runs: ${samples[*]})"
done
"$strata" build --all --repo bench.invalid/nochange-$$ "$work/repo" >/dev/null 2>&1
samples=()
for run in $(seq 1 "$runs"); do
  samples+=("$(time_ms "$strata" build --all --repo bench.invalid/nochange-$$ "$work/repo")")
done
echo "no-change rebuild: $(printf '%s\n' "${samples[@]}" | mean) ms (runs: ${samples[*]})"
