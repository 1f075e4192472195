#!/usr/bin/env bash
# chaos remote-write-outage: the receivers of remote write (Prometheus 2.42 with its receiver on,
# and VictoriaMetrics, which keeps a sample sent twice twice) go down for OUTAGE seconds while the
# agent scrapes itself and tails a growing log; halfway through the outage the agent is killed with
# kill -9 and started again. When the receivers are back, every sample the agent holds for the
# whole window must be in each receiver, once: the rings are the only buffer, the progress files
# say where sending resumes.
# Usage: scripts/chaos/remote-write-outage.sh [BIN_DIR]   (default .build/release; SHORT=1: a 12 s outage)
# Prints `chaos remote-write-outage: key=value …` lines; exits 1 when a sample is missing or doubled.
set -uo pipefail
bin=$(realpath "${1:-.build/release}")
[ -x "$bin/agent" ] || { echo "no agent in $bin: build first" >&2; exit 2; }
for tool in prometheus victoria-metrics python3; do
    command -v "$tool" >/dev/null || { echo "$tool is not installed (make test-deps)" >&2; exit 2; }
done
if [ -n "${SHORT:-}" ]; then warmup=6; outage=12; else warmup=15; outage=${OUTAGE:-120}; fi

tmp=$(mktemp -d /tmp/chaos-rw.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 600); do curl -sf "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "not ready: $1" >&2; return 1; }

prom_port=$(port); vm_port=$(port); agent_port=$(port)
echo 'global: {scrape_interval: 15s}' > "$tmp/prometheus.yml"
start_prometheus() {
    prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" --web.listen-address=127.0.0.1:$prom_port \
        --web.enable-remote-write-receiver --log.level=warn >>"$tmp/prometheus.log" 2>&1 &
    prom_pid=$!; pids+=("$prom_pid")
    wait_http "http://127.0.0.1:$prom_port/-/ready"
}
start_victoria() {
    victoria-metrics -httpListenAddr=127.0.0.1:$vm_port -storageDataPath="$tmp/vm" -search.latencyOffset=0 \
        -search.disableCache -loggerLevel=ERROR >>"$tmp/vm.log" 2>&1 &
    vm_pid=$!; pids+=("$vm_pid")
    wait_http "http://127.0.0.1:$vm_port/health"
}
# A clean stop: what a receiver acknowledged is on its disk.
stop() { kill -TERM "$1"; for _ in $(seq 1 300); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; kill -9 "$1"; }
start_prometheus || exit 2
start_victoria || exit 2

# A log that grows by 20 lines a second.
python3 - "$tmp/access.jsonl" >/dev/null 2>&1 <<'PY' &
import sys, time
i = 0
with open(sys.argv[1], "a", buffering=1) as f:
    while True:
        i += 1
        f.write('{"ts":%.3f,"route":"/r%d","status":%d,"latency_s":%.3f}\n' % (time.time(), i % 3, 500 if i % 10 == 0 else 200, (i * 37 % 200 + 1) / 1000))
        time.sleep(0.05)
PY
pids+=($!)

cat > "$tmp/agent.yaml" <<EOF
global:
  resolution: 1s
  retention: 10m
  scrape_interval: 1s
  evaluation_interval: 1s
  checkpoint_interval: 1s
  state_dir: $tmp/state
  external_labels: {host: chaos}
listen:
  socket: $tmp/agent.sock
  http: 127.0.0.1:$agent_port
