#!/usr/bin/env bash
# The README's Compatibility table: per collection of the public corpus (.corpus/, fetched locally by scripts/import-rules-corpus.sh), its rule files and rules, how
# many `agent check rules` and `promtool check rules` accept, and how many promtool suites give the
# verdict scripts/rules-corpus-suites.tsv expects under `agent test rules` (and under the packaged promtool).
#
#   scripts/rules-corpus-report.sh [AGENT]     (default .build/release/agent)
set -euo pipefail
cd "$(dirname "$0")/.."
AGENT=${1:-.build/release/agent}
[ -x "$AGENT" ] || { echo "no $AGENT: make release" >&2; exit 1; }
command -v promtool >/dev/null || { echo "promtool is missing: apt-get install prometheus" >&2; exit 1; }
python3 - "$AGENT" <<'PY'
import os, subprocess, sys, yaml
agent, root = os.path.abspath(sys.argv[1]), ".corpus"
runs = [l.rstrip("\n").split("\t") for l in open("scripts/rules-corpus-suites.tsv") if not l.startswith("#")]
suites = {r[0] for r in runs}
rows = []
for collection in sorted(os.listdir(root)):
    d = os.path.join(root, collection)
    if not os.path.isdir(d): continue
    files = sorted(os.path.relpath(os.path.join(p, f), root) for p, _, fs in os.walk(d) for f in fs if f.endswith((".yml", ".yaml")))
    rule_files = [f for f in files if f not in suites]
    rules = ours = theirs = 0
    for f in rule_files:
        path = os.path.join(root, f)
        try:
            doc = yaml.safe_load(open(path)) or {}
            rules += sum(len(g.get("rules") or []) for g in (doc.get("groups") or []) if isinstance(g, dict))
        except Exception:
            pass
        ours += subprocess.run([agent, "check", "rules", path], capture_output=True).returncode == 0
        theirs += subprocess.run(["promtool", "check", "rules", "--lint=none", path], capture_output=True).returncode == 0
    mine = [r for r in runs if r[0].startswith(collection + "/")]
    agreed = promtool_agreed = 0
    for suite, options, expected, decided, p242, _, _ in mine:
        args = [agent, "test", "rules"] + ([] if options == "-" else options.split()) + [os.path.join(root, suite)]
        verdict = "pass" if subprocess.run(args, capture_output=True).returncode == 0 else "fail"
        agreed += verdict == expected
        promtool_agreed += p242 == expected
    deciders = sorted({r[3] for r in mine})
    rows.append((collection, len(rule_files), rules, ours, theirs, f"{agreed} / {len(mine)}" if mine else "—",
                 f"{promtool_agreed} / {len(mine)}" if mine else "—", "; ".join(deciders) if mine else "—"))
print("| collection | rule files | rules | accepted by the agent | by promtool 2.42 | suites with the expected verdict: agent | promtool 2.42 | verdicts decided by |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for r in rows:
    print("| " + " | ".join(str(x) for x in r) + " |")
PY
