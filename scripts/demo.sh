#!/usr/bin/env bash
# The main job on the bundled example, from a fresh machine: start the services (Docker daemon,
# loopback registry, local base images), build strata, then pin the example's base by digest,
# plan, build and push the family to the loopback registry, show where the images went, inspect
# what is in them, promote the final image to a release tag inside the registry, and write the
# family's catalogue (a static web site).
set -euo pipefail
cd "$(dirname "$0")/.."
env_file=$(scripts/dev-env.sh up)
# shellcheck disable=SC1090
. "$env_file"
# cargo shows its progress: a first build takes minutes on two cores.
cargo build --release -p strata
strata="$PWD/target/release/strata"
repo="$STRATA_TEST_REGISTRY/strata-example"
# A working copy of the example, its base taken from the loopback registry (as a site's registry
# mirror would serve it), so pinning has a registry to ask.
example=target/demo/sciserver
rm -rf "$example" && mkdir -p target/demo && cp -r examples/sciserver "$example"
sed -i "s|FROM strata-base/|FROM $STRATA_TEST_REGISTRY/strata-base/|" "$example"/science/*/Dockerfile
# A Python layer on top of astro, installed from a strata lock offline (the wheels are fetched on
# this machine, checked against the lock's hashes, and installed with --require-hashes).
mkdir -p "$example/science/astro-py"
printf '{"image": "astro-py", "version": "1.0", "compat": "jupyter"}\n' >"$example/science/astro-py/sciserver-image.json"
printf 'astropy\n' >"$example/science/astro-py/requirements.txt"
cat >"$example/science/astro-py/Dockerfile" <<'DOCKERFILE'
# Python and astropy on astro: Debian's python3, then the packages of requirements.lock,
# installed offline from wheels strata fetched and checked.
FROM sci/astro-2024:2.0
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-pip \
 && rm -rf /var/lib/apt/lists/*
COPY wheels /wheels
COPY requirements.lock /tmp/requirements.lock
RUN pip install --no-cache-dir --break-system-packages --no-index --find-links /wheels --no-deps \
    --require-hashes --only-binary :all: -r /tmp/requirements.lock && rm -rf /wheels
DOCKERFILE
printf '\n[[images.astro-py.taggers]]\nkind = "python"\n\n[[images.astro-py.taggers]]\nkind = "package"\npackage = "astropy"\n' >>"$example/strata.toml"
# The lock's target is recorded in strata.toml, so `strata lock --check` and `strata outdated`
# find it with no image and no flags.
printf '\n[images.astro-py.lock]\nrequirements = "requirements.txt"\npython = "3.11.2"   # Debian 12'"'"'s CPython\nplatform = "manylinux_2_36_x86_64"   # its glibc\n' >>"$example/strata.toml"
echo "== lock astro-py's Python packages for its interpreter (Debian 12: CPython 3.11.2, glibc 2.36), then fetch the wheels" >&2
"$strata" lock --repository "$example"
"$strata" lock fetch "$example/science/astro-py/requirements.lock" "$example/science/astro-py/wheels" >/dev/null
git -C "$example" init -q
git -C "$example" add -A
git -C "$example" -c user.name=demo -c user.email=demo@strata.invalid commit -qm "the example family"

echo "== is every lock current? (what CI runs; exit 1 when a lock drifted)" >&2
"$strata" lock --check --repository "$example"
echo "== does the family follow the practices strata lints for? (the unpinned base is an info)" >&2
"$strata" lint "$example"
echo "== are the bases pinned by digest? (strata pin --check exits 1 when not)" >&2
"$strata" pin --check "$example" || echo "(exit $?: not yet)" >&2
echo "== pin them, then commit" >&2
"$strata" pin "$example"
git -C "$example" diff --stat
git -C "$example" -c user.name=demo -c user.email=demo@strata.invalid commit -qam "pin the base by digest"
"$strata" pin --check "$example"
echo "== the image hierarchy" >&2
"$strata" graph "$example"
echo "== the build plan for every image, tagged for $repo" >&2
"$strata" plan --all --repo "$repo" "$example"
echo "== the same plan as a docker buildx bake file: target/example-bake.json" >&2
"$strata" plan --all --repo "$repo" --format bake --output target/example-bake.json "$example"
echo "== build and push (logs in $example/.strata/logs)" >&2
"$strata" build --all --repo "$repo" --push --network host "$example"
echo "== where the images went: the registry at http://$STRATA_TEST_REGISTRY" >&2
for repository in $(curl -fsS "http://$STRATA_TEST_REGISTRY/v2/_catalog" | tr -d '{}[]"' | sed 's/repositories://' | tr ',' '\n' | grep '^strata-example/'); do
  echo "$STRATA_TEST_REGISTRY/$repository: $(curl -fsS "http://$STRATA_TEST_REGISTRY/v2/$repository/tags/list" | sed 's/.*"tags":\[\(.*\)\].*/\1/' | tr -d '"')"
