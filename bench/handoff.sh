#!/usr/bin/env bash
# Handing a parent image from one CI job to the next: strata's way (the parent's job pushed it;
# the child's job pulls it by digest from the registry) against docker-stacks' (the parent's job
# runs `docker save | zstd` and uploads the file as an artifact; the child's job downloads it and
# runs `zstd -d | docker load`). A ~200 MB parent (MEGABYTES, default 200: half random bytes,
# half text), on the Docker daemon and loopback registry `scripts/dev-env.sh up` starts. The
# artifact upload and download are not counted (a local file stands for them): docker-stacks'
# side is measured at its fastest.
#
#   bench/handoff.sh [MEGABYTES]
set -euo pipefail
cd "$(dirname "$0")/.."
megabytes=${1:-200}
registry=${STRATA_TEST_REGISTRY:?start the services: scripts/dev-env.sh up, then . \"\$(scripts/dev-env.sh env)\"}
base=${STRATA_TEST_BASE_BUSYBOX:?set by scripts/dev-env.sh env}
command -v zstd >/dev/null || { echo "bench/handoff.sh needs zstd (apt-get install zstd)" >&2; exit 2; }
work=$(mktemp -d)
image="$registry/bench-handoff-$$/parent:latest"
trap 'rm -rf "$work"; docker rmi -f "$image" >/dev/null 2>&1 || true' EXIT
half=$((megabytes * 1000000 / 2))
mkdir -p "$work/context"
printf 'FROM %s\nRUN head -c %d /dev/urandom > /random && seq 1 100000000 | head -c %d > /text\n' "$base" "$half" "$half" >"$work/context/Dockerfile"
DOCKER_BUILDKIT=0 docker build -q -t "$image" "$work/context" >/dev/null 2>&1 || docker build -q -t "$image" "$work/context" >/dev/null
now() { date +%s%N; }
seconds() { python3 -c "print(round(($2 - $1) / 1e9, 2))"; }
start=$(now); docker push -q "$image" >/dev/null; end=$(now)
push=$(seconds "$start" "$end")
digest=$(docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$image" | grep "bench-handoff-$$" | head -1)
size=$(docker image inspect --format '{{.Size}}' "$image")
forget() { docker rmi -f "$image" "$digest" >/dev/null 2>&1 || true; }

# strata: pull by digest.
forget
start=$(now); docker pull -q "$digest" >/dev/null; end=$(now)
pull=$(seconds "$start" "$end")
sent=$(curl -s -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
  "http://$registry/v2/bench-handoff-$$/parent/manifests/latest" |
  python3 -c 'import json,sys; m=json.load(sys.stdin); print(sum(l["size"] for l in m["layers"]) + m["config"]["size"])')

# docker-stacks: save | zstd, then zstd -d | load.
docker tag "$digest" "$image" 2>/dev/null || true
start=$(now); docker save "$image" | zstd -q -T0 -o "$work/parent.tar.zst"; end=$(now)
save=$(seconds "$start" "$end")
artifact=$(stat -c %s "$work/parent.tar.zst")
forget
start=$(now); zstd -q -d -c "$work/parent.tar.zst" | docker load -q >/dev/null; end=$(now)
load=$(seconds "$start" "$end")

echo "parent: $((size / 1000000)) MB uncompressed"
echo "strata (the parent's job pushes, the child's pulls by digest): push ${push} s + pull ${pull} s, $((sent / 1000000)) MB each way (gzip layers, the base's included)"
echo "docker-stacks (docker save | zstd; zstd -d | docker load): save ${save} s + load ${load} s, artifact $((artifact / 1000000)) MB (upload and download not counted)"
