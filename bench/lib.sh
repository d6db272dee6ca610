# Shared by the benchmarks that need the services (sourced, not run): the registry (and engine)
# `scripts/dev-env.sh up` starts, a release build of strata (or $STRATA), a work directory
# removed on exit, and helpers for a throw-away git repository.
#
#   . "$(dirname "$0")/lib.sh"
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
registry=${STRATA_TEST_REGISTRY:?start the services: scripts/dev-env.sh up, then . \"\$(scripts/dev-env.sh env)\"}
if [ -z "${STRATA:-}" ]; then
  cargo build --release --quiet -p strata
  STRATA="$PWD/target/release/strata"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
repo="$work/repo"
mkdir -p "$repo"
export STRATA_CACHE_DIR="$work/cache"
# Commit everything in $repo (made a git repository on first use).
commit() {
  [ -d "$repo/.git" ] || git -C "$repo" init -q
  git -C "$repo" add -A
  git -C "$repo" -c user.name=bench -c user.email=bench@strata.invalid commit -qm "$1"
}
# Seconds (two decimals) a command takes, its output discarded.
seconds_of() {
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null 2>&1
  end=$(date +%s%N)
  python3 -c "print(round(($end - $start) / 1e9, 2))"
}