scrape:
  - job: self
    targets: [http://127.0.0.1:$agent_port/metrics]
logs:
  - path: $tmp/access.jsonl
    job: api
    start_at: beginning
    timestamp: {field: ts}
    metrics:
      - {name: http_requests_total, type: counter, labels: [route, status]}
      - {name: http_request_duration_seconds, type: distribution, field: latency_s}
remote_write:
  - {url: "http://127.0.0.1:$prom_port/api/v1/write", name: prometheus, queue_config: {batch_send_deadline: 1s, max_backoff: 1s}}
  - {url: "http://127.0.0.1:$vm_port/api/v1/write", name: victoria, queue_config: {batch_send_deadline: 1s, max_backoff: 1s}}
EOF
start_agent() {
    "$bin/agent" run --config "$tmp/agent.yaml" >>"$tmp/agent.log" 2>&1 &
    agent_pid=$!; pids+=("$agent_pid")
    wait_http "http://127.0.0.1:$agent_port/-/ready"
}
start_agent || { tail -20 "$tmp/agent.log"; exit 2; }
sleep "$warmup"

window_start=$(date +%s.%N)
stop "$prom_pid"; stop "$vm_pid"
sleep $(( outage / 2 ))
kill -9 "$agent_pid"; { wait "$agent_pid"; } 2>/dev/null
start_agent || { tail -20 "$tmp/agent.log"; exit 2; }
sleep $(( outage - outage / 2 ))
start_prometheus || exit 2
start_victoria || exit 2
window_end=$(date +%s.%N)

# Compare once both endpoints have acknowledged everything up to the end of the window.
python3 - "$agent_port" "$prom_port" "$vm_port" "$window_start" "$window_end" "$tmp/agent.sock" "$bin/agent" <<'PY'
import json, subprocess, sys, time, urllib.parse, urllib.request
agent, prom, vm = sys.argv[1:4]
start, end = float(sys.argv[4]), float(sys.argv[5])
sock, cli = sys.argv[6], sys.argv[7]

def query(port, expr, t):
    url = "http://127.0.0.1:%s/api/v1/query?%s" % (port, urllib.parse.urlencode({"query": expr, "time": "%.3f" % t}))
    return json.load(urllib.request.urlopen(url, timeout=30))["data"]["result"]

def samples(port, expr, t, drop=("host",)):
    out = {}
    for r in query(port, expr, t):
        key = ",".join("%s=%s" % kv for kv in sorted(r["metric"].items()) if kv[0] not in drop)
        out[key] = [(round(float(ts) * 1000), v) for ts, v in r["values"] if v != "NaN"]
    return out

def watermarks():
    try:
        doc = json.loads(subprocess.run([cli, "status", "--output", "json", "--socket", sock], capture_output=True, text=True, timeout=30).stdout)
        return {e["name"]: e.get("watermark", 0) for e in doc.get("remote_write", [])}, doc
    except Exception:
        return {}, {}

# A query time on no sample: Prometheus 2 selects [t-r, t], the agent (t-r, t].
rng = int(end - start + 20)
t = int(end * 1000) + 3000
mine = samples(agent, '{__name__=~".+"}[%ds]' % (rng + 20), t / 1000 + 1)
times = {ts for values in mine.values() for ts, _ in values}
while t in times or t - rng * 1000 in times:
    t += 1
deadline = time.time() + 90
while True:
    marks, doc = watermarks()
    if marks and all(w >= t for w in marks.values()):
        break
    if time.time() > deadline:
        print("chaos remote-write-outage: caught_up=false watermarks=%s" % marks)
        sys.exit(1)
    time.sleep(0.5)
caught_up = time.time() - end
mine = samples(agent, '{__name__=~".+"}[%ds]' % rng, t / 1000)
mine.update(samples(agent, 'http_request_duration_seconds_count[%ds]' % rng, t / 1000))
held = sum(len(v) for v in mine.values())
broken = False
for name, port in (("prometheus", prom), ("victoria", vm)):
    for attempt in range(60):  # VictoriaMetrics makes what it acknowledged searchable within seconds
        theirs = samples(port, '{host="chaos"}[%ds]' % rng, t / 1000)
        missing = doubled = differ = 0
        for key, values in mine.items():
            got = theirs.get(key, [])
            have = {}
            for ts, v in got:
                have.setdefault(ts, []).append(v)
            for ts, v in values:
                vs = have.get(ts, [])
                if not vs: missing += 1
                elif len(vs) > 1: doubled += len(vs) - 1
                elif abs(float(vs[0]) - float(v)) > 1e-11 * max(abs(float(v)), 1e-300): differ += 1
        if missing == doubled == differ == 0:
            break
        time.sleep(0.5)
    ep = next((e for e in doc.get("remote_write", []) if e["name"] == name), {})
    print("chaos remote-write-outage: receiver=%s series=%d samples=%d missing=%d doubled=%d differing=%d retried=%d dropped=%d caught_up_s=%.1f"
          % (name, len(mine), held, missing, doubled, differ, ep.get("samples_retried", 0), ep.get("samples_dropped_retention", 0), caught_up))
    broken = broken or missing or doubled or differ
sys.exit(1 if broken else 0)
PY
rc=$?
echo "chaos remote-write-outage: outage_s=$outage agent_killed=1 result=$([ $rc -eq 0 ] && echo held || echo BROKEN)"
exit $rc
