#!/usr/bin/env bash
# The Prometheus API endpoints (issue 14) against Prometheus 2.42 on the same data: a local page of
# SERIES gauges (100 names, bench-exposition.sh's shape, with HELP) scraped by both every 5 s, and
# the same 20 alerting rules evaluated by both every 5 s. Wall time of one whole answer fetched
# with curl (request, answer built, sent), hyperfine medians, for each endpoint on both.
set -euo pipefail
cd "$(dirname "$0")/.."
AGENT=${AGENT:-.build/release/agent}
SERIES=${SERIES:-10000}
RUNS=${RUNS:-20}
[ -x "$AGENT" ] || { echo "bench-prom-api: $AGENT is missing; run make release first" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "bench-prom-api: hyperfine is missing (make bench-deps)" >&2; exit 1; }

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
echo "+ hyperfine -N --warmup 3 --runs $RUNS 'curl -fsS -o /dev/null AGENT/PATH' 'curl -fsS -o /dev/null PROMETHEUS/PATH'"
printf '%-52s %10s %12s %7s\n' "endpoint" "agent ms" "prometheus ms" "ratio"
for path in "${paths[@]}"; do
    hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$work/h.json" \
        "curl -fsS -o /dev/null $agent$path" "curl -fsS -o /dev/null $prom$path" >/dev/null
    python3 - "$work/h.json" "$path" <<'EOF'
import json, sys, urllib.parse
r = json.load(open(sys.argv[1]))["results"]
a, p = r[0]["median"] * 1000, r[1]["median"] * 1000
print(f"{urllib.parse.unquote(sys.argv[2])[:52]:<52} {a:10.2f} {p:12.2f} {a / p:7.2f}")
EOF
done
