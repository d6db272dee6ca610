#!/usr/bin/env bash
# Everything CI runs, from a fresh Debian machine: services (Docker daemon, Podman's API service,
# registries, base images), formatting, lints, the whole test suite against the real services on
# Docker, then the integration tests (the same tests) again with Podman as the engine.
# STRATA_TEST_ENGINES=docker skips the Podman pass.
set -euo pipefail
cd "$(dirname "$0")/.."

started_services=no
on_exit() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    echo "test.sh: failed (exit $status); service logs are in ${STRATA_DEV_LOGS:-~/.cache/strata-dev/logs}" >&2
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

echo "== cargo fmt" >&2
cargo fmt --all -- --check
echo "== cargo clippy" >&2
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== tests (Docker)" >&2
failed=()
cargo nextest run --workspace --locked --no-fail-fast || failed+=(docker)
if [[ " $engines " == *" podman "* ]]; then
  echo "== integration tests again on Podman ($STRATA_TEST_PODMAN_HOST)" >&2
  DOCKER_HOST=$STRATA_TEST_PODMAN_HOST cargo nextest run --workspace --locked --no-fail-fast \
    -E 'kind(test)' || failed+=(podman)
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "test.sh: tests failed on: ${failed[*]}" >&2
  exit 1
fi
