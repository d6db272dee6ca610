#!/usr/bin/env bash
# The main job on the bundled example, from a fresh machine: start the services (Docker daemon,
# loopback registry, local base images), build strata, then plan, build and push the example
# family to the loopback registry, show where the images went, and inspect what is in them.
set -euo pipefail
cd "$(dirname "$0")/.."
env_file=$(scripts/dev-env.sh up)
# shellcheck disable=SC1090
. "$env_file"
cargo build --release --quiet -p strata
strata="$PWD/target/release/strata"
repo="$STRATA_TEST_REGISTRY/strata-example"
example=examples/sciserver

echo "== the image hierarchy" >&2
"$strata" graph "$example"
echo "== the build plan for every image, tagged for $repo" >&2
"$strata" plan --all --repo "$repo" "$example"
echo "== the same plan as a docker buildx bake file: target/example-bake.json" >&2
"$strata" plan --all --repo "$repo" --format bake --output target/example-bake.json "$example"
echo "== build and push (logs in $example/.strata/logs)" >&2
"$strata" build --all --repo "$repo" --push "$example"
echo "== where the images went: the registry at http://$STRATA_TEST_REGISTRY" >&2
for repository in $(curl -fsS "http://$STRATA_TEST_REGISTRY/v2/_catalog" | tr -d '{}[]"' | sed 's/repositories://' | tr ',' '\n' | grep '^strata-example/'); do
  echo "$STRATA_TEST_REGISTRY/$repository: $(curl -fsS "http://$STRATA_TEST_REGISTRY/v2/$repository/tags/list" | sed 's/.*"tags":\[\(.*\)\].*/\1/' | tr -d '"')"
done
echo "== what is inside the final astro image, read from the registry" >&2
"$strata" inspect --registry "$repo/rel/astro:2.0"
echo "== its build manifest and SBOM: target/astro-manifest.md, target/astro-sbom.json" >&2
"$strata" inspect --registry "$repo/rel/astro:2.0" --format markdown --output target/astro-manifest.md
"$strata" inspect --registry "$repo/rel/astro:2.0" --format cyclonedx --output target/astro-sbom.json
echo "== what astro adds to essentials" >&2
"$strata" diff --registry "$repo/rel/essentials:1.0" "$repo/rel/astro:2.0"
