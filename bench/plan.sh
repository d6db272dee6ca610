#!/usr/bin/env bash
# Planning speed on a generated SciServer-layout repository of 2,000 science layers (100 images,
# each a chain of 20 layers) and 10 compat layers with includes. Times `strata plan` for a change
# in 50 layers and one compat layer, `--all`, and `--json --all`, with hyperfine when available.
#
#   bench/plan.sh [LAYERS]     (default 2000)
set -euo pipefail
cd "$(dirname "$0")/.."
layers=${1:-2000}
chain=20
cargo build --release --quiet -p strata
strata="$PWD/target/release/strata"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
repo="$work/repo"
mkdir -p "$repo"

echo "generating $layers layers in $repo" >&2
for c in $(seq 0 9); do
  mkdir -p "$repo/compat/c$c"
  if [ "$c" -gt 0 ]; then printf '{"includes": ["c%d"]}\n' $((c - 1)) >"$repo/compat/c$c/sciserver-image.json"
  else echo '{}' >"$repo/compat/c$c/sciserver-image.json"; fi
  echo "ENV C$c=1" >"$repo/compat/c$c/Dockerfile"
done
for i in $(seq 0 $((layers - 1))); do
  image=$((i / chain)); position=$((i % chain)); dir="$repo/science/layer-$i"
  mkdir -p "$dir"
  printf '{"image": "image-%d", "version": "1.0", "compat": "c%d"}\n' "$image" $((image % 10)) >"$dir/sciserver-image.json"
  if [ "$position" -eq 0 ]; then echo "FROM debian:bookworm" >"$dir/Dockerfile"
  else echo "FROM registry.example/sci/layer-$((i - 1)):1.0" >"$dir/Dockerfile"; fi
  echo "RUN echo $i" >>"$dir/Dockerfile"
done
git -C "$repo" init -q
git -C "$repo" add -A
git -C "$repo" -c user.name=bench -c user.email=bench@strata.invalid commit -qm init
for i in $(seq 0 40 $((layers - 1))); do echo "# changed" >>"$repo/science/layer-$i/Dockerfile"; done
echo "# changed" >>"$repo/compat/c3/Dockerfile"
git -C "$repo" -c user.name=bench -c user.email=bench@strata.invalid commit -qam change

builds=$("$strata" plan --json "$repo" 2>/dev/null | grep -c '"kind"')
echo "the change plans $builds builds" >&2
if command -v hyperfine >/dev/null; then
  hyperfine --warmup 2 --runs 10 --export-markdown "$work/results.md" \
    "$strata plan --quiet $repo" \
    "$strata plan --quiet --all $repo" \
    "$strata plan --quiet --json --all $repo" >&2
  cat "$work/results.md"
else
  for arguments in "" "--all" "--json --all"; do
    start=$(date +%s%N)
    for _ in $(seq 1 10); do "$strata" plan --quiet $arguments "$repo" >/dev/null; done
    end=$(date +%s%N)
    echo "strata plan $arguments: $(( (end - start) / 10000000 )) ms mean of 10"
  done
fi
peak=$( { /usr/bin/time -f '%M' "$strata" plan --quiet --all "$repo" >/dev/null; } 2>&1 | tail -1)
echo "peak memory of plan --all: ${peak} KiB"
