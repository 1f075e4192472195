#!/usr/bin/env bash
# The Prometheus API endpoints (issue 14) against Prometheus 2.42 on the same data: a local page of
# SERIES gauges (100 names, bench-exposition.sh's shape, with HELP) scraped by both every 5 s, and
# the same 20 alerting rules evaluated by both every 5 s. For each endpoint on both: the time from
# request to the whole answer read, over one kept-alive connection per server (no process start or
# connect in the figure), requests to the two alternating; median and fastest of RUNS.
set -euo pipefail
cd "$(dirname "$0")/.."
AGENT=${AGENT:-.build/release/agent}
SERIES=${SERIES:-10000}
RUNS=${RUNS:-50}
[ -x "$AGENT" ] || { echo "bench-prom-api: $AGENT is missing; run make release first" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

python3 - "$work" "$SERIES" <<'EOF'
import sys, random
work, n = sys.argv[1], int(sys.argv[2])
with open(f"{work}/metrics", "w") as f:
    for name in range(100):
        f.write(f"# HELP bench_metric_{name} A gauge of the benchmark, number {name}.\n# TYPE bench_metric_{name} gauge\n")
        for i in range(name, n, 100):
            f.write(f'bench_metric_{name}{{instance_id="host-{i}",zone="z{i % 7}"}} {random.random() * 1000:.3f}\n')
with open(f"{work}/rules.yaml", "w") as f:
    f.write("groups:\n  - name: bench\n    interval: 5s\n    rules:\n")
    for r in range(20):
        f.write(f"      - alert: BenchHigh{r}\n        expr: bench_metric_{r} > 900\n        labels: {{severity: warning}}\n"
                f"        annotations: {{summary: \"{{{{ $labels.instance_id }}}} at {{{{ $value }}}}\"}}\n")
EOF

peer_port=$(free_port)
(cd "$work" && exec python3 -m http.server "$peer_port" --bind 127.0.0.1 >/dev/null 2>&1) &
pids+=($!)
disown
agent_port=$(free_port)
prom_port=$(free_port)
cat >"$work/agent.yaml" <<EOF
global: {state_dir: $work/state, series_limit: 100000, checkpoint_interval: 1h, evaluation_interval: 5s}
listen: {socket: $work/agent.sock, http: "127.0.0.1:$agent_port", expose: all}
rule_files: [$work/rules.yaml]
scrape:
  - job: peer
    scrape_interval: 5s
    targets: [http://127.0.0.1:$peer_port/metrics]
EOF
"$AGENT" run --config "$work/agent.yaml" >"$work/agent.log" 2>&1 &
pids+=($!)
disown
cat >"$work/prometheus.yml" <<EOF
global: {scrape_interval: 5s, evaluation_interval: 5s}
rule_files: [$work/rules.yaml]
scrape_configs:
  - job_name: peer
    static_configs: [{targets: ['127.0.0.1:$peer_port']}]
EOF
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$prom_port" --log.level=warn >"$work/prometheus.log" 2>&1 &
pids+=($!)
disown

agent="http://127.0.0.1:$agent_port"
prom="http://127.0.0.1:$prom_port"
count() { curl -fsS "$1/api/v1/series?match%5B%5D=%7B__name__%3D~%22bench_.%2A%22%7D" 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]))' 2>/dev/null || echo 0; }
rules() { curl -fsS "$1/api/v1/rules" 2>/dev/null | python3 -c 'import json,sys; print(sum(1 for g in json.load(sys.stdin)["data"]["groups"] for r in g["rules"] if r.get("lastEvaluation", "").startswith("2")))' 2>/dev/null || echo 0; }
for _ in $(seq 300); do
    a=$(count "$agent"); p=$(count "$prom")
    [ "$a" = "$SERIES" ] && [ "$p" = "$SERIES" ] && [ "$(rules "$agent")" = 20 ] && [ "$(rules "$prom")" = 20 ] && break
    sleep 0.5
done
[ "$a" = "$SERIES" ] && [ "$p" = "$SERIES" ] || { echo "bench-prom-api: data incomplete (agent $a, prometheus $p of $SERIES series)" >&2; exit 1; }

q() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
paths=(
    "/api/v1/labels"
    "/api/v1/label/instance_id/values"
    "/api/v1/series?match%5B%5D=bench_metric_7"
    "/api/v1/series?match%5B%5D=$(q '{__name__=~"bench_.*"}')"
    "/api/v1/metadata"
    "/api/v1/scrape_pools"
    "/api/v1/targets"
    "/api/v1/targets/metadata?match_target=$(q '{job="peer"}')"
    "/api/v1/rules"
    "/api/v1/alerts"
    "/api/v1/status/buildinfo"
    "/api/v1/status/runtimeinfo"
    "/api/v1/status/config"
    "/api/v1/status/flags"
    "/api/v1/format_query?query=$(q 'sum(rate(x[5m]))by(job)')"
    "/api/v1/query_exemplars?query=bench_metric_7"
    "/federate?match%5B%5D=bench_metric_7"
    "/federate?match%5B%5D=$(q '{__name__=~"bench_.*"}')"
)
echo "agent $("$AGENT" version 2>/dev/null | head -1), prometheus $(prometheus --version 2>&1 | head -1 | awk '{print $3}'): $SERIES gauges in 100 families, 20 alerting rules"
echo "+ GET each path $RUNS times (after 5) on one kept-alive connection per server, alternating"
python3 - "$agent_port" "$prom_port" "$RUNS" "${paths[@]}" <<'EOF'
import http.client, statistics, sys, time, urllib.parse
agent, prom, runs, paths = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for port in (agent, prom)]
def fetch(conn, path):
    t = time.perf_counter()
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        sys.exit(f"bench-prom-api: {path}: HTTP {r.status}: {body[:200]!r}")
    return (time.perf_counter() - t) * 1000, len(body)
print(f"{'endpoint':<52} {'agent ms':>16} {'prometheus ms':>16} {'ratio':>6}  bytes agent / prometheus")
for path in paths:
    times, sizes = ([], []), [0, 0]
    for i in range(5 + runs):
        for k in (0, 1):
            ms, sizes[k] = fetch(conns[k], path)
            if i >= 5:
                times[k].append(ms)
    a, p = statistics.median(times[0]), statistics.median(times[1])
    cell = lambda ts: f"{statistics.median(ts):7.2f} ({min(ts):5.2f})"
    print(f"{urllib.parse.unquote(path)[:52]:<52} {cell(times[0]):>16} {cell(times[1]):>16} {a / p:6.2f}  {sizes[0]} / {sizes[1]}")
EOF
