#!/usr/bin/env bash
# Whole-process log throughput, side by side in the same run: `agent replay` against mtail's
# one-shot mode on a generated access log (BENCH_LOG_LINES lines, default 1 000 000, ≈177 bytes a
# line, 20 routes), both counting requests by route and status, bytes by route and method and
# latency by route and method (agent: a quantile sketch; mtail: a 12-bucket histogram, three
# regexes). Both run pinned to the same single core (taskset -c BENCH_CPU, default the last CPU):
# the issue's "on one core", and unpinned runs on a 2-vCPU VM swing by 2x as the process migrates.
# Runs are interleaved. Prints each command, the medians of BENCH_RUNS runs (default 5; mtail 3) of wall time, CPU time
# (user+sys) and peak RSS, lines/s and MB/s, and the ratios. Checks that both counted every line.
set -euo pipefail
cd "$(dirname "$0")/.."
lines="${BENCH_LOG_LINES:-1000000}"
runs="${BENCH_RUNS:-5}"
mtail_runs="${BENCH_MTAIL_RUNS:-3}"
agent="${AGENT:-.build/release/agent}"
[ -x "$agent" ] || { echo "bench-logs: $agent is missing: run make release first" >&2; exit 1; }
pin=()
if command -v taskset > /dev/null; then pin=(taskset -c "${BENCH_CPU:-$(( $(nproc) - 1 ))}"); fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 scripts/gen-access-log.py "$lines" "$work/access.jsonl"
size="$(stat -c %s "$work/access.jsonl")"
echo "input: $lines lines, $size bytes ($(python3 -c "print(round($size/$lines, 1))") bytes a line): python3 scripts/gen-access-log.py $lines FILE"

# run_once NAME COMMAND...: runs the command once, appends "wall cpu rss_kb" to NAME.times.
run_once() {
    local name="$1"
    shift
    /usr/bin/time -f "%e %U %S %M" -o "$work/$name.time" "$@" > "$work/$name.out" 2> "$work/$name.err"
    awk '{ printf "%s %.3f %s\n", $1, $2 + $3, $4 }' "$work/$name.time" >> "$work/$name.times"
}

agent_cmd=("${pin[@]}" "$agent" replay --config scripts/bench-logs/agent.yaml "$work/access.jsonl")
echo "agent: ${agent_cmd[*]}"
: > "$work/agent.times"
mtail_cmd=()
if command -v mtail > /dev/null; then
    mkdir -p "$work/progs"
    cp scripts/bench-logs/access.mtail "$work/progs/"
    mtail_cmd=("${pin[@]}" mtail --one_shot --one_shot_format=prometheus --progs "$work/progs" --logs "$work/access.jsonl")
    echo "mtail: ${mtail_cmd[*]}"
    : > "$work/mtail.times"
else
    echo "mtail: not installed (apt-get install mtail); no comparison"
fi
# Interleaved (agent, mtail, agent, …): this shared machine's speed drifts over a minute, and
# both tools should see the same drift.
for i in $(seq "$runs"); do
    run_once agent "${agent_cmd[@]}"
    if [ "${#mtail_cmd[@]}" -gt 0 ] && [ "$i" -le "$mtail_runs" ]; then run_once mtail "${mtail_cmd[@]}"; fi
done

# Both must have counted every line, and the same bytes.
sum() { grep -E "^$2[{ ]" "$work/$1.out" | awk '{ s += $NF } END { printf "%.0f", s }'; }
for tool in agent mtail; do
    [ -f "$work/$tool.out" ] || continue
    requests="$(sum "$tool" http_requests_total)"
    echo "$tool counted: http_requests_total $requests, http_response_bytes_total $(sum "$tool" http_response_bytes_total), http_request_duration_ms_count $(sum "$tool" http_request_duration_ms_count)"
    [ "$requests" = "$lines" ] || { echo "bench-logs: $tool counted $requests requests, expected $lines" >&2; exit 1; }
done

python3 - "$work" "$lines" "$size" <<'PY'
import statistics, sys, os
work, lines, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = {}
for tool in ("agent", "mtail"):
    path = os.path.join(work, tool + ".times")
    if not os.path.exists(path):
        continue
    runs = [tuple(map(float, l.split())) for l in open(path) if l.strip()]
    wall = statistics.median(r[0] for r in runs)
    cpu = statistics.median(r[1] for r in runs)
    rss = statistics.median(r[2] for r in runs) / 1024
    rows[tool] = (wall, cpu, rss, len(runs))
print(f"{'':6} {'runs':>4} {'wall s':>8} {'cpu s':>8} {'lines/s (wall)':>15} {'lines/s (cpu)':>14} {'MB/s (cpu)':>11} {'peak RSS MB':>12}")
for tool, (wall, cpu, rss, n) in rows.items():
    print(f"{tool:6} {n:>4} {wall:>8.2f} {cpu:>8.2f} {lines / wall:>15,.0f} {lines / cpu:>14,.0f} {size / cpu / 1e6:>11.1f} {rss:>12.1f}")
if "agent" in rows and "mtail" in rows:
    a, m = rows["agent"], rows["mtail"]
    print(f"agent / mtail lines/s: {m[0] / a[0]:.1f}x (wall), {m[1] / a[1]:.1f}x (cpu); target 25x")
PY
