#!/usr/bin/env bash
# Pipeline generation: `strata ci` for a generated family of IMAGES images (default 200; a tree,
# each image built on the one at half its index, for two platforms), against the loopback
# registry (`--since registry`, the default: nothing is published, so every image is planned),
# for GitLab and GitHub. Needs the registry `scripts/dev-env.sh up` starts
# (STRATA_TEST_REGISTRY).
#
#   bench/ci.sh [IMAGES]
#   STRATA=path/to/strata bench/ci.sh
set -euo pipefail
cd "$(dirname "$0")/.."
images=${1:-200}
registry=${STRATA_TEST_REGISTRY:?start the services: scripts/dev-env.sh up, then . \"\$(scripts/dev-env.sh env)\"}
if [ -z "${STRATA:-}" ]; then
  cargo build --release --quiet -p strata
  STRATA="$PWD/target/release/strata"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
repo="$work/repo"
mkdir -p "$repo"
for index in $(seq 0 $((images - 1))); do
  mkdir -p "$repo/family/i$index"
  if [ "$index" -eq 0 ]; then from="busybox:latest"; else from="i$(((index - 1) / 2))"; fi
  printf 'FROM %s\nRUN echo %d\n' "$from" "$index" >"$repo/family/i$index/Dockerfile"
done
printf 'layout = "generic"\nrepo = "%s/bench-ci-%s"\nplatforms = ["linux/amd64", "linux/arm64"]\n' "$registry" "$$" >"$repo/strata.toml"
git -C "$repo" init -q
git -C "$repo" add -A
git -C "$repo" -c user.name=bench -c user.email=bench@strata.invalid commit -qm family
export STRATA_CACHE_DIR="$work/cache"
jobs=$("$STRATA" ci --format gitlab --json "$repo" 2>/dev/null | grep -c '"id"')
echo "$images images, $jobs build jobs" >&2
hyperfine --warmup 1 --runs 10 -N \
  "$STRATA ci --format gitlab -o $work/gitlab.yml $repo" \
  "$STRATA ci --format github -o $work/github.yml $repo" \
  "$STRATA plan --since registry $repo"
echo "GitLab file: $(wc -c <"$work/gitlab.yml") bytes; GitHub file: $(wc -c <"$work/github.yml") bytes"
