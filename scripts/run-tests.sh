#!/usr/bin/env bash
# Runs the Swift test suite (already built) and, when it fails, repeats every failing test's
# lines at the very end of the output: CI keeps only the tail of a log, and a failure printed
# 3 000 lines up would otherwise be lost.
set -uo pipefail
log=.build/test-output.log
mkdir -p .build
"${SWIFT:-swift}" test --skip-build --no-parallel "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ]; then
    echo
    echo "=== what failed (full output in $log) ==="
    grep -E '✘|recorded an issue|Expectation failed|error:|Fatal error|Crash|signal' "$log" | grep -v '✔' | head -60
fi
exit "$rc"
