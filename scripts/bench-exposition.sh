#!/usr/bin/env bash
# `/metrics` with `listen.expose: all` against Prometheus's own `/federate` over the same data:
# a local page of SERIES gauges (100 names) scraped by both every 5 s, plus (agent only) a JSONL
# log giving 100 distribution series (summaries: 4 quantiles over 5 min, _count, _sum). Wall time
# of one whole page fetched with curl (page built + sent), hyperfine medians.
set -euo pipefail
cd "$(dirname "$0")/.."
AGENT=${AGENT:-.build/release/agent}
SERIES=${SERIES:-10000}
RUNS=${RUNS:-30}
[ -x "$AGENT" ] || { echo "bench-exposition: $AGENT is missing; run make release first" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "bench-exposition: hyperfine is missing (make bench-deps)" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

python3 - "$work" "$SERIES" <<'EOF'
import sys, time, random
work, n = sys.argv[1], int(sys.argv[2])
with open(f"{work}/metrics", "w") as f:
    for name in range(100):
        f.write(f"# TYPE bench_metric_{name} gauge\n")
        for i in range(name, n, 100):
            f.write(f'bench_metric_{name}{{instance_id="host-{i}",zone="z{i % 7}"}} {random.random() * 1000:.3f}\n')
now = time.time()
with open(f"{work}/access.jsonl", "w") as f:
    for i in range(20000):
        f.write('{"ts":%.3f,"route":"/r%d","latency_s":%.6f}\n' % (now - 60 + i * 0.0025, i % 100, random.lognormvariate(-3, 0.6)))
EOF

peer_port=$(free_port)
(cd "$work" && exec python3 -m http.server "$peer_port" --bind 127.0.0.1 >/dev/null 2>&1) &
pids+=($!)
disown
agent_port=$(free_port)
prom_port=$(free_port)
cat >"$work/agent.yaml" <<EOF
global: {state_dir: $work/state, series_limit: 100000, checkpoint_interval: 1h, external_labels: {host: bench}}
listen: {socket: $work/agent.sock, http: "127.0.0.1:$agent_port", expose: all}
scrape:
  - job: peer
    scrape_interval: 5s
    targets: [http://127.0.0.1:$peer_port/metrics]
logs:
  - path: $work/access.jsonl
    job: api
    start_at: beginning
    timestamp: {field: ts}
    labels: [route]
    metrics:
      - {name: http_request_duration_seconds, type: distribution, field: latency_s}
EOF
"$AGENT" run --config "$work/agent.yaml" >"$work/agent.log" 2>&1 &
pids+=($!)
disown
cat >"$work/prometheus.yml" <<EOF
global: {scrape_interval: 5s}
scrape_configs:
  - job_name: peer
    static_configs: [{targets: ['127.0.0.1:$peer_port']}]
EOF
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$prom_port" --log.level=warn >"$work/prometheus.log" 2>&1 &
pids+=($!)
disown

agent_url="http://127.0.0.1:$agent_port/metrics"
federate_url="http://127.0.0.1:$prom_port/federate?match%5B%5D=%7B__name__%3D~%22bench_.%2A%22%7D"
for _ in $(seq 300); do
    a=$(curl -fsS "$agent_url" 2>/dev/null | grep -c '^bench_metric' || true)
    p=$(curl -fsS "$federate_url" 2>/dev/null | grep -c '^bench_metric' || true)
    [ "$a" = "$SERIES" ] && [ "$p" = "$SERIES" ] && break
    sleep 0.2
done
[ "$a" = "$SERIES" ] && [ "$p" = "$SERIES" ] || { echo "bench-exposition: pages incomplete (agent $a, prometheus $p of $SERIES)" >&2; exit 1; }

echo "agent $agent_url: $(curl -fsS "$agent_url" | grep -vc '^#') lines, $(curl -fsS "$agent_url" | wc -c) bytes ($SERIES gauges, 100 summaries, own metrics)"
echo "prometheus $(prometheus --version 2>&1 | head -1 | awk '{print $3}') /federate: $(curl -fsS "$federate_url" | grep -vc '^#') lines, $(curl -fsS "$federate_url" | wc -c) bytes ($SERIES gauges)"
echo "+ hyperfine --warmup 3 --runs $RUNS 'curl -fsS -o /dev/null $agent_url' 'curl -fsS -o /dev/null <prometheus /federate>'"
hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$work/h.json" \
    "curl -fsS -o /dev/null $agent_url" "curl -fsS -o /dev/null $federate_url" >/dev/null
python3 - "$work/h.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
a, p = r[0]["median"] * 1000, r[1]["median"] * 1000
print(f"median page fetch: agent /metrics {a:.1f} ms, prometheus /federate {p:.1f} ms (agent/prometheus {a / p:.2f})")
EOF
rss=$(awk '/VmRSS/ {print $2}' "/proc/${pids[1]}/status")
echo "agent resident memory with $SERIES + 100 distribution series: $((rss / 1024)) MiB"
