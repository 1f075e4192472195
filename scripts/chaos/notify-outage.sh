#!/usr/bin/env bash
# chaos notify-outage: two local webhook receivers are down (connections refused, then 503) while
# alerts fire and resolve, and the agent is killed with kill -9 and started again several times
# during the outage, and once more while the backlog is being delivered. One receiver (`hook`)
# then accepts everything; the other (`refuser`) answers 400 to every firing, as a chat service
# refuses a payload for good.
# Guarantees checked:
#   - every firing and every resolution reaches `hook` (answered 2xx) at least once, and every
#     duplicate carries the Idempotency-Key of its first delivery, so the receiver can drop it;
#   - every firing reaches `refuser` and is refused there, and `refuser` never hears a resolution
#     of an alert whose firing it refused;
#   - the refusal is visible: `agent status` names it with the service's answer, and the log
#     quotes that answer.
# Usage: scripts/chaos/notify-outage.sh [BIN_DIR]   (BIN_DIR holds agent; default .build/release)
# Environment: SHORT=1 for the short run of make test (≈ 25 s; default ≈ 60 s)
# Prints: chaos notify-outage: expected=… delivered=… duplicated=… duplicated_same_key=… …
#         chaos notify-outage: refused=… resolved_after_refusal=… refusal_in_status=… refusal_in_log=…
# Exit status: 0 when every guarantee held; 1 when one broke; 2 when the run could not be set up.
# Builds nothing; uses a temp dir and ephemeral loopback ports; stops what it starts.
set -uo pipefail
BINDIR=$(realpath "${1:-.build/release}")
AGENT="$BINDIR/agent"
[ -x "$AGENT" ] || { echo "chaos notify-outage: $AGENT is missing: build with make release" >&2; exit 2; }
command -v python3 > /dev/null || { echo "chaos notify-outage: python3 is needed" >&2; exit 2; }

if [ "${SHORT:-0}" = 1 ]; then rounds=3; keys_per_round=2; uptime=2.5; delivery_deadline=15
else rounds=8; keys_per_round=4; uptime=3; delivery_deadline=60; fi

