#!/usr/bin/env bash
# Inspect speed against what docker-stacks does (start one container that runs all the
# equivalent commands: python3 --version, pip list, dpkg-query, os-release), side by side:
#   1. the Python test image (test/repos/inspect: python-venv, Debian + a venv, ~190 MB);
#   2. a ~400 MB scientific image (Debian, python3 and pip from apt, numpy, scipy, pandas and
#      matplotlib from PyPI) and a child of it that adds one package;
# each with the per-layer cache cold (first inspection) and warm.
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
mkdir -p "$work/repo/images/science" "$work/repo/images/science-child"
# The wheels come from a strata lock fetched on the host (HTTPS from a container here would need
# the host's CA bundle), installed offline with hashes, as the lock section of the README shows.
printf 'numpy\nscipy\npandas\nmatplotlib\n' >"$work/repo/images/science/requirements.txt"
"$strata" lock --quiet "$work/repo/images/science/requirements.txt" --python-version 3.11.2 --platform manylinux_2_36_x86_64
"$strata" lock fetch --quiet "$work/repo/images/science/requirements.lock" "$work/repo/images/science/wheels" >/dev/null
cat >"$work/repo/images/science/Dockerfile" <<'DOCKERFILE'
FROM strata-base/debian:bookworm
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-pip \
 && rm -rf /var/lib/apt/lists/*
COPY wheels /wheels
COPY requirements.lock /tmp/requirements.lock
RUN pip install --no-cache-dir --break-system-packages --no-index --find-links /wheels --no-deps \
    --require-hashes --only-binary :all: -r /tmp/requirements.lock && rm -rf /wheels
DOCKERFILE
mkdir -p "$work/repo/images/science-child/wheels"
cp "$work/repo/images/science/wheels"/six-* "$work/repo/images/science-child/wheels/" 2>/dev/null || true
printf 'FROM %s/inspect-bench/science:latest\nRUN echo child > /child && rm -rf /usr/local/lib/python3.11/dist-packages/six*\n' \
  "$STRATA_TEST_REGISTRY" >"$work/repo/images/science-child/Dockerfile"
git -C "$work/repo" init -q && git -C "$work/repo" add -A
git -C "$work/repo" -c user.name=bench -c user.email=bench@strata.invalid commit -qm init
"$strata" build --all --quiet --repo "$STRATA_TEST_REGISTRY/inspect-bench" --network host --no-manifests "$work/repo" >/dev/null
commands='python3 --version; pip list --format json; dpkg-query -W; cat /etc/os-release'
export STRATA_CACHE_DIR="$work/cache"
for name in python-venv science; do
  image="$STRATA_TEST_REGISTRY/inspect-bench/$name:latest"
  echo "== $image: $(docker image inspect "$image" --format '{{.Size}}' | awk '{ printf "%.0f MB", $1 / 1e6 }')" >&2
  "$strata" inspect --json "$image" >/dev/null
  # One --prepare per command, in order: only the cold runs clear the cache.
  hyperfine --warmup 1 --runs "$runs" --export-markdown "$work/$name.md" \
    --prepare "true" -n "strata inspect (warm cache)" "$strata inspect --json $image" \
    --prepare "rm -rf $work/cache" -n "strata inspect (cold cache)" "$strata inspect --json $image" \
    --prepare "true" -n "docker run (all commands)" "docker run --rm --network none $image sh -c '$commands'" >&2
  cat "$work/$name.md"
done
child="$STRATA_TEST_REGISTRY/inspect-bench/science-child:latest"
parent="$STRATA_TEST_REGISTRY/inspect-bench/science:latest"
echo "== $child: the parent's layers cached, the child's new" >&2
hyperfine --runs "$runs" --export-markdown "$work/child.md" \
  --prepare "rm -rf $work/cache && $strata inspect --json $parent >/dev/null" -n "strata inspect (child, parent cached)" "$strata inspect --json $child" >&2
cat "$work/child.md"
