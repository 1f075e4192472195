#!/usr/bin/env bash
# make chaos: runs every scenario in scripts/chaos/ against the built agent and prints their
# summaries (lines written/counted/lost/duplicated, notifications expected/delivered/duplicated,
# the daemon alive after abuse, its peak memory). A scenario exits non-zero when a guarantee is
# broken; any failure fails the run. Bounded: each scenario stops itself (≤ 3 min; SHORT=1 ≤ 45 s).
# Usage: scripts/chaos.sh [BIN_DIR]   (default .build/release; make test runs SHORT=1 on .build/debug)
set -uo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-.build/release}")
[ -x "$bin/agent" ] || { echo "no agent in $bin: build first" >&2; exit 2; }
scenarios=(scripts/chaos/*.sh)
[ -e "${scenarios[0]}" ] || { echo "no scenarios in scripts/chaos/" >&2; exit 2; }
failed=()
summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
for scenario in "${scenarios[@]}"; do
    name=$(basename "$scenario" .sh)
    echo "=== chaos: $name${SHORT:+ (short)} ==="
    start=$(date +%s)
    # Each scenario bounds itself; this is the backstop.
    timeout --kill-after=10 "${CHAOS_TIMEOUT:-240}" bash "$scenario" "$bin" 2>&1 | tee >(grep '^chaos ' >> "$summary")
    rc=${PIPESTATUS[0]}
    echo "--- $name: exit $rc after $(( $(date +%s) - start )) s"
    [ "$rc" -eq 0 ] || failed+=("$name (exit $rc)")
done
sleep 0.2
echo
echo "=== chaos summary ==="
cat "$summary"
if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED: ${failed[*]}"
    exit 1
fi
echo "every scenario held"
