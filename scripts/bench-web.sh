#!/usr/bin/env bash
# scripts/bench-web.sh [BINARY]: what each web page costs the daemon with 1 000 series and 100
# alerts. The release agent tails a 30-minute log of 1 000 queues (a gauge each, one line per
# queue per 10 s slot) and scrapes its own /metrics; a tiered rule fires for 100 of the queues
# (25 per tier), so /alerts draws 100 sparklines of 30 minutes each. Each page is then fetched
# RUNS times over loopback HTTP, one request at a time.
#
# The figures are the page's own cost as the daemon reports it in `Server-Timing` (reading the
# snapshot from each owner, value histories and queries included, and writing the HTML; not the
# HTTP exchange): wall time and the CPU time of the thread that rendered it (which other
# processes on a busy machine do not inflate), median and 90th percentile; and the part of the
# wall time spent in PromQL (the graph's range query, what /api/v1/query_range pays for the same;
# the alerts' 30-minute histories, 29 instant queries per rule). curl's total time and
# the page size are printed beside them. Budget (issue #16): <= 20 ms per page.
#
# Environment: RUNS=50  AGENT=.build/release/agent (or the first argument)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${1:-${AGENT:-.build/release/agent}}"
RUNS="${RUNS:-50}"
[ -x "$BIN" ] || { echo "bench-web: $BIN is missing: run make release first" >&2; exit 1; }
command -v curl > /dev/null || { echo "bench-web: curl is missing" >&2; exit 1; }
work="$(mktemp -d /tmp/bench-web.XXXXXX)"
pid=""
cleanup() {
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2> /dev/null || true
        wait "$pid" 2> /dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 - "$work/queues.jsonl" <<'PY'
import json, math, sys, time
# 1 000 queues, 30 minutes, one line per queue per 10 s slot. Queues 0-99 sit above the rule's
# tiers (25 per tier), the others below; every queue moves in a wave so sparklines have a shape.
now = time.time()
tiers = [900, 700, 500, 300]
with open(sys.argv[1], "w") as f:
    for slot in range(180):
        t = now - 1800 + slot * 10 + 0.5
        for q in range(1000):
            base = tiers[q // 25] if q < 100 else 50 + q % 100
            depth = base + 40 * math.sin(slot / 12 + q)
            f.write('{"ts":%.3f,"queue":"q%03d","depth":%.1f}\n' % (t + q * 0.001, q, depth))
PY
cat > "$work/rules.yaml" <<'EOF'
groups:
  - name: queues
    interval: 5s
    rules:
      - alert: QueueBacklog
        expr: queue_depth
        tiers:
          - {severity: critical, above: 800}
          - {severity: high, above: 600}
          - {severity: medium, above: 400}
          - {severity: low, above: 200}
        annotations:
          summary: "{{ $labels.queue }} holds {{ $value }} messages"
      - record: queue_depth:sum
        expr: sum(queue_depth)
      - record: queue_depth:max
        expr: max(queue_depth)
      - record: queue_depth:avg_5m
        expr: avg(avg_over_time(queue_depth[5m]))
EOF
cat > "$work/agent.yaml" <<EOF
global:
  state_dir: $work/state
  scrape_interval: 5s
  series_limit: 20000
listen:
  socket: $work/agent.sock
  http: 127.0.0.1:$port
scrape:
  - job: agent
    targets: [http://127.0.0.1:$port/metrics]
logs:
  - path: $work/queues.jsonl
    job: queues
    start_at: beginning
    timestamp: {field: ts}
    metrics:
      - {name: queue_depth, type: gauge, field: depth, labels: [{field: queue, max_values: 1000}]}
rule_files: [$work/rules.yaml]
EOF
"$BIN" run --config "$work/agent.yaml" > "$work/agent.log" 2>&1 &
pid=$!
base="http://127.0.0.1:$port"
echo "\$ $BIN run --config agent.yaml  (1 000 queue series from a 30-minute log, a tiered rule over them, its own /metrics scraped)"
# Ready when every queue series is in the store and the rule has fired for its 100 queues.
ready() {
    curl -s "$base/api/v1/query?query=count(queue_depth)" 2> /dev/null | python3 -c 'import json,sys
try: r=json.load(sys.stdin)["data"]["result"]
except Exception: sys.exit(1)
sys.exit(0 if r and r[0]["value"][1] == "1000" else 1)' || return 1
    n=$(curl -s "$base/api/v1/alerts" | python3 -c 'import json,sys
print(sum(1 for a in json.load(sys.stdin)["data"]["alerts"] if a["state"] == "firing"))') || return 1
    [ "$n" -ge 100 ]
}
n=0
for _ in $(seq 600); do
    ready && break
    sleep 0.2
done
series=$(curl -s "$base/api/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["series"]["total"])')
echo "store: $series series (1 000 queues); firing alerts: $n"
ready || { echo "bench-web: the store or the alerts are short (queues, alerts: $n)" >&2; tail -20 "$work/agent.log" >&2; exit 1; }

pages=("/" "/alerts" "/rules" "/targets" "/logs" "/status"
       "/graph?expr=queue_depth&range=1h"
       "/graph?expr=sum(queue_depth)&range=1h"
       "/graph?expr=topk(10,queue_depth)&range=1h")
printf '%-40s %17s %17s %10s %10s %8s\n' "page ($RUNS requests each)" "wall p50 / p90" "CPU p50 / p90" "query p50" "curl p50" "size"
for page in "${pages[@]}"; do
    : > "$work/times"
    for _ in $(seq "$RUNS"); do
        curl -s -o "$work/body" -D "$work/head" -w '%{time_total} %{size_download}\n' "$base$page" > "$work/curl"
        timing=$(grep -i '^server-timing:' "$work/head" | tr -d '\r')
        echo "$(cat "$work/curl") $timing" >> "$work/times"
    done
    python3 - "$work/times" "$page" <<'PY'
import re, sys
rows = [l for l in open(sys.argv[1]) if l.strip()]
def series(name):
    out = []
    for l in rows:
        m = re.search(r"\b%s;dur=([0-9.]+)" % name, l)
        if m: out.append(float(m.group(1)))
    return sorted(out)
q = lambda xs, p: xs[min(len(xs) - 1, int(p * len(xs)))] if xs else float("nan")
wall, cpu, query = series("page"), series("cpu"), series("query")
total = sorted(float(l.split()[0]) * 1000 for l in rows)
size = int(rows[-1].split()[1])
print("%-40s %7.2f / %6.2f ms %7.2f / %6.2f ms %10s %7.2f ms %5.0f KB" % (sys.argv[2], q(wall, .5), q(wall, .9), q(cpu, .5), q(cpu, .9),
      "%.2f ms" % q(query, .5) if query else "-", q(total, .5), size / 1024))
PY
done
# The peer of the graph: the same range queries through the API (1 h at the page's 20 s step).
echo "the graphs' queries through /api/v1/query_range (curl total, $RUNS requests each):"
for expr in 'queue_depth' 'sum(queue_depth)' 'topk(10,queue_depth)'; do
    : > "$work/times"
    for _ in $(seq "$RUNS"); do
        end=$(( $(date +%s) / 20 * 20 ))
        curl -s -o /dev/null -w '%{time_total}\n' "$base/api/v1/query_range" --data-urlencode "query=$expr" \
            --data-urlencode "start=$((end - 3600))" --data-urlencode "end=$end" --data-urlencode "step=20" >> "$work/times"
    done
    python3 - "$work/times" "$expr" <<'PY'
import sys
t = sorted(float(l) * 1000 for l in open(sys.argv[1]) if l.strip())
print("  %-38s %9.2f ms p50 %9.2f ms p90" % (sys.argv[2], t[len(t) // 2], t[min(len(t) - 1, int(.9 * len(t)))]))
PY
done
