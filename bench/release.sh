#!/usr/bin/env bash
# The release commands against the loopback registry:
#   1. promote a ~216 MB image to a new tag, and to another repository, with `strata promote`,
#      against `docker pull` + `docker tag` + `docker push` of the same image (local copy removed
#      first), with the layer bytes each moved;
#   2. `strata plan --since registry` on the bundled example and on a generated repository of
#      200 images (20 chains of 10), everything published and up to date, and everything
#      unpublished.
#
#   bench/release.sh [RUNS]    (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
. "$(scripts/dev-env.sh up)"
cargo build --release --quiet -p strata
strata="$PWD/target/release/strata"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
registry=$STRATA_TEST_REGISTRY
ns="$registry/bench-release-$$"
log="$STRATA_DEV_LOGS/registry.log"
commit() { git -C "$1" -c user.name=bench -c user.email=bench@strata.invalid "${@:2}"; }
ms() { local start end; start=$(date +%s%N); "$@" >/dev/null 2>&1; end=$(date +%s%N); echo $(( (end - start) / 1000000 )); }
mean() { awk '{ total += $1 } END { printf "%.0f", total / NR }'; }
uploaded() { grep -c "\"\\(PATCH\\|PUT\\) /v2/${1#*/}/blobs/uploads/" "$log" || true; }

echo "== a ~216 MB image: Debian minbase and 100 MB of random bytes" >&2
mkdir -p "$work/big/images/big"
printf 'FROM strata-base/debian:bookworm\nRUN head -c 100000000 /dev/urandom > /blob\n' >"$work/big/images/big/Dockerfile"
printf 'repo = "%s"\n' "$ns" >"$work/big/strata.toml"
commit "$work/big" init -q; commit "$work/big" add -A; commit "$work/big" commit -qm big
"$strata" build --all --push --no-manifests --no-cache "$work/big" >/dev/null 2>&1
source="$ns/big:latest"
size=$(docker image inspect "$source" --format '{{.Size}}')
echo "image: $source ($((size / 1000000)) MB uncompressed)"

samples=(); for run in $(seq 1 "$runs"); do samples+=("$(ms "$strata" promote "$source" "tag-$run" --no-manifests)"); done
echo "strata promote, new tag, same repository: $(printf '%s\n' "${samples[@]}" | mean) ms (runs: ${samples[*]})"
samples=(); for run in $(seq 1 "$runs"); do samples+=("$(ms "$strata" promote "$source" "$ns/other-$run/big:1" --no-manifests)"); done
echo "strata promote, another repository: $(printf '%s\n' "${samples[@]}" | mean) ms (runs: ${samples[*]})"
bytes=$("$strata" promote "$source" "$ns/other-json/big:1" --no-manifests --json 2>/dev/null | awk -F': ' '/bytes_copied/ { gsub(",", "", $2); print $2 }')
echo "layer bytes sent by strata for another repository: $bytes; blob uploads the registry logged there: $(uploaded "$ns/other-json/big")"

samples=()
for run in $(seq 1 "$runs"); do
  # Remove the image under every tag, so the pull really downloads its layers.
  id=$(docker image inspect "$source" --format '{{.Id}}' 2>/dev/null || true)
  [ -n "$id" ] && docker image rm -f "$id" >/dev/null 2>&1 || true
  # BuildKit's cache keeps the built layers alive; drop it so the pull downloads them.
  docker builder prune -af >/dev/null 2>&1 || true
  samples+=("$(ms sh -c "docker pull -q '$source' && docker tag '$source' '$ns/docker-$run/big:1' && docker push -q '$ns/docker-$run/big:1'")")
done
echo "docker pull + tag + push, another repository: $(printf '%s\n' "${samples[@]}" | mean) ms (runs: ${samples[*]})"
path=${source#*/}
compressed=$(curl -fsS -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "http://$registry/v2/${path%:latest}/manifests/latest" \
  | python3 -c 'import json,sys; print(sum(layer["size"] for layer in json.load(sys.stdin)["layers"]))')
echo "layer bytes docker pulls: $compressed (compressed); blob uploads the registry logged for docker's push: $(uploaded "$ns/docker-1/big")"

echo "== promote SOURCE TAG from where it is run: an empty directory, and this checkout (target/ and all)" >&2
mkdir -p "$work/empty"
for where in "$work/empty" "$PWD"; do
  samples=(); for run in $(seq 1 "$runs"); do samples+=("$(cd "$where" && ms "$strata" promote "$source" "from-dir-$run")"); done
  listings=$(cd "$where" && strace -f -c -e trace=getdents64 "$strata" promote "$source" from-dir-strace 2>&1 >/dev/null | awk '$NF == "getdents64" {print $4}')
  echo "strata promote run from $where: $(printf '%s\n' "${samples[@]}" | mean) ms (runs: ${samples[*]}); directory listings: ${listings:-0}"
done

echo "== plan --since registry: the example family" >&2
cp -r examples/sciserver "$work/example"
commit "$work/example" init -q; commit "$work/example" add -A; commit "$work/example" commit -qm init
"$strata" build --all --push --no-manifests --network host --repo "$ns/example" "$work/example" >/dev/null 2>&1
hyperfine --warmup 1 --runs 10 --export-markdown "$work/example.md" \
  "$strata plan --quiet --since registry --repo $ns/example $work/example" >&2
cat "$work/example.md"

echo "== plan --since registry: 200 generated images" >&2
generated="$work/generated"
for i in $(seq 0 199); do
  mkdir -p "$generated/images/image-$i"
  if [ $((i % 10)) -eq 0 ]; then from="strata-base/busybox:latest"; else from="$ns/generated/image-$((i - 1)):latest"; fi
  printf 'FROM %s\nLABEL image=%d\n' "$from" "$i" >"$generated/images/image-$i/Dockerfile"
done
printf 'repo = "%s/generated"\n' "$ns" >"$generated/strata.toml"
commit "$generated" init -q; commit "$generated" add -A; commit "$generated" commit -qm init
hyperfine --warmup 1 --runs 5 --export-markdown "$work/unpublished.md" \
  "$strata plan --quiet --since registry $generated" >&2
echo "(every image unpublished)"; cat "$work/unpublished.md"
start=$(date +%s)
"$strata" build --all --push --no-manifests --jobs 2 "$generated" >/dev/null 2>&1
echo "(building and pushing the 200 images took $(( $(date +%s) - start )) s)"
hyperfine --warmup 1 --runs 10 --export-markdown "$work/published.md" \
  "$strata plan --quiet --since registry $generated" >&2
echo "(every image published and up to date)"; cat "$work/published.md"
