#!/usr/bin/env bash
# `agent test rules` against `promtool test rules` on the same files in the same run: the
# repository's standard rule tests (rules/*_test.yaml whose rule file uses no `tiers`, so that
# promtool can run them). Prints the commands, hyperfine's medians and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
AGENT=${AGENT:-.build/release/agent}
RUNS=${RUNS:-20}
[ -x "$AGENT" ] || swift build -c release --product agent
command -v promtool >/dev/null || { echo "promtool is missing: apt-get install prometheus" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "hyperfine is missing: apt-get install hyperfine" >&2; exit 1; }

files=()
for t in rules/*_test.yaml; do
    rule="${t%_test.yaml}.yaml"
    grep -Eq '^[[:space:]]*tiers:' "$rule" && continue
    files+=("$t")
done
echo "standard rule tests: ${files[*]}"
# Both must give the same verdict before timing means anything.
"$AGENT" test rules "${files[@]}" >/dev/null
promtool test rules "${files[@]}" >/dev/null

out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "\$ hyperfine -N --warmup 2 --runs $RUNS '$AGENT test rules ${files[*]}' 'promtool test rules ${files[*]}'"
hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$out" \
    "$AGENT test rules ${files[*]}" "promtool test rules ${files[*]}"
python3 - "$out" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
agent, promtool = results[0]["median"], results[1]["median"]
print(f"median: agent test rules {agent * 1000:.1f} ms, promtool test rules {promtool * 1000:.1f} ms, "
      f"ratio agent/promtool {agent / promtool:.2f} (target: <= 1, not slower)")
PY
