#!/usr/bin/env bash
# Locking speed and correctness against uv and pip-compile (both installed from PyPI here), for
# five requirement sets, all for CPython 3.11 on manylinux_2_28_x86_64 with hashes:
#   1. requests   2. astropy   3. the scientific stack   4. a course-style ML set
#   5. a SciServer-style data-science image (100+ packages)
# For each: strata's lock and `uv pip compile --generate-hashes` must pin the same packages at the
# same versions with the same hashes (checked, the script fails otherwise); then, side by side:
#   cold — empty cache, no lock file: a first lock;
#   warm — the lock present, caches full, nothing changed: what CI and a second run meet;
# and one cold pip-compile run.
#
#   bench/lock.sh [RUNS]    (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
cargo build --release --quiet -p strata
strata="$PWD/target/release/strata"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/tools"
"$work/tools/bin/pip" install --quiet uv pip-tools
uv="$work/tools/bin/uv"
pip_compile="$work/tools/bin/pip-compile"
echo "tools: $("$uv" --version), pip-compile $("$pip_compile" --version | awk '{print $3}')" >&2

sets=(
  "requests"
  "astropy"
  "numpy scipy pandas matplotlib scikit-learn jupyterlab ipywidgets"
  "torch jax uproot awkward scikit-learn seaborn"
  "jupyterlab pandas scikit-learn matplotlib seaborn statsmodels sympy numba dask bokeh plotly xarray netcdf4 astropy h5py"
)
compare() {
  python3 - "$1" "$2" <<'PY'
import re, sys
def pins(path):
    found, current = {}, None
    for line in open(path):
        match = re.match(r"^([A-Za-z0-9_.\-\[\],]+)==(\S+)", line)
        if match:
            current = re.sub(r"\[.*\]", "", match.group(1)).lower()
            found[current] = [match.group(2), set()]
        for digest in re.findall(r"--hash=(sha256:[0-9a-f]+)", line):
            found[current][1].add(digest)
    return found
strata, uv = pins(sys.argv[1]), pins(sys.argv[2])
problems = sorted(set(strata) ^ set(uv)) + [f"{name}: {strata[name][0]} vs {uv[name][0]}" for name in strata if name in uv and strata[name][0] != uv[name][0]] + [f"{name}: hashes" for name in strata if name in uv and strata[name][1] != uv[name][1]]
print(f"{len(strata)} packages, {sum(len(v[1]) for v in strata.values())} hashes: " + ("identical to uv" if not problems else f"DIFFERENT: {problems}"))
sys.exit(1 if problems else 0)
PY
}

echo "| set | packages | strata cold | uv cold | strata warm | uv warm | pip-compile cold |"
echo "|---|---:|---:|---:|---:|---:|---:|"
index=0
for requirement_set in "${sets[@]}"; do
  index=$((index + 1))
  directory="$work/set$index"
  mkdir -p "$directory"
  echo "$requirement_set" | tr ' ' '\n' >"$directory/requirements.txt"
  strata_cache="$work/strata-cache-$index"
  uv_cache="$work/uv-cache-$index"
  lock_strata="STRATA_CACHE_DIR=$strata_cache $strata lock $directory/requirements.txt -o $directory/strata.lock --python-version 3.11 --platform manylinux_2_28_x86_64 --quiet"
  lock_uv="$uv pip compile --generate-hashes --python-version 3.11 --python-platform x86_64-manylinux_2_28 --cache-dir $uv_cache -q $directory/requirements.txt -o $directory/uv.lock"
  bash -c "$lock_strata"
  bash -c "$lock_uv"
  echo "set $index ($requirement_set): $(compare "$directory/strata.lock" "$directory/uv.lock")" >&2
  packages=$(grep -c '==' "$directory/strata.lock")
  # Cold: no cache and no lock. Warm: the lock from the run before, caches full.
  hyperfine --runs "$runs" --export-json "$work/cold$index.json" \
    --prepare "rm -rf $strata_cache $directory/strata.lock" -n strata-cold "$lock_strata" \
    --prepare "rm -rf $uv_cache $directory/uv.lock" -n uv-cold "$lock_uv" >/dev/null
  hyperfine --runs "$runs" --warmup 1 --export-json "$work/warm$index.json" -n strata-warm "$lock_strata" -n uv-warm "$lock_uv" >/dev/null
  pip_cache="$work/pip-cache-$index"
  start=$(date +%s%N)
  PIP_CACHE_DIR="$pip_cache" "$pip_compile" --quiet --generate-hashes --no-strip-extras --output-file "$directory/pip.lock" "$directory/requirements.txt" >/dev/null 2>&1 || true
  pip_seconds=$(( ($(date +%s%N) - start) / 1000000 ))
  mean() { python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results']; print('%.2f s' % [x['mean'] for x in r if x['command']==sys.argv[2]][0])" "$1" "$2"; }
  echo "| $requirement_set | $packages | $(mean "$work/cold$index.json" strata-cold) | $(mean "$work/cold$index.json" uv-cold) | $(mean "$work/warm$index.json" strata-warm) | $(mean "$work/warm$index.json" uv-warm) | $(python3 -c "print('%.2f s' % ($pip_seconds/1000))") |"
done
