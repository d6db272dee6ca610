#!/usr/bin/env bash
# The offline vulnerability audit (issue 32's target: a 1,000-package image against an imported
# store of 100,000 advisories in under 200 ms warm; the import measured, with the store's size),
# on the Docker daemon and the loopback registry `scripts/dev-env.sh up` starts. An image on the
# Debian base gets a dpkg database of 1,000 more packages; RECORDS generated OSV advisories
# (default 100,000: 1 in 20 about the image's packages, the rest about other packages, spread
# over Debian:12 and PyPI) are zipped as osv.dev publishes them, imported, and the image audited
# from the local engine and from the registry (hyperfine, warm).
#
#   bench/audit.sh [RECORDS]
#   STRATA=path/to/strata bench/audit.sh
records=${1:-100000}
. "$(dirname "$0")/lib.sh"
debian=${STRATA_TEST_BASE_DEBIAN:?set by scripts/dev-env.sh env}
image="$registry/bench-audit-$$/packages:latest"
mkdir -p "$repo/images/packages"
cat >"$repo/images/packages/Dockerfile" <<DOCKERFILE
FROM $debian
RUN awk 'BEGIN { for (i = 1; i <= 1000; i++) printf "\\nPackage: pkg-%04d\\nStatus: install ok installed\\nArchitecture: all\\nVersion: 1.%d-1\\nDescription: generated\\n", i, i % 7 }' >> /var/lib/dpkg/status
DOCKERFILE
printf 'layout = "generic"\nrepo = "%s"\n' "$registry/bench-audit-$$" >"$repo/strata.toml"
commit image
"$STRATA" build --all --push --no-manifests "$repo" >/dev/null 2>&1
packages=$("$STRATA" inspect "$image" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["deb_packages"]))')
python3 - "$work/all.zip" "$records" <<'PY'
import json, sys, zipfile
path, count = sys.argv[1], int(sys.argv[2])
with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
    for n in range(count):
        if n % 20 == 0:
            ecosystem, name = "Debian:12", f"pkg-{(n // 20) % 1000 + 1:04d}"
        elif n % 2:
            ecosystem, name = "Debian:12", f"other-{n % 30000}"
        else:
            ecosystem, name = "PyPI", f"other-py-{n % 30000}"
        record = {
            "schema_version": "1.6.0", "id": f"BENCH-{n}", "aliases": [f"CVE-2026-{n}"],
            "modified": "2026-12-01T00:00:00Z", "summary": "generated",
            "affected": [{"package": {"ecosystem": ecosystem, "name": name},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": f"1.{n % 9}-1"}]}]}],
        }
        archive.writestr(f"BENCH-{n}.json", json.dumps(record))
PY
echo "image: $packages Debian packages; advisories: $records in a $(( $(stat -c %s "$work/all.zip") / 1024 / 1024 )) MiB zip"
import=$(seconds_of "$STRATA" audit import --db "$work/store" "$work/all.zip")
echo "import: $import s; store: $(du -sm "$work/store" | cut -f1) MiB in $(find "$work/store" -type f | wc -l) files"
findings=$("$STRATA" audit "$image" --db "$work/store" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["images"][0]["findings"]))')
echo "findings: $findings"
hyperfine --warmup 2 --runs 10 -N \
  "$STRATA audit $image --db $work/store" \
  "$STRATA audit $image --db $work/store --registry" \
  "$STRATA inspect $image" 2>&1 | grep -E "Benchmark|Time|Range"
# A family on that image: 10 children, each a layer of its own on top. The family audit reads
# the shared layers' packages once; side by side with auditing the 11 images one at a time.
children=10
for n in $(seq 1 "$children"); do
  mkdir -p "$repo/images/child-$n"
  printf 'FROM %s\nRUN echo %s > /child\n' "$image" "$n" >"$repo/images/child-$n/Dockerfile"
done
commit children
"$STRATA" build --all --push --no-manifests "$repo" >/dev/null 2>&1
work_counts=$("$STRATA" audit "$repo" --db "$work/store" --registry --json | python3 -c '
import json, sys
report = json.load(sys.stdin)
work = report["work"]
own = sum(len(image["findings"]) for image in report["images"])
inherited = sum(image.get("inherited", 0) for image in report["images"])
images = len(report["images"])
print(images, "reports,", own, "findings reported,", inherited, "inherited; packages seen", work["packages_seen"], "matched", work["packages_matched"], "; layer stacks read", work["layers_read"])')
echo "family audit: $work_counts"
one_by_one="for n in \$(seq 1 $children); do $STRATA audit $registry/bench-audit-$$/images:child-\$n --db $work/store --registry >/dev/null; done; $STRATA audit $image --db $work/store --registry >/dev/null"
hyperfine --warmup 1 --runs 5 \
  "$STRATA audit $repo --db $work/store --registry" \
  "$one_by_one" 2>&1 | grep -E "Benchmark|Time|Range"
