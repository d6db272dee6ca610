#!/usr/bin/env bash
# Multi-architecture builds: a two-image busybox family (a `RUN` in each) for linux/amd64 and
# linux/arm64 (arm64 under QEMU), from the multi-platform base `scripts/dev-env.sh up`
# publishes. A full two-platform build without the engine's cache with both platforms in
# parallel (--jobs 2) and one after the other (--jobs 1), the same family for one platform, and
# the index assembly's own time per tag (read from each platform's manifest, then `PUT`), from
# `build --push --json`.
#
#   bench/platforms.sh [RUNS]    (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
. "$(scripts/dev-env.sh up)"
cargo build --release --quiet -p strata
strata="$PWD/target/release/strata"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/repo/images/base" "$work/repo/images/child"
printf 'FROM %s\nARG TARGETARCH\nRUN uname -m > /arch && echo "$TARGETARCH" > /target-arch\n' \
  "$STRATA_TEST_MULTI_PLATFORM_BUSYBOX" >"$work/repo/images/base/Dockerfile"
printf 'FROM owner/base:latest\nRUN cp /arch /child-arch && ls -R /bin > /listing\n' >"$work/repo/images/child/Dockerfile"
git -C "$work/repo" init -q && git -C "$work/repo" add -A
git -C "$work/repo" -c user.name=bench -c user.email=bench@strata.invalid commit -qm init

time_ms() { local start end; start=$(date +%s%N); "$@" >/dev/null 2>&1; end=$(date +%s%N); echo $(( (end - start) / 1000000 )); }
mean() { awk '{ total += $1 } END { printf "%.0f", total / NR }'; }

both=linux/amd64,linux/arm64
for case in "2 $both" "1 $both" "2 linux/amd64" "2 linux/arm64"; do
  read -r jobs platforms <<<"$case"
  samples=()
  for run in $(seq 1 "$runs"); do
    samples+=("$(time_ms "$strata" build --all --no-cache --no-manifests --jobs "$jobs" --platform "$platforms" \
      --repo "bench.invalid/p$jobs-$run-$$" "$work/repo")")
  done
  echo "build --platform $platforms --no-cache --jobs $jobs: $(printf '%s\n' "${samples[@]}" | mean) ms (runs: ${samples[*]})"
done

# Index assembly: every platform pushed, then one index per tag (two tags per image here).
for run in $(seq 1 "$runs"); do
  "$strata" build --all --push --json --no-manifests --platform "$both" \
    --repo "$STRATA_TEST_REGISTRY/bench-platforms-$run-$$" "$work/repo" 2>/dev/null \
    | grep '"event":"finished"' \
    | python3 -c 'import json,sys; e=json.loads(sys.stdin.read()); print("index assembly per tag (ms): " + " ".join("%.1f" % (i["seconds"]*1000) for i in e["indexes"]))'
done
