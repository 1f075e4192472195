#!/usr/bin/env bash
# scripts/hot-functions.sh: which functions the running daemon executes once it is started, laid
# out together by the release link (scripts/hot-functions.txt, read by the Makefile's RELEASE_FLAGS).
#
# Why: the kernel maps a binary's code in 64 KB runs (fault-around, and the page cache's large
# folios), so a function run every 15 s keeps the 64 KB around it resident. Spread over the binary,
# the daemon's ~1 MB of steady-state code kept ~8 MB of it resident (scripts/bench-daemon.sh,
# example configuration). Built with -function-sections, the linker (gold's
# --section-ordering-file) puts the functions listed here first, side by side, so the same code
# fits in a few runs. A stale list costs memory, never correctness: a function not listed is
# simply laid out where it would have been.
#
# How: the release build, linked unstripped with a link map (`make release` relinks it stripped),
# runs the example configuration (scripts/bench-daemon/world.sh: 10 targets, 2 JSONL logs, 30
# rules, a webhook) under valgrind's callgrind. Counting starts WARMUP seconds after the daemon
# answers (start-up's code, paged out by StartupPages, stays apart; the first scrapes, evaluations,
# notifications and checkpoint, which run again and again, are in), then for WINDOW seconds the
# daemon runs as in production while `agent query`, `agent status` and GET /metrics ask it something every
# 15 s; every function callgrind saw run is written out, as the input section the link map names
# for it. Needs valgrind (make bench-deps installs it). Takes WARMUP + WINDOW + the build.
#
# Environment: WARMUP=5 WINDOW=240 (seconds)  OUT=scripts/hot-functions.txt  KEEP=1 (keep the temp dir)
set -euo pipefail
cd "$(dirname "$0")/.."
WARMUP="${WARMUP:-5}"
WINDOW="${WINDOW:-240}"
OUT="${OUT:-scripts/hot-functions.txt}"
TARGETS=10 LOG_RATE=50 STEADY=0 STEADY_RATE=10 TIER=5m
command -v valgrind > /dev/null || { echo "hot-functions: valgrind is missing (make bench-deps)" >&2; exit 1; }
command -v callgrind_control > /dev/null || { echo "hot-functions: callgrind_control is missing (valgrind)" >&2; exit 1; }

work="$(mktemp -d /tmp/hot-functions.XXXXXX)"
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2> /dev/null || true; done
    sleep 1
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2> /dev/null || true; done
    wait 2> /dev/null || true
    if [ "${KEEP:-0}" = 1 ]; then echo "hot-functions: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "hot-functions: building with -function-sections in .build (unstripped, with a link map)"
# The release build's own compile flags (the Makefile passes RELEASE_COMPILE_FLAGS), so that only
# the link differs from `make release` and nothing is compiled twice.
read -r -a compile_flags <<< "${RELEASE_COMPILE_FLAGS:--c release --static-swift-stdlib -Xswiftc -Xfrontend -Xswiftc -function-sections}"
swift build "${compile_flags[@]}" --product agent -Xlinker "-Map=$work/link.map" > "$work/build.log" 2>&1 ||
    { tail -20 "$work/build.log" >&2; exit 1; }
BIN="$PWD/.build/release/agent"
# The symbol table names the functions; valgrind 3.19 cannot read clang's DWARF 5 (the C targets').
objcopy --strip-debug "$BIN" "$work/agent"

fixtures="$PWD/scripts/bench-daemon"
# shellcheck source=bench-daemon/world.sh
source "$fixtures/world.sh"
make_config all "scrape logs rule_files notify"

valgrind --tool=callgrind --demangle=no --dump-instr=no --callgrind-out-file="$work/callgrind.out" \
    "$work/agent" run --config "$work/all/agent.yaml" > "$work/all/log" 2>&1 &
daemon=$!
pids+=("$daemon")
for _ in $(seq 600); do
    "$BIN" status --socket "$work/all/s" > /dev/null 2>&1 && break
    kill -0 "$daemon" 2> /dev/null || { echo "hot-functions: the daemon stopped:" >&2; tail -20 "$work/all/log" >&2; exit 1; }
    sleep 0.5
done
echo "hot-functions: the daemon runs under callgrind; counting after ${WARMUP}s, for ${WINDOW}s"
sleep "$WARMUP"
callgrind_control --zero "$daemon" > /dev/null
end=$((SECONDS + WINDOW))
while [ "$SECONDS" -lt "$end" ]; do
    "$BIN" query p95 http_request_duration_ms --by job --socket "$work/all/s" > /dev/null || true
    "$BIN" status --socket "$work/all/s" > /dev/null || true
    curl -fsS --unix-socket "$work/all/s" http://agent/metrics > /dev/null || true
    sleep 15
done
callgrind_control --dump "$daemon" > /dev/null
sleep 2

python3 - "$work" "$OUT" <<'PY'
import glob, re, sys
work, out = sys.argv[1], sys.argv[2]
# Every function with a cost in the window (fn= and cfn= lines; names are compressed as "(id) name" once).
names = set()
for path in glob.glob(work + "/callgrind.out*"):
    for line in open(path, errors="replace"):
        m = re.match(r"^c?fn=\(\d+\)(?: (.+))?$", line.rstrip("\n"))
        if m and m.group(1):
            names.add(m.group(1))
# With -function-sections each function is in ".text.NAME" (or .text.unlikely.NAME, …): the link map
# lists those sections, and the symbols each holds (for the rare section named otherwise).
section_names, sections, current = set(), {}, None
for line in open(work + "/link.map", errors="replace"):
    m = re.match(r"^ (\.text\.\S+)", line)
    if m:
        current = m.group(1)
        section_names.add(current)
        continue
    m = re.match(r"^\s+0x[0-9a-f]+\s+(\S+)\s*$", line)
    if m and current:
        sections.setdefault(m.group(1), current)
    elif not line.startswith("  "):
        current = None
hot = set()
for n in names:
    named = [p + n for p in (".text.", ".text.unlikely.", ".text.hot.", ".text.startup.") if p + n in section_names]
    hot.update(named or ([sections[n]] if n in sections else []))
hot = sorted(hot)
with open(out, "w") as f:
    for section in hot:
        f.write(section + "\n")
print(f"hot-functions: {len(names)} functions ran in the window; {len(hot)} of them in sections of their own, written to {out}")
PY
