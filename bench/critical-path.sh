#!/usr/bin/env bash
# The critical path of a generated pipeline (its longest chain of jobs, what a CI with a runner
# per job waits for) against one `strata build --push` of the same family on this machine.
# The family: seven images in three levels (base; a, b, c on it; a1, a2 on a; b1 on b), each
# step CPU-bound (`head -c SIZE /dev/zero | sha256sum`, SIZE bytes, default 800000000: about 4.5 s
# here). Jobs run one after another on the Docker daemon `scripts/dev-env.sh up` starts, each
# timed as a runner of its own would run it (plan, parent pulled by digest, build, push to
# staging); the critical path is the longest chain of job times plus the release. Each side
# builds its own copy of the family (another token in every step), so neither finds the other's
# layers in the build cache.
#
#   bench/critical-path.sh [SIZE-IN-BYTES]
#   STRATA=path/to/strata bench/critical-path.sh
size=${1:-800000000}
. "$(dirname "$0")/lib.sh"
base=${STRATA_TEST_BASE_BUSYBOX:?set by scripts/dev-env.sh env}
parents="base: a:base b:base c:base a1:a a2:a b1:b"
family() { # family DIRECTORY TOKEN NAMESPACE
  for pair in $parents; do
    name=${pair%%:*} parent=${pair#*:}
    mkdir -p "$1/family/$name"
    from=${parent:-$base}
    printf 'FROM %s\nRUN echo %s-%s && head -c %s /dev/zero | sha256sum > /%s\n' \
      "$from" "$2" "$name" "$size" "$name" >"$1/family/$name/Dockerfile"
  done
  printf 'layout = "generic"\nrepo = "%s"\n' "$3" >"$1/strata.toml"
}
token=$$-$(date +%s)
family "$repo" "pipeline-$token" "$registry/bench-critical-pipeline-$$"
commit family
single="$work/single"
mkdir -p "$single"
family "$single" "single-$token" "$registry/bench-critical-single-$$"
git -C "$single" init -q && git -C "$single" add -A &&
  git -C "$single" -c user.name=bench -c user.email=bench@strata.invalid commit -qm family

# The pipeline, job by job in `needs` order (the order `strata plan` lists them).
declare -A took
for pair in $parents; do
  name=${pair%%:*}
  took[$name]=$(seconds_of "$STRATA" build --all --pipeline bench --only "family/$name" "$repo")
done
release=$(seconds_of "$STRATA" release --all --pipeline bench "$repo")
one=$(seconds_of "$STRATA" build --all --push "$single")

python3 - "$release" "$one" "$parents" "$(for name in "${!took[@]}"; do echo "$name=${took[$name]}"; done)" <<'PY'
import sys
release, one = float(sys.argv[1]), float(sys.argv[2])
parent = dict(pair.split(":") for pair in sys.argv[3].split())
took = {line.split("=")[0]: float(line.split("=")[1]) for line in sys.argv[4].split()}
def chain(name):
    return took[name] + (chain(parent[name]) if parent[name] else 0)
last = max(took, key=chain)
path, name = [], last
while name:
    path.append(name); name = parent[name]
critical = chain(last) + release
print("jobs: " + ", ".join(f"{name} {took[name]:.2f} s" for name in parent) + f"; release {release:.2f} s")
print(f"critical path ({' -> '.join(reversed(path))} -> release): {critical:.2f} s")
print(f"runner time (every job, one after another): {sum(took.values()) + release:.2f} s")
print(f"one strata build --push of the same family on this machine: {one:.2f} s")
PY
