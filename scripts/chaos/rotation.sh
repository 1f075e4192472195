#!/usr/bin/env bash
# scripts/chaos/rotation.sh [BINDIR]: log rotation under `kill -9`, against the release daemon.
#
# One agent (BINDIR/agent, default .build/release) follows four
# logs, each written fast by its own writer (numbered JSONL lines with a timestamp, a few hundred a
# second) and rotated every 0.5–1.5 s, ten generations kept (≥ 5 s of history, more than lies
# between the last checkpoint and a restart here):
#   rename            rename and create, the writer reopening a little later (deploy/agent.yaml's
#                     shape: one path, no glob, start_at: end)
#   copytruncate      copy to .1, truncate in place (one path, no glob)
#   rename-glob       rename and create, with a glob that matches the generations (access.jsonl*)
#   copytruncate-glob copytruncate, with that glob
# Meanwhile the agent is killed with SIGKILL at random moments (≥ 10 times; sometimes down for a
# rotation or two) and started again. The checkpoint interval is 1 s (the least allowed); a restart
# resumes from the last checkpoint taken, and what happened since is what the rotation model has to
# get right (docs/logs.md). At the end the writers stop, the agent catches up,
# and each log's counter (sum(chaos_lines_total) by job) is compared with the lines written:
#   chaos rotation: kind=rename written=… counted=… lost=… duplicated=…
# counted > written means lines counted twice (duplicated=counted-written), counted < written means
# lines lost; the sum of the line numbers counted (a counter of the `seq` field) must also equal
# the sum written, which catches a line lost and another counted twice. Exits non-zero on any
# duplicate, on any loss (every kind here keeps its generations long enough for the agent: none may
# lose a line), and on any warning of loss in the agent's log (it would be a false one).
#
# Environment: SHORT=1 (≈ 30 s, for make test; default ≈ 2 min)  DURATION=seconds of chaos (18 and 110)
#              KEEP=1 (keep the temporary directory: the agent's log, the files, the writers' counts)
#              SEED=seed of the kill schedule and the writers (printed; the interleaving with the
#              agent's polls still varies from run to run)
set -euo pipefail
cd "$(dirname "$0")/../.."
BINDIR="${1:-.build/release}"
AGENT="$BINDIR/agent"
[ -x "$AGENT" ] || { echo "chaos rotation: $AGENT is missing: build with make release" >&2; exit 2; }
if [ "${SHORT:-0}" = 1 ]; then
    DURATION="${DURATION:-18}"
    KILL_MIN_MS=1000 KILL_MAX_MS=2000
else
    DURATION="${DURATION:-110}"
    KILL_MIN_MS=1500 KILL_MAX_MS=6000
fi
SEED="${SEED:-$RANDOM$RANDOM}"
RANDOM=$((SEED % 32768))
KINDS=(rename copytruncate rename-glob copytruncate-glob)

# A short path: the control socket must stay under 108 bytes.
work="$(mktemp -d /tmp/chaos-rotation.XXXXXX)"
agent_pid=""
writer_pids=()
cleanup() {
    [ -n "$agent_pid" ] && kill -KILL "$agent_pid" 2> /dev/null || true
    for pid in "${writer_pids[@]}"; do kill -KILL "$pid" 2> /dev/null || true; done
    wait 2> /dev/null || true
    if [ "${KEEP:-0}" = 1 ]; then echo "chaos rotation: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the writer: numbered lines, rotated by one kind, until told to stop --------------------------
cat > "$work/writer.py" << 'EOF'
import os, random, shutil, signal, sys, time

directory, kind, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = random.Random(seed)
path = os.path.join(directory, "access.jsonl")
keep = 10
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)

def open_log():
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

def line(seq):
    now = time.time()
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + ".%03dZ" % int(now % 1 * 1000)
    pad = "x" * rng.randrange(0, 120)
    return ('{"ts":"%s","seq":%d,"route":"/api/items","status":200,"pad":"%s"}\n' % (ts, seq, pad)).encode()

def shift():
    for n in range(keep, 0, -1):
        src = path + "." + str(n)
        if not os.path.exists(src):
            continue
        if n == keep:
            os.unlink(src)
        else:
            os.rename(src, path + "." + str(n + 1))

fd = open_log()
seq = 0
next_rotation = time.monotonic() + rng.uniform(0.5, 1.5)
while not stop:
    # A burst of lines, one write each (as a logger does), then a short pause: ~600 lines/s.
    for _ in range(rng.randrange(1, 12)):
        os.write(fd, line(seq))
        seq += 1
    time.sleep(0.01)
    if time.monotonic() >= next_rotation:
        next_rotation = time.monotonic() + rng.uniform(0.5, 1.5)
        shift()
        if kind.startswith("rename"):
            os.rename(path, path + ".1")
            # The application reopens its log a moment later: a few lines still go to the old file.
            for _ in range(rng.randrange(0, 5)):
                os.write(fd, line(seq))
                seq += 1
            os.close(fd)
            fd = open_log()
        else:
            shutil.copyfile(path, path + ".1")
            os.truncate(path, 0)
os.close(fd)
with open(os.path.join(directory, "written"), "w") as f:
    f.write(str(seq))
EOF