work=$(mktemp -d "${TMPDIR:-/tmp}/chaos-notify.XXXXXX")
agent_pid=""
receiver_pid=""
started=$(date +%s)
cleanup() {
    [ -n "$agent_pid" ] && kill -9 "$agent_pid" 2> /dev/null
    [ -n "$receiver_pid" ] && kill "$receiver_pid" 2> /dev/null
    wait 2> /dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# The receivers, one process: bound to an ephemeral port but not listening while "down"
# (connections are refused, the port stays ours), then answering as $work/phase says. `/hook`
# answers 503 or 200; `/refuse` answers 503, or 400 with a JSON reason to a payload with a firing
# alert (200 otherwise: a resolution that gets there is counted, not hidden by an error).
# Every request is logged, before it is answered, as one JSON line.
cat > "$work/receiver.py" << 'PY'
import http.server, json, os, socket, sys, threading, time
phase_file, log_file, port_file = sys.argv[1:4]
def phase():
    try:
        with open(phase_file) as f:
            return f.read().strip() or "down"
    except OSError:
        return "down"
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.bind(("127.0.0.1", 0))
with open(port_file + ".tmp", "w") as f:
    f.write(str(sock.getsockname()[1]))
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
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            alerts = [[a["labels"].get("key", ""), a["status"]] for a in json.loads(body).get("alerts", [])]
        except Exception:
            alerts = None
        answer = b""
        if phase() != "200":
            code = 503
        elif self.path == "/refuse" and alerts and any(s == "firing" for _, s in alerts):
            code, answer = 400, b'{"error":"chaos refuses firing alerts"}'
        else:
            code = 200
        record = {"t": time.time(), "path": self.path, "code": code, "key": self.headers.get("Idempotency-Key", ""), "alerts": alerts}
        with lock:
            with open(log_file, "a") as f:
                f.write(json.dumps(record) + "\n")
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
class Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a killed agent resets its connections: expected, not news
server = Server(("127.0.0.1", 0), Handler, bind_and_activate=False)
server.socket.close()
server.socket = sock
server.server_address = sock.getsockname()
server.daemon_threads = True
server.serve_forever()
PY

echo down > "$work/phase"
python3 "$work/receiver.py" "$work/phase" "$work/received.jsonl" "$work/port" &
receiver_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
[ -s "$work/port" ] || { echo "chaos notify-outage: the receiver did not start" >&2; exit 2; }
port=$(cat "$work/port")

# One alert per key: it fires while the key's last value is 1 and resolves when it is 0. Every
# alert goes to both receivers, one notification per alert.
cat > "$work/rules.yaml" << 'YAML'
groups:
  - name: chaos
    interval: 1s
    rules:
      - alert: ChaosKey
        expr: chaos_state > 0
YAML
cat > "$work/agent.yaml" << YAML
global:
  state_dir: $work/state
  scrape_interval: 1s
  evaluation_interval: 1s
  checkpoint_interval: 1s
listen:
  socket: $work/agent.sock
  http: 127.0.0.1:0
logs:
  - path: $work/events.jsonl
    job: chaos
    start_at: beginning
    timestamp: {field: ts, format: unix_milliseconds}
    labels: [key]
    metrics:
      - {name: chaos_state, type: gauge, field: v, labels: [key]}
rule_files: [$work/rules.yaml]
notify:
  route:
    receiver: hook
    group_by: [alertname, key]
    group_wait: 0s
    group_interval: 1s
    repeat_interval: 24h
    routes:
      - {matchers: ['alertname="ChaosKey"'], receiver: refuser, continue: true}
      - {matchers: ['alertname="ChaosKey"'], receiver: hook}
  receivers:
    - name: hook
      webhook: {url: http://127.0.0.1:$port/hook}
    - name: refuser
      webhook: {url: http://127.0.0.1:$port/refuse}
  outbox: {initial_backoff: 200ms, max_backoff: 1s}
YAML
: > "$work/events.jsonl"
"$AGENT" check config "$work/agent.yaml" > "$work/check.log" 2>&1 || {
    echo "chaos notify-outage: the configuration is refused:" >&2; cat "$work/check.log" >&2; exit 2
}

kills=0
start_agent() {
    "$AGENT" run --config "$work/agent.yaml" >> "$work/agent.log" 2>&1 &
    agent_pid=$!
    for _ in $(seq 200); do
        "$AGENT" status --socket "$work/agent.sock" > /dev/null 2>&1 && return 0
        kill -0 "$agent_pid" 2> /dev/null || break
        sleep 0.05
    done
    echo "chaos notify-outage: the agent did not start; its log:" >&2
    tail -n 40 "$work/agent.log" >&2
    exit 2
}
kill_agent() {
    kill -9 "$agent_pid"
    wait "$agent_pid" 2> /dev/null
    agent_pid=""
    kills=$((kills + 1))
}
event() {  # key value
    printf '{"ts":%s,"key":"%s","v":%s}\n' "$(date +%s%3N)" "$1" "$2" >> "$work/events.jsonl"
}

# Each round: the previous round's alerts resolve (and the agent stays up long enough for the
# rules to see it and checkpoint it: a resolution that no restarted rule ever sees cannot be
# announced, see docs/notifications.md), new alerts fire, and the agent is killed at a random
# moment 0.2–2.1 s later: before or after their notifications were made, before or after the next
# checkpoint.
start_agent
previous=()
for round in $(seq "$rounds"); do
    sleep 2           # a round killed too early: its alerts fire again after the restart
    for key in "${previous[@]}"; do event "$key" 0; done
    sleep "$uptime"   # the resolutions are evaluated, notified into the outbox, checkpointed
    current=()
    for k in $(seq "$keys_per_round"); do current+=("r${round}k${k}"); event "r${round}k${k}" 1; done
    sleep "0.$((RANDOM % 10))"
    sleep "$((RANDOM % 2)).2"
    kill_agent
    start_agent
    previous=("${current[@]}")
done
echo 503 > "$work/phase"   # the receivers are back, but overloaded
sleep 2
for key in "${previous[@]}"; do event "$key" 0; done
sleep "$uptime"
echo 200 > "$work/phase"
sleep 0.6                  # the backlog is being delivered: kill -9 in the middle of it
kill_agent
start_agent

# The verdict on what the receivers logged: `report.py LOG ROUNDS KEYS [key=value …]` prints the
# summary (the key=values appended) and exits 1 when a guarantee is broken, its reasons in
# LOG.problems; with `done` it only says (exit 0) whether everything due has arrived.
cat > "$work/report.py" << 'PY'
import json, sys
path, rounds, per_round = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
only_done = len(sys.argv) > 4 and sys.argv[4] == "done"
keys = [f"r{r}k{k}" for r in range(1, rounds + 1) for k in range(1, per_round + 1)]
wanted = {(key, s) for key in keys for s in ("firing", "resolved")}
# `last` fires once everything else has arrived, for the agent then running to see a refusal.
last = {("last", "firing")}
first_key, refused_key = {}, {}
duplicated = duplicated_same_key = requests = resolved_after_refusal = 0
unexpected, problems = [], []
try:
    lines = open(path).read().splitlines()
except FileNotFoundError:
    lines = []
for line in lines:
    r = json.loads(line)
    requests += 1
    alerts = r["alerts"]
    if alerts and len(alerts) == 1 and tuple(alerts[0]) in last:
        continue
    if not alerts or len(alerts) != 1 or tuple(alerts[0]) not in wanted:
        unexpected.append(r)
        continue
    key, status = alerts[0]
    if r["path"] == "/refuse":
        if status == "firing" and r["code"] == 400:
            refused_key.setdefault(key, r["key"])
        elif status == "resolved":
            resolved_after_refusal += 1
            problems.append(f"{key} resolved was sent to the receiver that refused its firing (answered {r['code']})")
        continue
    if r["path"] != "/hook":
        unexpected.append(r)
        continue
    if r["code"] != 200:
        continue
    pair = (key, status)
    if pair in first_key:
        duplicated += 1
        if r["key"] == first_key[pair]:
            duplicated_same_key += 1
        else:
            problems.append(f"{key} {status} delivered again under another key: {first_key[pair]} then {r['key']}")
    else:
        first_key[pair] = r["key"]
missing = sorted(wanted - set(first_key))
unrefused = sorted(set(keys) - set(refused_key))
if only_done:
    sys.exit(0 if not missing and not unrefused else 1)
print(f"chaos notify-outage: expected={len(wanted)} delivered={len(first_key)} duplicated={duplicated} "
      f"duplicated_same_key={duplicated_same_key} requests={requests}")
print(f"chaos notify-outage: refused={len(refused_key)} of={len(keys)} resolved_after_refusal={resolved_after_refusal} " + " ".join(sys.argv[4:]))
for key, status in missing:
    problems.append(f"never delivered: {key} {status}")
for key in unrefused:
    problems.append(f"the firing of {key} never reached the refusing receiver")
for r in unexpected[:5]:
    problems.append(f"unexpected notification: {r}")
with open(path + ".problems", "w") as f:
    f.write("".join(p + "\n" for p in problems))
sys.exit(1 if problems else 0)
PY
for _ in $(seq $((delivery_deadline * 4))); do
    python3 "$work/report.py" "$work/received.jsonl" "$rounds" "$keys_per_round" done && break
    sleep 0.25
done

# The refusal as an operator sees it: `agent status` (the last refusal, with the service's answer)
# and the log line that quotes the answer (written by one of the runs). `agent status` shows the
# refusals of the running agent (a restart keeps their effect, the withheld resolutions, but not
# their counts): the backlog's refusals may all have happened before the last kill, so one more
# alert fires now and the running agent sees its refusal.
event last 1
refusal_in_status=no
for _ in $(seq $((delivery_deadline * 4))); do
    status_text=$("$AGENT" status --socket "$work/agent.sock" 2> /dev/null)
    if grep -q '^  refuser/webhook\[0\]: .* refused.*; last refused .*(HTTP 400): .*chaos refuses firing alerts' <<< "$status_text"; then
        refusal_in_status=yes
        break
    fi
    sleep 0.25
done
refusal_in_log=no
if grep -q 'refuser/webhook\[0\] failed permanently.*answered 400: .*chaos refuses firing alerts' "$work/agent.log"; then
    refusal_in_log=yes
fi

kill -TERM "$agent_pid"
wait "$agent_pid" 2> /dev/null
agent_pid=""

python3 "$work/report.py" "$work/received.jsonl" "$rounds" "$keys_per_round" \
    "refusal_in_status=$refusal_in_status" "refusal_in_log=$refusal_in_log" "kills=$kills" "seconds=$(($(date +%s) - started))"
verdict=$?
[ -s "$work/received.jsonl.problems" ] && sed 's/^/chaos notify-outage: /' "$work/received.jsonl.problems" >&2
if [ "$refusal_in_status" != yes ]; then
    echo "chaos notify-outage: agent status does not show the refusal with the service's answer:" >&2
    printf '%s\n' "$status_text" >&2
    verdict=1
fi
if [ "$refusal_in_log" != yes ]; then
    echo "chaos notify-outage: no log line quotes the service's answer to the refused firing" >&2
    verdict=1
fi
if [ "$verdict" -ne 0 ]; then
    echo "chaos notify-outage: FAILED; the agent's log ends:" >&2
    tail -n 30 "$work/agent.log" >&2
fi
exit "$verdict"
