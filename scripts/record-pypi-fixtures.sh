#!/usr/bin/env bash
# Record real package-index responses for strata-pylock's offline tests: the HTML project pages
# of a few projects and the METADATA of the wheels a lock of `requests` picks (as of the date in
# test/pypi/RECORDED). Re-run to refresh; tests snapshot what these files say.
set -euo pipefail
cd "$(dirname "$0")/../test/pypi"
rm -rf pages metadata && mkdir -p pages metadata
for project in requests urllib3 idna certifi charset-normalizer; do
  curl -fsS "https://pypi.org/simple/$project/" -o "pages/$project.html"
done
date -u +%Y-%m-%d > RECORDED
# The METADATA of the newest release's py3-none-any or cp311 manylinux x86_64 wheel of each project.
for project in requests urllib3 idna certifi charset-normalizer; do
  python3 - "pages/$project.html" <<'PY'
import io, re, sys, urllib.request, zipfile
from pip._vendor.packaging.version import Version, InvalidVersion
page = open(sys.argv[1]).read()
wheels = []
for href in re.findall(r'href="([^"#]*)', page):
    name = href.rsplit("/", 1)[-1]
    if not name.endswith(".whl"):
        continue
    tags = name[:-4].split("-")
    if not (tags[-3:] == ["py3", "none", "any"] or (tags[-3] == "cp311" and "manylinux_2_17_x86_64" in tags[-1])):
        continue
    try:
        wheels.append((Version(tags[1]), href, name))
    except InvalidVersion:
        pass
version, url, name = max(wheels, key=lambda wheel: wheel[0])
data = urllib.request.urlopen(url).read()
with zipfile.ZipFile(io.BytesIO(data)) as wheel:
    member = next(n for n in wheel.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA"))
    open(f"metadata/{name}.METADATA", "wb").write(wheel.read(member))
print(name)
PY
done
