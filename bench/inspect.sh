#!/usr/bin/env bash
# Inspect speed on the Python test image (test/repos/inspect: python-venv, Debian + a venv):
# strata inspect with the per-layer cache warm and cold, against what docker-stacks does: start
# one container that runs all the equivalent commands (python3 --version, pip list, dpkg-query,
# os-release).
#
#   bench/inspect.sh [RUNS]    (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
. "$(scripts/dev-env.sh up)"
cargo build --release --quiet -p strata
strata="$PWD/target/release/strata"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r test/repos/inspect "$work/repo"
git -C "$work/repo" init -q && git -C "$work/repo" add -A
git -C "$work/repo" -c user.name=bench -c user.email=bench@strata.invalid commit -qm init
image="$STRATA_TEST_REGISTRY/inspect-bench/python-venv:latest"
"$strata" build --all --quiet --repo "$STRATA_TEST_REGISTRY/inspect-bench" --network host --no-manifests "$work/repo" >/dev/null
commands='python3 --version; pip list --format json; dpkg-query -W; cat /etc/os-release'
export STRATA_CACHE_DIR="$work/cache"
"$strata" inspect --json "$image" >/dev/null
# One --prepare per command, in order: only the cold runs clear the cache.
hyperfine --warmup 1 --runs "$runs" --export-markdown "$work/results.md" \
  --prepare "true" -n "strata inspect (warm cache)" "$strata inspect --json $image" \
  --prepare "rm -rf $work/cache" -n "strata inspect (cold cache)" "$strata inspect --json $image" \
  --prepare "true" -n "docker run (all commands)" "docker run --rm --network none $image sh -c '$commands'" >&2
cat "$work/results.md"