done
echo "== what is inside the final astro image, read from the registry" >&2
"$strata" inspect --registry "$repo/rel/astro:2.0"
echo "== its build manifest and SBOM: target/astro-manifest.md, target/astro-sbom.json" >&2
"$strata" inspect --registry "$repo/rel/astro:2.0" --format markdown --output target/astro-manifest.md
"$strata" inspect --registry "$repo/rel/astro:2.0" --format cyclonedx --output target/astro-sbom.json
echo "== what astro adds to essentials (files only: its packages are essentials' own), and what astro-py adds to astro" >&2
"$strata" diff --registry "$repo/rel/essentials:1.0" "$repo/rel/astro:2.0"
"$strata" diff --registry "$repo/rel/astro:2.0" "$repo/rel/astro-py:1.0"
echo "== astro-py's tags, computed from what is inside it" >&2
curl -fsS "http://$STRATA_TEST_REGISTRY/v2/${repo#*/}/rel/astro-py/tags/list"; echo
# A release tag of this run (the registry keeps earlier runs' tags, which are protected).
release="release-$(date -u +%Y%m%d-%H%M%S)"
echo "== release: give the final astro image the tag \`$release\`, inside the registry" >&2
"$strata" promote -C "$example" --repo "$repo" "$repo/rel/astro:2.0" "$release"
echo "== promoting it again is a no-op; another image onto that tag is refused" >&2
"$strata" promote -C "$example" --repo "$repo" "$repo/rel/astro:2.0" "$release"
"$strata" promote -C "$example" --repo "$repo" "$repo/rel/essentials:1.0" "$repo/rel/astro:$release" || echo "(exit $?: refused, as it should be)" >&2
echo "== the build and promotion history of astro:2.0" >&2
cat "$example/.strata/manifests/astro_2.0/history.md"
echo "== is anything out of date? (a rebuild would change nothing)" >&2
"$strata" outdated --repo "$repo" "$example"
echo "== the family's catalogue, a static web site: target/catalog/index.html" >&2
"$strata" catalog --registry --repo "$repo" --title "The strata example family" -o target/catalog "$example"
cat >&2 <<DONE

demo: done. What it left:
  strata              $strata (or \`cargo install --path crates/strata\` to put it on your PATH)
  the example         $example (a git repository: plan, build and lint it again)
  the images          http://$STRATA_TEST_REGISTRY/v2/_catalog (the loopback registry)
  manifests and SBOM  target/astro-manifest.md, target/astro-sbom.json, target/example-bake.json
  the catalogue       target/catalog/index.html (open it in a browser: tree, package search, image pages)
The services keep running (\`scripts/dev-env.sh status\`, \`scripts/dev-env.sh down\` stops them).
To use them from your shell:  . "\$(scripts/dev-env.sh env)"
DONE
