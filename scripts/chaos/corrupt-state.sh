#!/usr/bin/env bash
# chaos corrupt-state: each state file damaged in turn after a kill -9 (docs/health.md, "State
# files"). A silenced, firing alert must stay silenced after every restart: the damaged file is set
# aside, the others are restored, nothing is notified. Usage: corrupt-state.sh [BINARY_DIR]
# (default .build/release); builds nothing, uses a temporary folder, no TCP listener.
set -euo pipefail
bin="$(cd "${1:-.build/release}" && pwd)"
tmp="$(mktemp -d)"
pid=""
cleanup() {
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

mkdir -p "$tmp/rules"
cat > "$tmp/rules/always.yaml" <<'YAML'
groups:
  - name: always
    interval: 1s
    rules:
      - alert: Always
        expr: vector(1)
        # Pending for 2 s first: the silence, added as soon as the agent answers, is in place before it fires.
        for: 2s
YAML
cat > "$tmp/agent.yaml" <<YAML
global:
  state_dir: $tmp/state
  checkpoint_interval: 1s
  evaluation_interval: 1s
  reload_check_interval: 0s
listen:
  socket: $tmp/agent.sock
  http: ""
rule_files: [rules/*.yaml]
notify:
  route: {receiver: out, group_wait: 0s, group_interval: 1s, repeat_interval: 1s}
  receivers:
    - name: out
      file: {path: $tmp/notifications.jsonl}
YAML

start() {
    "$bin/agent" run --config "$tmp/agent.yaml" >> "$tmp/agent.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 200); do
        "$bin/agent" status --socket "$tmp/agent.sock" > /dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || { echo "chaos corrupt-state: the agent exited"; tail -20 "$tmp/agent.log"; exit 1; }
        sleep 0.1
    done
    echo "chaos corrupt-state: the agent did not start"; tail -20 "$tmp/agent.log"; exit 1
}

# A silence before the alert first fires: it must never be notified.
start
"$bin/agent" silence add 'alertname="Always"' --for 2h --comment chaos --author chaos --socket "$tmp/agent.sock" > /dev/null
for _ in $(seq 1 100); do
    [ -f "$tmp/state/silences.bin" ] && [ -f "$tmp/state/alerts.bin" ] && break
    sleep 0.1
done
sleep 4  # past the 2 s pending: a few evaluations and checkpoints with the alert firing
kill -9 "$pid"; wait "$pid" 2>/dev/null || true; pid=""

status=0
for file in checkpoint.bin alerts.bin notification-log.bin; do
    path="$tmp/state/$file"
    size=$(stat -c %s "$path")
    # Eight bytes in the middle of the file overwritten.
    printf '\xde\xad\xbe\xef\xde\xad\xbe\xef' | dd of="$path" bs=1 seek=$((size / 2)) conv=notrunc status=none
    start
    sleep 5  # past the 2 s pending again, then evaluations that each could notify
    silences=$( { "$bin/agent" silence list --output json --socket "$tmp/agent.sock" || true; } | { grep -o 'Always' || true; } | wc -l)
    notified=$( { cat "$tmp/notifications.jsonl" 2>/dev/null || true; } | { grep -o '"Always"' || true; } | wc -l)
    aside=$(ls "$tmp/state" | { grep -c "^$file.corrupt-" || true; })
    echo "chaos corrupt-state: file=$file set_aside=$aside silences_kept=$silences notified=$notified"
    if [ "$aside" -lt 1 ] || [ "$silences" -lt 1 ] || [ "$notified" -ne 0 ]; then status=1; fi
    kill -9 "$pid"; wait "$pid" 2>/dev/null || true; pid=""
done
exit "$status"
