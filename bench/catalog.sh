#!/usr/bin/env bash
# The catalogue of a family (issue 31's targets: a 40-image family of ~1,000 packages each
# written in under 2 s warm; its front page under 1 MB compressed; search results within 50 ms
# of a keystroke in the browser), on the Docker daemon and the loopback registry
# `scripts/dev-env.sh up` starts. A generated tree of IMAGES tiny busybox images (default 40),
# each with a dpkg database of ~1,000 packages (the root writes 1,000, each child changes a few
# and adds its own), is built and pushed once. Then: `strata catalog --registry` with an empty
# cache (every layer read once), warm (hyperfine), and after one image changed and was pushed
# again; the front page's compressed size; and search timings in Debian's chromium.
#
#   bench/catalog.sh [IMAGES]
#   STRATA=path/to/strata bench/catalog.sh
images=${1:-40}
. "$(dirname "$0")/lib.sh"
base=${STRATA_TEST_BASE_BUSYBOX:?set by scripts/dev-env.sh env}
namespace="$registry/bench-catalog-$$"
# A dpkg stanza per package, written inside the build with busybox's awk.
status_script='awk -v from=$FROM -v to=$TO -v tag=$TAG '"'"'BEGIN { for (i = from; i <= to; i++) printf "Package: pkg-%04d\nStatus: install ok installed\nArchitecture: all\nVersion: 1.%d-%s\nDescription: generated\n\n", i, i % 7, tag }'"'"' >> /var/lib/dpkg/status'
for index in $(seq 1 "$images"); do
  mkdir -p "$repo/family/i$index"
  if [ "$index" -eq 1 ]; then
    printf 'FROM %s\nRUN mkdir -p /var/lib/dpkg && FROM=1 TO=1000 TAG=root && %s\n' "$base" "$status_script" >"$repo/family/i$index/Dockerfile"
  else
    parent=$(( index / 4 > 0 ? index / 4 : 1 ))
    [ "$parent" -eq "$index" ] && parent=1
    printf 'FROM %s/i%d\nRUN FROM=%d TO=%d TAG=i%d && %s\n' "$namespace" "$parent" $((1000 + index * 10)) $((1000 + index * 10 + 9)) "$index" "$status_script" >"$repo/family/i$index/Dockerfile"
  fi
done
printf 'layout = "generic"\nrepo = "%s"\n' "$namespace" >"$repo/strata.toml"
commit family
echo "building and pushing $images images..." >&2
"$STRATA" build --all --push --no-manifests "$repo" >/dev/null 2>&1
packages=$("$STRATA" inspect --registry "$namespace/i$images:latest" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["deb_packages"]))')
echo "family: $images images, $packages Debian packages in i$images"
cold=$(seconds_of "$STRATA" catalog --registry -o "$work/site" "$repo")
echo "catalog --registry, empty cache (every layer read once): $cold s"
hyperfine --warmup 1 --runs 10 -N "$STRATA catalog --registry -o $work/site $repo" 2>&1 | grep -E "Time|Range" | sed 's/^/warm: /'
# One image changes and is pushed again: only its new layer is read.
printf 'RUN echo changed > /changed\n' >>"$repo/family/i$images/Dockerfile"
commit "i$images changed"
"$STRATA" build --push --no-manifests "$repo" >/dev/null 2>&1
after=$(seconds_of "$STRATA" catalog --registry -o "$work/site" "$repo")
echo "catalog --registry after one image changed (its history now two builds): $after s"
front=$(cat "$work/site/index.html" "$work/site/search-index.js" "$work/site/versions.js" "$work/site/search.js" "$work/site/style.css" | wc -c)
front_gz=$(cat "$work/site/index.html" "$work/site/search-index.js" "$work/site/versions.js" "$work/site/search.js" "$work/site/style.css" | gzip -9 | wc -c)
echo "front page (index.html, search index, script, style): $((front / 1024)) KiB, $((front_gz / 1024)) KiB gzip -9"
echo "whole site: $(du -sk "$work/site" | cut -f1) KiB in $(find "$work/site" -type f | wc -l) files"
if [ -n "${STRATA_TEST_PLAYWRIGHT_CORE:-}" ]; then
  node test/catalog/browse.mjs "$work/site" '{"queries": ["pkg-0500", "pkg", "pkg-0500>=1.2", "pkg-10", "zzz", "pkg-1400<2"], "pages": []}' | python3 -c '
import json, sys
seen = json.load(sys.stdin)
for query, found in seen["searches"].items():
    took, listed = seen["search_ms"][query], len(found["images"])
    print(f"search {query!r:16}: {took:6.1f} ms in the page, {listed:2d} images listed")
'
else
  echo "(no browser timings: source scripts/dev-env.sh's env file for STRATA_TEST_PLAYWRIGHT_CORE)"
fi
