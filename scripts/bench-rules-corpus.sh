#!/usr/bin/env bash
# `agent test rules` against `promtool test rules` over the public corpus (.corpus/, fetched locally by scripts/import-rules-corpus.sh) in one
# run: every suite both run to the end — those both pass, and those promtool 2.42 fails only on
# Prometheus 3 semantics (left-open windows, the last evaluation; see scripts/rules-corpus-suites.tsv).
# Suites either refuses up front (unknown keys, native histograms) would time nothing. Prints the
# commands, hyperfine's medians and the ratio (target: the agent at least 5× faster).
set -euo pipefail
cd "$(dirname "$0")/.."
AGENT=${AGENT:-.build/release/agent}
RUNS=${RUNS:-3}
[ -x "$AGENT" ] || swift build -c release --product agent
command -v promtool >/dev/null || { echo "promtool is missing: apt-get install prometheus" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "hyperfine is missing: apt-get install hyperfine" >&2; exit 1; }

[ -d .corpus/prometheus ] || { echo "no .corpus/: scripts/import-rules-corpus.sh fetches the public corpus; skipped"; exit 0; }
mapfile -t files < <(awk -F'\t' '!/^#/ && $2 == "-" && $6 == $3 && ($5 == "pass" || $7 ~ /^(left-open|promtool 2 stops)/) { print ".corpus/" $1 }' scripts/rules-corpus-suites.tsv)
echo "${#files[@]} corpus suites: ${files[*]}"

out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "\$ hyperfine -N -i --warmup 1 --runs $RUNS '$AGENT test rules <the suites>' 'promtool test rules <the suites>'"
# -i: promtool 2.42 fails some of these suites (Prometheus 2 semantics); it still runs them to the end.
hyperfine -N -i --warmup 1 --runs "$RUNS" --export-json "$out" -n "agent test rules" -n "promtool test rules" \
    "$AGENT test rules ${files[*]}" "promtool test rules ${files[*]}"
python3 - "$out" "${#files[@]}" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
agent, promtool = results[0]["median"], results[1]["median"]
ratio = promtool / agent
print(f"median over {sys.argv[2]} suites: agent test rules {agent:.2f} s, promtool test rules {promtool:.2f} s, "
      f"agent {ratio:.1f}x faster (target: >= 5x: {'met' if ratio >= 5 else 'NOT met'})")
PY
