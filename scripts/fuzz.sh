#!/usr/bin/env bash
# `make fuzz` (FUZZ_SECONDS, default 600): builds each fuzz package Fuzz/*/ that has an executable
# product named `fuzzer` with libFuzzer + AddressSanitizer, runs it for FUZZ_SECONDS on its corpus,
# then merges the inputs that add coverage back into Fuzz/*/corpus/ (replayed by `make test`).
# A crash leaves its input in fuzz-artifacts/ and makes this script fail.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-${FUZZ_SECONDS:-600}}"
root="$PWD"
mkdir -p fuzz-artifacts
status=0
for dir in Fuzz/*/; do
    dir="${dir%/}"
    name="$(basename "$dir")"
    if ! grep -q 'name: "fuzzer"' "$dir/Package.swift" 2>/dev/null; then
        echo "== $dir: no executable target named \"fuzzer\"; skipped"
        continue
    fi
    build=(swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld --product fuzzer)
    echo "== $name: (cd $dir && ${build[*]})"
    (cd "$dir" && "${build[@]}")
    export LSAN_OPTIONS=""
    [ -f "$dir/lsan-suppressions.txt" ] && export LSAN_OPTIONS="suppressions=$root/$dir/lsan-suppressions.txt"
    mkdir -p "$dir/corpus"
    work="$(mktemp -d)"
    run=("$dir/.build/release/fuzzer" "$work" "$dir/corpus" -max_total_time="$seconds" -max_len=1024
        -artifact_prefix="$root/fuzz-artifacts/$name-" -print_final_stats=1)
    # A target's dictionary of tokens (e.g. Fuzz/Regex/regex.dict), when it has one.
    for dict in "$dir"/*.dict; do [ -f "$dict" ] && run+=(-dict="$dict"); done
    echo "== $name: ${run[*]}"
    # pipefail: a crash (non-zero exit of the fuzzer) fails the pipeline.
    if ! "${run[@]}" 2>&1 | tail -20; then status=1; fi
    before="$(ls "$dir/corpus" | wc -l)"
    "$dir/.build/release/fuzzer" -merge=1 -max_len=1024 "$dir/corpus" "$work" >/dev/null 2>&1 || true
    echo "== $name: corpus $before → $(ls "$dir/corpus" | wc -l) inputs"
    rm -rf "$work"
done
exit "$status"
