#!/usr/bin/env bash
# Signing and verifying a family (issue 30's targets: under 50 ms of signing per pushed
# manifest; `strata verify` of a 40-image family under 1 s), on the Docker daemon and the
# loopback registry `scripts/dev-env.sh up` starts. A generated family of IMAGES tiny busybox
# images (default 40) is built and pushed once; then, side by side, `strata build --all --push`
# (everything up to date: each image's tags pushed again) with and without `--sign` (a new
# key each run, so each run signs every manifest), and `strata verify` of every image.
#
#   bench/sign.sh [IMAGES]
#   STRATA=path/to/strata bench/sign.sh
images=${1:-40}
. "$(dirname "$0")/lib.sh"
base=${STRATA_TEST_BASE_BUSYBOX:?set by scripts/dev-env.sh env}
namespace="$registry/bench-sign-$$"
for index in $(seq 1 "$images"); do
  mkdir -p "$repo/family/i$index"
  printf 'FROM %s\nRUN echo %d > /i\n' "$base" "$index" >"$repo/family/i$index/Dockerfile"
done
printf 'layout = "generic"\nrepo = "%s"\n' "$namespace" >"$repo/strata.toml"
commit family
export STRATA_SIGN_PASSWORD=bench
"$STRATA" build --all --push --no-manifests "$repo" >/dev/null 2>&1
runs=3
plain=() signed=()
for run in $(seq 1 $runs); do
  plain+=("$(seconds_of "$STRATA" build --all --push --no-manifests "$repo")")
  "$STRATA" key generate -o "$work/key$run" >/dev/null 2>&1
  signed+=("$(seconds_of "$STRATA" build --all --push --no-manifests --sign "$work/key$run.key" "$repo")")
done
references=()
for index in $(seq 1 "$images"); do references+=("$namespace/i$index:latest"); done
hyperfine --warmup 1 --runs 10 -N "$STRATA verify ${references[*]} --key $work/key$runs.pub" 2>&1 | grep -E "Time|Range"
python3 - "$images" "${plain[*]}" "${signed[*]}" <<'PY'
import statistics, sys
images = int(sys.argv[1])
plain = [float(x) for x in sys.argv[2].split()]
signed = [float(x) for x in sys.argv[3].split()]
print(f"build --push of {images} up-to-date images: plain {statistics.median(plain):.2f} s, with --sign {statistics.median(signed):.2f} s (medians of {len(plain)})")
overhead = (statistics.median(signed) - statistics.median(plain)) / images * 1000
print(f"signing overhead per pushed manifest: {overhead:.1f} ms (key opening included once per run)")
PY
