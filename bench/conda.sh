#!/usr/bin/env bash
# `strata lock environment.yml` on a generated channel of 20,000 package records (1,000 names,
# 10 versions × 2 builds each) whose solution has 151 packages (a dependency tree with version
# ranges, and a conflict the solver has to back out of), served on loopback. Side by side with
# py-rattler's `solve` (the library pixi is built on; conda and mamba cannot be installed here:
# no conda channel is reachable), installed from PyPI into a cache, never into CI.
#
# cold: empty cache, no lock. warm: the lock present and the repodata cached (a re-lock keeps
# the pins). check: `--check` with both.
#
#   bench/conda.sh [RUNS]    (default 5)
#   NAMES=20000 bench/conda.sh 3   (400,000 records, conda-forge's linux-64 size: the slow case)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
cargo build --release --quiet -p strata
strata="$PWD/target/release/strata"
venv="${XDG_CACHE_HOME:-$HOME/.cache}/strata-bench/py-rattler"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import rattler' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet py-rattler
fi
work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server"; rm -rf "$work"' EXIT

python3 - "$work/channel" "${NAMES:-1000}" <<'PY'
import hashlib, json, os, sys
root = sys.argv[1]
names, versions, builds, tree = int(sys.argv[2]), 10, 2, 75
packages = {}
for index in range(names):
    name = f"pkg{index:04d}"
    for version in range(1, versions + 1):
        for build in range(builds):
            depends = ["__glibc >=2.17"]
            if index < tree:
                # A binary tree: the closure of pkg0000 is pkg0000..pkg0150.
                left, right = 2 * index + 1, 2 * index + 2
                depends.append(f"pkg{left:04d} >={max(1, version - 3)},<={version}")
                # The newest right child needs a left child the parent's newest does not allow:
                # the newest parent has to give way.
                upper = versions - 1 if version == versions else versions
                depends.append(f"pkg{right:04d} >=1,<={upper}")
            filename = f"{name}-{version}.0-h{build}_{build}.tar.bz2"
            digest = hashlib.sha256(filename.encode()).hexdigest()
            packages[filename] = {
                "name": name, "version": f"{version}.0", "build": f"h{build}_{build}",
                "build_number": build, "depends": depends, "subdir": "linux-64",
                "sha256": digest, "md5": digest[:32], "size": 1000,
                "timestamp": 1_700_000_000_000 + version * 1000,
            }
for subdir, content in (("linux-64", packages), ("noarch", {})):
    os.makedirs(f"{root}/{subdir}", exist_ok=True)
    with open(f"{root}/{subdir}/repodata.json", "w") as file:
        json.dump({"info": {"subdir": subdir}, "packages": content, "packages.conda": {},
                   "repodata_version": 1}, file)
print(f"channel: {sum(1 for _ in packages)} records, "
      f"{os.path.getsize(f'{root}/linux-64/repodata.json') / 1e6:.1f} MB of repodata.json")
PY
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$work/channel" "$port" >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/noarch/repodata.json" >/dev/null && break; sleep 0.1; done
url="http://127.0.0.1:$port/"
mkdir -p "$work/project"
printf 'channels:\n  - %s\ndependencies:\n  - pkg0000\n' "$url" > "$work/project/environment.yml"

time_ms() { local start end; start=$(date +%s%N); "$@" >/dev/null 2>&1; end=$(date +%s%N); echo $(( (end - start) / 1000000 )); }
mean() { awk '{ total += $1 } END { printf "%.0f", total / NR }'; }
lock() { (cd "$work/project" && STRATA_CACHE_DIR="$1" "$strata" lock environment.yml "${@:2}"); }

cold=(); warm=(); check=(); rattler_cold=(); rattler_warm=()
for run in $(seq 1 "$runs"); do
  rm -rf "$work/cache" "$work/project/environment.lock"
  cold+=("$(time_ms lock "$work/cache")")
  warm+=("$(time_ms lock "$work/cache")")
  check+=("$(time_ms lock "$work/cache" --check)")
  rm -rf "$work/rattler-cache"
  for kind in cold warm; do
    sample=$("$venv/bin/python" - "$url" "$work/rattler-cache" <<'PY'
import asyncio, os, sys, time
import rattler
url, cache = sys.argv[1], sys.argv[2]
start = time.perf_counter()
gateway = rattler.Gateway(cache_dir=cache)
records = asyncio.run(rattler.solve(
    [rattler.Channel(url)], ["pkg0000"], gateway=gateway, platforms=["linux-64", "noarch"],
    virtual_packages=[rattler.GenericVirtualPackage(rattler.PackageName("__glibc"),
                                                    rattler.Version("2.28"),
                                                    rattler.BuildString("0"))]))
elapsed = (time.perf_counter() - start) * 1000
with open(f"{cache}.labels", "w") as file:
    file.write("".join(sorted(f"{r.name.normalized}-{r.version}-{r.build}\n" for r in records)))
print(f"{elapsed:.0f} {len(records)}", flush=True)
os._exit(0)  # py-rattler's runtime can abort while the interpreter finalizes
PY
)
    if [ "$kind" = cold ]; then rattler_cold+=("${sample%% *}"); else rattler_warm+=("${sample%% *}"); fi
    rattler_count=${sample##* }
  done
done
packages=$(grep -c '#sha256:' "$work/project/environment.lock")
sed -n 's|.*/\([^/]*\)\.tar\.bz2#.*|\1|p' "$work/project/environment.lock" | sort > "$work/strata.labels"
if cmp -s "$work/strata.labels" "$work/rattler-cache.labels"; then same="the same packages"; else same="DIFFERENT packages"; fi
echo "solution: strata $packages packages, py-rattler $rattler_count: $same"
echo "strata lock, cold (no cache, no lock):   $(printf '%s\n' "${cold[@]}" | mean) ms (runs: ${cold[*]})"
echo "strata lock, warm (cache and lock):      $(printf '%s\n' "${warm[@]}" | mean) ms (runs: ${warm[*]})"
echo "strata lock --check, warm:               $(printf '%s\n' "${check[@]}" | mean) ms (runs: ${check[*]})"
echo "py-rattler solve, cold (no cache):       $(printf '%s\n' "${rattler_cold[@]}" | mean) ms (runs: ${rattler_cold[*]})"
echo "py-rattler solve, warm (gateway cache):  $(printf '%s\n' "${rattler_warm[@]}" | mean) ms (runs: ${rattler_warm[*]})"
peak=$( { /usr/bin/time -f '%M' bash -c "cd '$work/project' && STRATA_CACHE_DIR='$work/cache' '$strata' lock environment.yml --upgrade >/dev/null 2>&1"; } 2>&1 | tail -1)
echo "peak memory, strata lock --upgrade (warm cache): $((peak / 1024)) MB"
