#!/usr/bin/env bash
# Pipeline generation: `strata ci` for a generated family of IMAGES images (default 200; a tree,
# each image built on the one at half its index, for two platforms), against the loopback
# registry (`--since registry`, the default: nothing is published, so every image is planned),
# for GitLab and GitHub. Needs the registry `scripts/dev-env.sh up` starts
# (STRATA_TEST_REGISTRY).
#
#   bench/ci.sh [IMAGES]
#   STRATA=path/to/strata bench/ci.sh
images=${1:-200}
. "$(dirname "$0")/lib.sh"
for index in $(seq 0 $((images - 1))); do
  mkdir -p "$repo/family/i$index"
  if [ "$index" -eq 0 ]; then from="busybox:latest"; else from="i$(((index - 1) / 2))"; fi
  printf 'FROM %s\nRUN echo %d\n' "$from" "$index" >"$repo/family/i$index/Dockerfile"
done
printf 'layout = "generic"\nrepo = "%s/bench-ci-%s"\nplatforms = ["linux/amd64", "linux/arm64"]\n' "$registry" "$$" >"$repo/strata.toml"
commit family
jobs=$("$STRATA" ci --format gitlab --json "$repo" 2>/dev/null | grep -c '"id"')
echo "$images images, $jobs build jobs" >&2
hyperfine --warmup 1 --runs 10 -N \
  "$STRATA ci --format gitlab -o $work/gitlab.yml $repo" \
  "$STRATA ci --format github -o $work/github.yml $repo" \
  "$STRATA plan --since registry $repo"
echo "GitLab file: $(wc -c <"$work/gitlab.yml") bytes; GitHub file: $(wc -c <"$work/github.yml") bytes"
