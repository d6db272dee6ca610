#!/usr/bin/env bash
# The overhead of `strata build --reproducible` against a plain build and push, in one run:
# the bundled example family (5 builds) and a 1 GB image (256 MiB of random bytes and 768 MiB
# of compressible text, one layer), both `--no-cache --push` to the local registry. The
# reproducible build reads each new layer from the engine's overlay2 directory, normalises and
# gzips it, loads the result back into the engine (without the layers it has) and pushes with
# strata's registry client; the plain one lets the engine push. The first reproducible run
# starts with an empty store and pays once for the base's layers (exported and gzipped); the
# later runs are what a user meets on every build after that, and are reported apart.
#
#   bench/reproducible.sh [RUNS]    (default 4 for the family, 1 for the large image)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-4}
. "$(scripts/dev-env.sh up)"
cargo build --release --quiet -p strata
strata="$PWD/target/release/strata"
work=$(mktemp -d)
export STRATA_CACHE_DIR="$work/cache"
trap 'rm -rf "$work"' EXIT
commit() { git -C "$1" init -q && git -C "$1" add -A && git -C "$1" -c user.name=bench -c user.email=bench@strata.invalid commit -qm init; }
cp -r examples/sciserver "$work/family" && commit "$work/family"
mkdir -p "$work/large/images/large"
cat > "$work/large/images/large/Dockerfile" <<'DOCKERFILE'
FROM strata-base/busybox:latest
RUN head -c 268435456 /dev/urandom > /random && seq 1 200000000 | head -c 805306368 > /text
DOCKERFILE
commit "$work/large"

time_ms() { local start end; start=$(date +%s%N); "$@" >/dev/null 2>&1; end=$(date +%s%N); echo $(( (end - start) / 1000000 )); }
mean() { awk '{ total += $1 } END { printf "%.0f", total / NR }'; }
measure() { # name repo-dir runs flags...
  local name=$1 dir=$2 count=$3; shift 3
  local plain=() reproducible=()
  for run in $(seq 1 "$count"); do
    plain+=("$(time_ms "$strata" build --all --no-cache --push --network host --no-manifests --repo "$STRATA_TEST_REGISTRY/bench-plain-$name-$run-$$" "$dir")")
    reproducible+=("$(time_ms "$strata" build --all --no-cache --push --network host --no-manifests --reproducible --repo "$STRATA_TEST_REGISTRY/bench-repro-$name-$run-$$" "$dir")")
  done
  local p r
  p=$(printf '%s\n' "${plain[@]}" | mean); r=$(printf '%s\n' "${reproducible[@]}" | mean)
  echo "$name: plain build + push $p ms (runs: ${plain[*]}); --reproducible $r ms (runs: ${reproducible[*]}); overhead $(( (r - p) * 100 / p )) %"
  if [ "$count" -gt 1 ]; then
    p=$(printf '%s\n' "${plain[@]:1}" | mean); r=$(printf '%s\n' "${reproducible[@]:1}" | mean)
    echo "$name, the store warm (runs 2-$count): plain $p ms, --reproducible $r ms, overhead $(( (r - p) * 100 / p )) %"
  fi
}
measure family "$work/family" "$runs"
measure large "$work/large" 1
echo "the large image's normalised blob: $(du -sh "$STRATA_CACHE_DIR/reproducible/blobs" | cut -f1) in the store"
