#!/usr/bin/env bash
# Notification delay, agent vs Alertmanager, both with group_wait 0s and a webhook receiver on
# 127.0.0.1: from an alert becoming firing (agent: Notifier.receive; Alertmanager: POST
# /api/v2/alerts answered) to its webhook arriving. Prints the commands it ran and the medians.
# The agent's figures come from the NotifyBenchmarks target (ordo-one/benchmark).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-200}

echo "== agent: (cd Benchmarks && swift package --disable-sandbox benchmark --target NotifyBenchmarks --filter 'Firing.*' --filter '1 000 notif.*')"
(cd Benchmarks && swift package --disable-sandbox benchmark --target NotifyBenchmarks --filter 'Firing.*' --filter '1 000 notif.*' 2>&1) \
    | grep -v '^\[' | grep -A6 -E '^(Firing|1 000)' || true

AM=$(command -v prometheus-alertmanager || command -v alertmanager || true)
if [ -z "$AM" ]; then
    echo "== Alertmanager not installed (apt install prometheus-alertmanager): no comparison"
    exit 0
fi
echo "== Alertmanager: $AM, group_wait 0s, $N alerts posted one at a time to /api/v2/alerts"
python3 - "$AM" "$N" <<'PY'
import json, os, shutil, socket, statistics, subprocess, sys, tempfile, threading, time, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

am_binary, n = sys.argv[1], int(sys.argv[2])
arrived = {}
cond = threading.Condition()

class Hook(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        now = time.perf_counter()
        for a in json.loads(body)["alerts"]:
            with cond:
                arrived.setdefault(a["labels"]["alertname"], now)
                cond.notify_all()
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()

hook = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
threading.Thread(target=hook.serve_forever, daemon=True).start()
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
d = tempfile.mkdtemp()
with open(f"{d}/am.yml", "w") as f:
    f.write(f"""route: {{receiver: hook, group_by: [alertname], group_wait: 0s, group_interval: 1m, repeat_interval: 4h}}
receivers: [{{name: hook, webhook_configs: [{{url: 'http://127.0.0.1:{hook.server_address[1]}/', send_resolved: false}}]}}]
""")
cmd = [am_binary, f"--config.file={d}/am.yml", f"--storage.path={d}/data", f"--web.listen-address=127.0.0.1:{port}",
       "--cluster.listen-address=", "--log.level=error"]
print("   " + " ".join(cmd), flush=True)
am = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=1); break
        except Exception: time.sleep(0.05)
    delays = []
    for i in range(n):
        name = f"Bench{i}"
        body = json.dumps([{"labels": {"alertname": name, "severity": "high"}}]).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v2/alerts", data=body, headers={"Content-Type": "application/json"})
        start = time.perf_counter()
        urllib.request.urlopen(req, timeout=5).read()
        with cond:
            cond.wait_for(lambda: name in arrived, timeout=5)
        if name in arrived: delays.append((arrived[name] - start) * 1000)
    delays.sort()
    print(f"   Alertmanager API → webhook: median {statistics.median(delays):.1f} ms, p90 {delays[int(len(delays)*0.9)]:.1f} ms, p99 {delays[int(len(delays)*0.99)]:.1f} ms ({len(delays)} alerts)")
finally:
    am.kill(); am.wait(); shutil.rmtree(d, ignore_errors=True)
PY
