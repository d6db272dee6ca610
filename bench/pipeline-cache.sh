#!/usr/bin/env bash
# A pipeline's job on a fresh runner: the image's last published build as BuildKit's cache
# (`cachefrom`, inline cache metadata) against a build without it, on the Docker daemon
# `scripts/dev-env.sh up` starts. One image whose slow step (`RUN sleep SECONDS`, default 20)
# is unchanged and whose last step changed since the release; "fresh runner" = no local image
# of the family and an empty build cache (`docker builder prune -af`: this prunes the daemon's
# whole build cache, so run it on the dev daemon only).
#
#   bench/pipeline-cache.sh [SECONDS]
#   STRATA=path/to/strata bench/pipeline-cache.sh
seconds=${1:-20}
. "$(dirname "$0")/lib.sh"
base=${STRATA_TEST_BASE_BUSYBOX:?set by scripts/dev-env.sh env}
mkdir -p "$repo/family/slow"
namespace="$registry/bench-cache-$$"
printf 'FROM %s\nRUN sleep %s && echo slow > /slow\nCOPY later /later\n' "$base" "$seconds" >"$repo/family/slow/Dockerfile"
echo one >"$repo/family/slow/later"
printf 'layout = "generic"\nrepo = "%s"\n' "$namespace" >"$repo/strata.toml"
commit one
fresh_runner() {
  docker images --format '{{.Repository}}:{{.Tag}}' | grep "^$namespace/" | xargs -r docker rmi -f >/dev/null 2>&1 || true
  docker builder prune -af >/dev/null 2>&1
  rm -rf "$STRATA_CACHE_DIR"
}
# The release the next pipeline starts from.
"$STRATA" build --all --pipeline first --only family/slow "$repo" >/dev/null 2>&1
"$STRATA" release --all --pipeline first "$repo" >/dev/null 2>&1
echo two >"$repo/family/slow/later"
commit two
fresh_runner
with_cache=$(seconds_of "$STRATA" build --all --pipeline second --only family/slow "$repo")
fresh_runner
without=$(seconds_of "$STRATA" build --all --push "$repo")
echo "fresh runner, unchanged ${seconds}s step: pipeline job with the published image as cache ${with_cache} s; plain build (no cache) ${without} s"
