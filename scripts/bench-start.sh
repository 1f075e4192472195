#!/usr/bin/env bash
# scripts/bench-start.sh [BIN_DIR]: what starting the `agent` binary costs (issue 17 item 2) — its
# size, the shared libraries the loader maps (`ldd`), the relocations it processes
# (LD_DEBUG=statistics) and, with hyperfine -N --warmup 5 --runs RUNS, `agent version`,
# `agent --help` and two `agent query` calls against a running daemon (the self-monitoring default
# configuration on a Unix socket in a temp dir; the queries of scripts/bench-daemon.sh).
# Every executable in BIN_DIR named agent or agent-* is listed (older builds had two).
# Environment: RUNS=50
set -euo pipefail
cd "$(dirname "$0")/.."
dir="$(realpath "${1:-.build/release}")"
runs="${RUNS:-50}"
bin="$dir/agent"
[ -x "$bin" ] || { echo "bench-start: no agent in $dir: run make release first" >&2; exit 1; }
command -v hyperfine > /dev/null || { echo "bench-start: hyperfine is missing (make bench-deps)" >&2; exit 1; }
work="$(mktemp -d /tmp/bench-start.XXXXXX)"
daemon=""
cleanup() {
    [ -n "$daemon" ] && kill -TERM "$daemon" 2> /dev/null && wait "$daemon" 2> /dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

echo "== binaries"
for file in "$dir"/agent "$dir"/agent-*; do
    [ -x "$file" ] && [ -f "$file" ] || continue
    # The loader's own figures for `version` (the first block: start-up, before any dlopen).
    relocations=$(LD_DEBUG=statistics "$file" --version 2>&1 > /dev/null |
        awk '/number of relocations:/ && !s { s = $NF } /relative relocations:/ && !r { r = $NF } END { print s " symbol + " r " relative" }')
    printf '%-14s %6.1f MB  ldd %2d lines  relocations %s\n' "$(basename "$file")" \
        "$(stat -c %s "$file" | awk '{ print $1 / 1048576 }')" "$(ldd "$file" | wc -l)" "$relocations"
done

# A log with a latency distribution, read from its beginning, for the p95 query.
for i in $(seq 200); do
    printf '{"ts":"2026-01-01T00:00:00Z","route":"/r%d","status":200,"latency_ms":%d}\n' $((i % 5)) "$i"
done > "$work/access.jsonl"
cat > "$work/agent.yaml" <<YAML
global:
  state_dir: $work/state
listen:
  socket: $work/s
  http: 127.0.0.1:0
logs:
  - path: $work/access.jsonl
    job: api
    start_at: beginning
    labels: [route]
    metrics:
      - {name: http_request_duration_ms, type: distribution, field: latency_ms}
YAML
"$bin" run --config "$work/agent.yaml" > "$work/daemon.log" 2>&1 &
daemon=$!
for _ in $(seq 300); do
    "$bin" query p95 http_request_duration_ms --by job --socket "$work/s" > /dev/null 2>&1 && break
    sleep 0.1
done
"$bin" query p95 http_request_duration_ms --by job --socket "$work/s" > /dev/null || { echo "bench-start: the daemon did not answer:" >&2; cat "$work/daemon.log" >&2; exit 1; }

echo "== start times (hyperfine -N --warmup 5 --runs $runs; mean ± σ, min)"
hyperfine -N --warmup 5 --runs "$runs" --style none --export-json "$work/times.json" \
    "$bin version" "$bin --help" \
    "$bin query agent_series --socket $work/s" \
    "$bin query p95 http_request_duration_ms --by job --socket $work/s" > /dev/null
python3 - "$work/times.json" "$work/s" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    name = r["command"].replace(sys.argv[2], "SOCKET")
    print(f"{r['mean'] * 1000:6.2f} ± {r['stddev'] * 1000:4.2f} ms  min {r['min'] * 1000:5.2f}  {name}")
PY
