#!/usr/bin/env bash
# Planning speed on a generated SciServer-layout repository shaped like sciserver-compute-images,
# grown over a history of commits: 100 images, each a chain of 20 science layers (one
# `image:version`), added one layer per image per commit (20 commits), and 10 compat layers each
# including the previous one. The last commit touches 5% of the layers (100, spread over the
# chains). Times the whole process of `strata plan` for that change, `--all`, and `--json --all`,
# and SciServer's image-builder (`--dryrun`) on the same repository side by side when
# IMAGE_BUILDER names its script (from a checkout of sciserver/sciserver-compute-images:
# `git show HEAD:image-builder > /tmp/image-builder`).
#
#   bench/plan.sh [LAYERS]     (default 2000; LAYERS a multiple of 20)
#   IMAGE_BUILDER=/tmp/image-builder bench/plan.sh
#   STRATA=path/to/strata bench/plan.sh     (a binary built otherwise; default: cargo's release)
#   BENCH_REPO=/tmp/plan-repo bench/plan.sh  (keep the generated repository)
set -euo pipefail
cd "$(dirname "$0")/.."
layers=${1:-2000}
chain=20
images=$((layers / chain))
if [ -z "${STRATA:-}" ]; then
  cargo build --release --quiet -p strata
  STRATA="$PWD/target/release/strata"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# BENCH_REPO=DIR keeps the generated repository there, for profiling.
repo=${BENCH_REPO:-$work/repo}
rm -rf "$repo"
mkdir -p "$repo"
commit() { git -C "$repo" -c user.name=bench -c user.email=bench@strata.invalid commit -qm "$1"; }

echo "generating $layers layers ($images images of $chain layers) over $chain commits in $repo" >&2
git -C "$repo" init -q
for c in $(seq 0 9); do
  mkdir -p "$repo/compat/c$c"
  if [ "$c" -gt 0 ]; then printf '{"includes": ["c%d"]}\n' $((c - 1)) >"$repo/compat/c$c/sciserver-image.json"
  else echo '{}' >"$repo/compat/c$c/sciserver-image.json"; fi
  echo "ENV C$c=1" >"$repo/compat/c$c/Dockerfile"
done
# Commit p adds layer p of every image, on top of layer p-1: each chain grows over history as
# SciServer's images do (new layers on top, versions kept).
for position in $(seq 0 $((chain - 1))); do
  for image in $(seq 0 $((images - 1))); do
    i=$((image * chain + position)); dir="$repo/science/layer-$i"
    mkdir -p "$dir"
    printf '{"image": "image-%d", "version": "1.0", "compat": "c%d"}\n' "$image" $((image % 10)) >"$dir/sciserver-image.json"
    if [ "$position" -eq 0 ]; then echo "FROM debian:bookworm" >"$dir/Dockerfile"
    else echo "FROM registry.example/sci/layer-$((i - 1)):1.0" >"$dir/Dockerfile"; fi
    echo "RUN echo $i" >>"$dir/Dockerfile"
  done
  git -C "$repo" add -A
  commit "layer $position of every image"
done
# The change: 5% of the layers (one per image), at positions spread along the chains.
touched=0
for image in $(seq 0 $((images - 1))); do
  i=$((image * chain + (image * 7919) % chain))
  echo "# changed" >>"$repo/science/layer-$i/Dockerfile"; touched=$((touched + 1))
done
git -C "$repo" add -A
commit change
echo "the change touches $touched layers in $(git -C "$repo" rev-list --count HEAD) commits" >&2

builds=$("$STRATA" plan --json "$repo" 2>/dev/null | grep -c '"kind"')
echo "strata plans $builds builds for the change" >&2
git -C "$repo" gc --quiet
# Each plan keeps the definition history of the commit it planned (in the cache directory):
# the first plan after a commit reads it from git, the next ones do not. Both are timed.
export STRATA_CACHE_DIR="$work/cache"
commands=(
  "$STRATA plan --quiet $repo"
  "$STRATA plan --quiet --all $repo"
  "$STRATA plan --quiet --json --all $repo"
)
if [ -n "${IMAGE_BUILDER:-}" ]; then
  reference=$(python3 "$IMAGE_BUILDER" --verbose --dryrun --root "$repo" --repo registry.example 2>&1 | grep 'final plan includes' || true)
  echo "image-builder: ${reference:-no plan line}" >&2
fi
if command -v hyperfine >/dev/null; then
  hyperfine --warmup 2 --runs 10 --export-markdown "$work/results.md" "${commands[@]}" >&2
  cat "$work/results.md"
  # The first plan after a commit: no history kept yet.
  hyperfine --warmup 2 --runs 10 --prepare "rm -rf $work/cache" \
    --command-name "first plan at a new commit: $STRATA plan --quiet $repo" \
    --export-markdown "$work/first.md" "$STRATA plan --quiet $repo" >&2
  tail -n 1 "$work/first.md"
  if [ -n "${IMAGE_BUILDER:-}" ]; then
    hyperfine --runs 3 --export-markdown "$work/reference.md" \
      "python3 $IMAGE_BUILDER --dryrun --root $repo --repo registry.example" >&2
    tail -n 1 "$work/reference.md"
  fi
else
  for command in "${commands[@]}"; do
    start=$(date +%s%N)
    for _ in $(seq 1 10); do $command >/dev/null; done
    end=$(date +%s%N)
    echo "$command: $(( (end - start) / 10000000 )) ms mean of 10"
  done
fi
peak=$( { /usr/bin/time -f '%M' "$STRATA" plan --quiet --all "$repo" >/dev/null; } 2>&1 | tail -1)
echo "peak memory of plan --all: ${peak} KiB"
if command -v strace >/dev/null; then
  strace -f -c -o "$work/strace" "$STRATA" plan --quiet "$repo" >/dev/null 2>&1 || true
  echo "system calls of the change's plan (strace -c -f): $(awk '/total/ {print $4}' "$work/strace") calls; openat $(awk '$NF == "openat" {print $4}' "$work/strace"), mmap $(awk '$NF == "mmap" {print $4}' "$work/strace")"
fi
