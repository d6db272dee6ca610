#!/usr/bin/env bash
# Everything CI runs, from a fresh Debian machine: services (Docker daemon, Podman's API service,
# registries, base images), formatting, lints, the whole test suite against the real services on
# Docker, then the tests whose outcome can depend on the engine again with Podman as the engine.
# STRATA_TEST_ENGINES=docker skips the Podman pass.
set -euo pipefail
cd "$(dirname "$0")/.."

# The integration tests that drive an engine: builds (and their tests, pushes, reproducible and
# multi-platform builds), inspecting images from the engine's storage, locks read from images,
# the engine rows of the exit-code table, and the harness check. Plans, graphs, lint,
# registry-only release commands and PyPI or conda locks involve no engine: they run once. So
# do the `live_debian_` tests: what they check is what apt and dpkg write into the image, which
# the engine does not change, and apt under Podman costs minutes; and the CI pipeline tests
# (`pipeline::`, `ci_pipelines::`), whose jobs already alternate between Docker and Podman.
PODMAN_TESTS='(binary(build) | binary(inspect) | binary(exit_codes) | (binary(lock) & test(/^(image|site_path)::|built_from_a_lock/)) | (package(strata-test) & binary(services))) & !test(/live_debian_/) & !test(/^(pipeline|ci_pipelines)::/)'

# A fresh run writes ~8 GiB of build output (clippy and the test build) and ~2 GiB of engine
# storage; a disk that runs out mid-build fails with rustc's "No space left on device", far from
# the cause. Say so first, with where the space goes.
free_kib() { df -Pk "$1" 2>/dev/null | awk 'NR == 2 { print $4 }'; }
target_dir=${CARGO_TARGET_DIR:-target}
mkdir -p "$target_dir"
free=$(free_kib "$target_dir")
if [ -n "$free" ] && [ "$free" -lt $((12 * 1024 * 1024)) ]; then
  echo "test.sh: warning: only $((free / 1024 / 1024)) GiB free where the build goes ($target_dir); a fresh run needs ~10 GiB (build ~8, engine storage ~2). Free space first: \`cargo clean\`, or remove an old STRATA_DEV_DIR after \`scripts/dev-env.sh down\`" >&2
fi

started_services=no
phase="setting up the services"
started_at=$(date +%s)
on_exit() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    case "$phase" in
      "setting up the services")
        echo "test.sh: failed while $phase (exit $status): the error is just above; each service's log is in ${STRATA_DEV_LOGS:-${STRATA_DEV_DIR:-$HOME/.cache/strata-dev}/logs}" >&2 ;;
      *)
        echo "test.sh: failed while $phase (exit $status): see the output above" >&2 ;;
    esac
  fi
  if [ "$started_services" = yes ] && [ "${STRATA_KEEP_SERVICES:-}" = "" ]; then
    scripts/dev-env.sh down || true
  fi
  exit "$status"
}
trap on_exit EXIT

# Read the status whole: with pipefail, `grep -q` closing the pipe early would fail the pipeline.
status=$(scripts/dev-env.sh status)
if ! grep -q 'dockerd: up' <<<"$status"; then started_services=yes; fi
engines=${STRATA_TEST_ENGINES:-docker podman}
# Podman's service is started either way: the multi-platform tests build one platform on it
# as a second engine.
env_file=$(scripts/dev-env.sh up --podman)
# shellcheck disable=SC1090
. "$env_file"
export STRATA_REQUIRE_SERVICES=1

command -v cargo-nextest >/dev/null || cargo install cargo-nextest --locked

phase="checking formatting (cargo fmt)"
echo "== cargo fmt" >&2
cargo fmt --all -- --check
phase="linting (cargo clippy)"
echo "== cargo clippy" >&2
cargo clippy --workspace --all-targets --locked -- -D warnings
phase="running the tests"
echo "== tests (Docker)" >&2
failed=()
cargo nextest run --workspace --locked --no-fail-fast || failed+=(docker)
if [[ " $engines " == *" podman "* ]]; then
  echo "== the engine-facing tests again on Podman ($STRATA_TEST_PODMAN_HOST)" >&2
  DOCKER_HOST=$STRATA_TEST_PODMAN_HOST cargo nextest run --workspace --locked --no-fail-fast \
    -E "kind(test) & ($PODMAN_TESTS)" || failed+=(podman)
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "test.sh: tests failed on: ${failed[*]}" >&2
  exit 1
fi
echo "test.sh: passed — fmt, clippy, every test on Docker$([[ " $engines " == *" podman "* ]] && echo ", the engine-facing ones on Podman") ($(( $(date +%s) - started_at )) s)" >&2