# --- the agent's configuration ------------------------------------------------------------------
{
    cat << EOF
global:
  state_dir: $work/state
  checkpoint_interval: 1s
  reload_check_interval: 0s
listen:
  socket: $work/s
  http: null
logs:
EOF
    for kind in "${KINDS[@]}"; do
        mkdir -p "$work/$kind"
        glob=""
        [[ "$kind" == *-glob ]] && glob="*"
        cat << EOF
  - path: $work/$kind/access.jsonl$glob
    job: $kind
    start_at: end
    timestamp: {field: ts}
    metrics:
      - {name: chaos_lines_total, type: counter}
      - {name: chaos_seq_total, type: counter, field: seq}
EOF
    done
} > "$work/agent.yaml"
"$AGENT" check config "$work/agent.yaml" > /dev/null

start_agent() {
    "$AGENT" run --config "$work/agent.yaml" >> "$work/agent.log" 2>&1 &
    agent_pid=$!
    for _ in $(seq 200); do
        "$AGENT" status --socket "$work/s" > /dev/null 2>&1 && return 0
        kill -0 "$agent_pid" 2> /dev/null || break
        sleep 0.05
    done
    echo "chaos rotation: the agent did not start; its log:" >&2
    tail -20 "$work/agent.log" >&2
    exit 1
}

# counts METRIC: "job value" lines of sum by (job) (METRIC).
counts() {
    "$AGENT" query "sum by (job) ($1)" --socket "$work/s" --output json |
        python3 -c 'import json, sys
for s in json.load(sys.stdin)["result"]: print(s["metric"]["job"], int(float(s["value"][1])))'
}

start_agent
for i in "${!KINDS[@]}"; do
    python3 "$work/writer.py" "$work/${KINDS[$i]}" "${KINDS[$i]}" "$((SEED + i))" &
    writer_pids+=($!)
done

# A log starts at start_at (end) until a checkpoint knows it (docs/logs.md): the first kill comes
# after the first checkpoint.
for _ in $(seq 100); do [ -s "$work/state/checkpoint.bin" ] && break; sleep 0.05; done

# --- chaos: kill -9 at random moments, sometimes staying down across a rotation or two ----------
kills=0
end=$((SECONDS + DURATION))
while [ "$SECONDS" -lt "$end" ] || [ "$kills" -lt 10 ]; do
    sleep "$(awk -v ms=$((KILL_MIN_MS + RANDOM % (KILL_MAX_MS - KILL_MIN_MS))) 'BEGIN { print ms / 1000 }')"
    kill -KILL "$agent_pid"
    wait "$agent_pid" 2> /dev/null || true
    kills=$((kills + 1))
    sleep "$(awk -v ms=$((RANDOM % 1000)) 'BEGIN { print ms / 1000 }')"
    start_agent
done

# --- the end: stop the writers, let the agent catch up, compare ----------------------------------
for pid in "${writer_pids[@]}"; do kill -TERM "$pid"; done
for pid in "${writer_pids[@]}"; do wait "$pid"; done
writer_pids=()
declare -A written
for kind in "${KINDS[@]}"; do written[$kind]="$(cat "$work/$kind/written")"; done
# Rotated files are read to their end within a poll or two; give it up to 20 s to settle.
declare -A counted
for _ in $(seq 40); do
    sleep 0.5
    settled=1
    while read -r job value; do counted[$job]="$value"; done < <(counts chaos_lines_total)
    for kind in "${KINDS[@]}"; do [ "${counted[$kind]:-0}" -lt "${written[$kind]}" ] && settled=0; done
    [ "$settled" = 1 ] && break
done
sleep 2  # anything still arriving would be counted twice: look once more
while read -r job value; do counted[$job]="$value"; done < <(counts chaos_lines_total)
# The sum of the line numbers counted: equal counts with a different sum would be a line lost and
# another counted twice.
declare -A seqsum
while read -r job value; do seqsum[$job]="$value"; done < <(counts chaos_seq_total)

status=0
echo "chaos rotation: seed=$SEED duration=${DURATION}s kills=$kills"
for kind in "${KINDS[@]}"; do
    w="${written[$kind]}" c="${counted[$kind]:-0}"
    lost=$((w > c ? w - c : 0)) duplicated=$((c > w ? c - w : 0))
    sum_ok=yes
    [ "${seqsum[$kind]:-0}" = "$((w * (w - 1) / 2))" ] || sum_ok=no
    echo "chaos rotation: kind=$kind written=$w counted=$c lost=$lost duplicated=$duplicated seq_sum_matches=$sum_ok"
    [ "$lost" -eq 0 ] && [ "$duplicated" -eq 0 ] && [ "$sum_ok" = yes ] || status=1
done
# Nothing here may be lost, so a warning of loss would be a false one.
warnings="$(grep -cE 'warning.* lost( |$)' "$work/agent.log" || true)"
echo "chaos rotation: loss warnings in the agent's log: $warnings"
[ "$warnings" -eq 0 ] || status=1
if [ "$status" != 0 ]; then
    echo "chaos rotation: FAILED (seed $SEED); the agent's log mentions:" >&2
    grep -E 'warning|notice|error' "$work/agent.log" | tail -20 >&2
fi
exit "$status"
