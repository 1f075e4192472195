#!/usr/bin/env bash
# chaos notify-outage: a webhook receiver is down (connections refused, then 503s) while alerts
# fire and resolve, and the agent is kill -9'ed and restarted several times during the outage
# (and once more while the backlog is being delivered). Guarantee checked: every notification is
# delivered (answered 2xx) at least once, and every duplicate carries the same Idempotency-Key as
# the first delivery, so the receiver can drop it.
#
#   scripts/chaos/notify-outage.sh [BIN_DIR]     BIN_DIR holds agent and agent-daemon (default .build/release)
#   SHORT=1 scripts/chaos/notify-outage.sh       the short version for make test (≤ 45 s)
#
# Prints: chaos notify: expected=… delivered=… duplicated=… duplicated_same_key=… kills=… requests=… seconds=…
# Exit status: 0 when 100 % were delivered and every duplicate has an equal key; 1 otherwise; 2 on a setup failure.
# Builds nothing; uses a temp dir and ephemeral loopback ports; stops what it starts.
set -euo pipefail

BIN=${1:-.build/release}
SHORT=${SHORT:-0}
AGENT="$BIN/agent"
[[ -x "$AGENT" ]] || { echo "chaos notify: no agent binary at $AGENT (build it first: make release)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "chaos notify: python3 is needed" >&2; exit 2; }

if [[ "$SHORT" == 1 ]]; then ROUNDS=3; KEYS_PER_ROUND=2; UPTIME=2.5; DELIVERY_DEADLINE=15
else ROUNDS=8; KEYS_PER_ROUND=4; UPTIME=3; DELIVERY_DEADLINE=60; fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/chaos-notify.XXXXXX")
SOCK="$TMP/agent.sock"
AGENT_PID=""
RECEIVER_PID=""
START=$(date +%s)
cleanup() {
    [[ -n "$AGENT_PID" ]] && kill -9 "$AGENT_PID" 2>/dev/null || true
    [[ -n "$RECEIVER_PID" ]] && kill "$RECEIVER_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

# The receiver: bound to an ephemeral port but not listening while "down" (connections are
# refused, the port stays ours), then listening and answering as $TMP/phase says: 503 or 200.
# Every request is logged, before it is answered, as one JSON line.
cat >"$TMP/receiver.py" <<'PY'
import http.server, json, socket, sys, threading, time
phase_file, log_file, port_file = sys.argv[1:4]
def phase():
    try:
        with open(phase_file) as f:
            return f.read().strip() or "down"
    except OSError:
        return "down"
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", 0))
port = sock.getsockname()[1]
with open(port_file + ".tmp", "w") as f:
    f.write(str(port))
import os
os.rename(port_file + ".tmp", port_file)
while phase() == "down":
    time.sleep(0.05)
sock.listen(128)
lock = threading.Lock()
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        code = 200 if phase() == "200" else 503
        try:
            doc = json.loads(body)
            alerts = [[a["labels"].get("key", ""), a["status"]] for a in doc.get("alerts", [])]
        except Exception:
            alerts = None
        record = {"t": time.time(), "code": code, "key": self.headers.get("Idempotency-Key", ""), "alerts": alerts}
        with lock:
            with open(log_file, "a") as f:
                f.write(json.dumps(record) + "\n")
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler, bind_and_activate=False)
server.socket.close()
server.socket = sock
server.server_address = sock.getsockname()
server.daemon_threads = True
server.serve_forever()
PY

echo down >"$TMP/phase"
python3 "$TMP/receiver.py" "$TMP/phase" "$TMP/received.jsonl" "$TMP/port" &
RECEIVER_PID=$!
for _ in $(seq 1 100); do [[ -s "$TMP/port" ]] && break; sleep 0.05; done
[[ -s "$TMP/port" ]] || { echo "chaos notify: the receiver did not start" >&2; exit 2; }
PORT=$(cat "$TMP/port")

# One alert per key: it fires while the key's last value is 1 and resolves when it is 0.
cat >"$TMP/rules.yaml" <<'YAML'
groups:
  - name: chaos
    interval: 1s
    rules:
      - alert: ChaosKey
        expr: chaos_state > 0
YAML
cat >"$TMP/agent.yaml" <<YAML
global:
  state_dir: $TMP/state
  scrape_interval: 1s
  evaluation_interval: 1s
  checkpoint_interval: 1s
listen:
  socket: $SOCK
  http: 127.0.0.1:0
logs:
  - path: $TMP/events.jsonl
    job: chaos
    start_at: beginning
    timestamp: {field: ts, format: unix_milliseconds}
    labels: [key]
    metrics:
      - {name: chaos_state, type: gauge, field: v, labels: [key]}
rule_files: [$TMP/rules.yaml]
notify:
  route: {receiver: hook, group_by: [alertname, key], group_wait: 0s, group_interval: 1s, repeat_interval: 24h}
  receivers:
    - name: hook
      webhook: {url: http://127.0.0.1:$PORT/alerts}
  outbox: {initial_backoff: 200ms, max_backoff: 1s}
YAML
: >"$TMP/events.jsonl"

KILLS=0
start_agent() {
    "$AGENT" run --config "$TMP/agent.yaml" >>"$TMP/agent.log" 2>&1 &
    AGENT_PID=$!
    for _ in $(seq 1 200); do
        if "$AGENT" status --socket "$SOCK" >/dev/null 2>&1; then return 0; fi
        kill -0 "$AGENT_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "chaos notify: the agent did not become ready; its log:" >&2
    tail -n 40 "$TMP/agent.log" >&2
    exit 2
}
kill_agent() {
    kill -9 "$AGENT_PID"
    wait "$AGENT_PID" 2>/dev/null || true
    AGENT_PID=""
    KILLS=$((KILLS + 1))
}
event() {  # key value
    printf '{"ts":%s,"key":"%s","v":%s}\n' "$(date +%s%3N)" "$1" "$2" >>"$TMP/events.jsonl"
}

# Each round: the previous round's alerts resolve (and the agent stays up long enough for the
# rules to see it and checkpoint it: a resolution that no restarted rule ever sees cannot be
# announced), new alerts fire, and the agent is killed at a random moment 0.2–2 s later — before
# or after their notifications were made, before or after the next checkpoint.
start_agent
previous=()
for round in $(seq 1 "$ROUNDS"); do
    sleep 2           # a killed-too-early round's alerts fire again after the restart
    for key in "${previous[@]}"; do event "$key" 0; done
    sleep "$UPTIME"   # the resolutions are evaluated, notified into the outbox, checkpointed
    current=()
    for k in $(seq 1 "$KEYS_PER_ROUND"); do current+=("r${round}k${k}"); event "r${round}k${k}" 1; done
    sleep "$(printf '%d.%d' $((RANDOM % 2)) $((RANDOM % 10)))" 2>/dev/null || true
    sleep 0.2
    kill_agent
    start_agent
    previous=("${current[@]}")
done
echo 503 >"$TMP/phase"   # the receiver is back, but overloaded
sleep 2
for key in "${previous[@]}"; do event "$key" 0; done
sleep "$UPTIME"
echo 200 >"$TMP/phase"
sleep 0.6                # the backlog is being delivered: kill -9 in the middle of it
kill_agent
start_agent
EXPECTED=$((ROUNDS * KEYS_PER_ROUND * 2))

# Wait until every expected notification was answered 200 (or the deadline passes).
count_delivered() {
    python3 - "$TMP/received.jsonl" <<'PY'
import json, sys
seen = set()
try:
    for line in open(sys.argv[1]):
        r = json.loads(line)
        if r["code"] == 200 and r["alerts"]:
            for key, status in r["alerts"]:
                seen.add((key, status))
except FileNotFoundError:
    pass
print(len(seen))
PY
}
for _ in $(seq 1 $((DELIVERY_DEADLINE * 4))); do
    [[ "$(count_delivered)" -ge "$EXPECTED" ]] && break
    sleep 0.25
done
kill -TERM "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null || true
AGENT_PID=""

SECONDS_TAKEN=$(($(date +%s) - START))
set +e
python3 - "$TMP/received.jsonl" "$EXPECTED" "$ROUNDS" "$KEYS_PER_ROUND" "$KILLS" "$SECONDS_TAKEN" <<'PY'
import json, sys
path, expected, rounds, per_round, kills, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
wanted = {(f"r{r}k{k}", s) for r in range(1, rounds + 1) for k in range(1, per_round + 1) for s in ("firing", "resolved")}
first_key = {}
delivered_pairs = set()
duplicated = duplicated_same_key = requests = 0
unexpected = []
try:
    lines = open(path).read().splitlines()
except FileNotFoundError:
    lines = []
for line in lines:
    r = json.loads(line)
    requests += 1
    if r["code"] != 200:
        continue
    if not r["alerts"] or len(r["alerts"]) != 1:
        unexpected.append(r)
        continue
    pair = tuple(r["alerts"][0])
    if pair not in wanted:
        unexpected.append(r)
        continue
    if pair in first_key:
        duplicated += 1
        if r["key"] == first_key[pair]:
            duplicated_same_key += 1
        else:
            print(f"chaos notify: {pair[0]} {pair[1]} delivered again under another key: {first_key[pair]} then {r['key']}", file=sys.stderr)
    else:
        first_key[pair] = r["key"]
        delivered_pairs.add(pair)
delivered = len(delivered_pairs)
print(f"chaos notify: expected={expected} delivered={delivered} duplicated={duplicated} duplicated_same_key={duplicated_same_key} "
      f"kills={kills} requests={requests} seconds={seconds}")
for missing in sorted(wanted - delivered_pairs):
    print(f"chaos notify: never delivered: {missing[0]} {missing[1]}", file=sys.stderr)
for r in unexpected[:5]:
    print(f"chaos notify: unexpected notification: {r}", file=sys.stderr)
ok = delivered == expected and duplicated == duplicated_same_key and not unexpected
sys.exit(0 if ok else 1)
PY
status=$?
if [[ $status -ne 0 ]]; then
    echo "chaos notify: FAILED; the agent's log ends:" >&2
    tail -n 30 "$TMP/agent.log" >&2 || true
fi
exit $status
