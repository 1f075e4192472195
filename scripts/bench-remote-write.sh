#!/usr/bin/env bash
# scripts/bench-remote-write.sh [BINARY]: what remote write costs the daemon, with a real receiver
# (VictoriaMetrics on 127.0.0.1), measured from /proc like scripts/bench-daemon.sh:
#   - resident memory and CPU of the example configuration (scripts/bench-daemon/agent.yaml.in:
#     10 targets, 2 logs at LOG_RATE lines/s, 30 rules; ≈ 1 000 series) with remote write off and on;
#   - CPU of sending 10 000 series every 15 s (145 targets of 69 series, scrape only), off and on.
# Four agents run side by side (each its own copy of the binaries, as bench-daemon does), so both
# pairs see the same machine; after WARMUP seconds /proc is sampled for WINDOW seconds.
# Environment: WARMUP=60 WINDOW=60 SAMPLE_INTERVAL=5 LOG_RATE=50 AGENT=.build/release/agent
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${1:-${AGENT:-.build/release/agent}}"
WARMUP="${WARMUP:-60}"
WINDOW="${WINDOW:-60}"
SAMPLE_INTERVAL="${SAMPLE_INTERVAL:-5}"
LOG_RATE="${LOG_RATE:-50}"
[ -x "$BIN" ] || { echo "bench-remote-write: $BIN is missing: run make release first" >&2; exit 1; }
command -v victoria-metrics > /dev/null || { echo "bench-remote-write: victoria-metrics is not installed (make bench-deps)" >&2; exit 1; }
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
fixtures="$PWD/scripts/bench-daemon"
measure=(python3 "$fixtures/measure.py")

work="$(mktemp -d /tmp/bench-rw.XXXXXX)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2> /dev/null || true; done
    sleep 1
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2> /dev/null || true; done
    wait 2> /dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq $(($1 * 10))); do "${@:2}" > /dev/null 2>&1 && return 0; sleep 0.1; done; echo "bench-remote-write: ${*:2} failed" >&2; return 1; }

# --- the receiver and the two worlds -----------------------------------------------------------
vm_port="$(free_port)"
victoria-metrics -httpListenAddr="127.0.0.1:$vm_port" -storageDataPath="$work/vm" -loggerLevel=ERROR > "$work/vm.log" 2>&1 &
pids+=($!)
wait_for 30 curl -fsS "http://127.0.0.1:$vm_port/health"
world() { # world NAME TARGETS RATE: fixtures.py in $work/NAME; prints the target URLs, comma-separated
    mkdir -p "$work/$1/logs"
    python3 "$fixtures/fixtures.py" "$work/$1" "$work/$1/logs" --targets "$2" --rate "$3" 2> "$work/$1/fixtures.err" &
    pids+=($!)
    for _ in $(seq 600); do [ -s "$work/$1/ports.json" ] && break; sleep 0.1; done
    [ -s "$work/$1/ports.json" ] || { cat "$work/$1/fixtures.err" >&2; exit 1; }
}
world example 10 "$LOG_RATE"
world big 145 1
urls() { python3 -c 'import json, sys; print(", ".join("http://127.0.0.1:%d/metrics" % p for p in json.load(open(sys.argv[1]))["targets"]))' "$work/$1/ports.json"; }
webhook() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["webhook"])' "$work/$1/ports.json"; }

remote_write="remote_write:
  - {url: \"http://127.0.0.1:$vm_port/api/v1/write\", name: victoria}"
# The example configuration, as bench-daemon builds its 'all' agent (global, listen, scrape, logs, rules, notify).
example_config() { # example_config NAME [remote_write]
    local dir="$work/agents/$1"
    mkdir -p "$dir"
    sed -e "s|@STATE@|$dir/state|" -e "s|@SOCKET@|$dir/s|" -e "s|@TARGETS@|$(urls example)|" \
        -e "s|@LOGDIR@|$work/example/logs|" -e "s|@FIXTURES@|$fixtures|" -e "s|@WEBHOOK@|$(webhook example)|" \
        -e "s|@TIER@|5m|" "$fixtures/agent.yaml.in" > "$dir/agent.yaml"
    [ -n "${2:-}" ] && printf '\n%s\n' "$remote_write" >> "$dir/agent.yaml"
    "$BIN" check config "$dir/agent.yaml" > /dev/null
}
big_config() { # big_config NAME [remote_write]: 10 000 series scraped every 15 s, nothing else
    local dir="$work/agents/$1"
    mkdir -p "$dir"
    cat > "$dir/agent.yaml" <<EOF
global:
  resolution: 10s
  retention: 1h
  scrape_interval: 15s
  series_limit: 20000
  state_dir: $dir/state
  external_labels: {host: bench}
listen:
  socket: $dir/s
  http: 127.0.0.1:0
scrape:
  - job: app
    targets: [$(urls big)]
EOF
    [ -n "${2:-}" ] && printf '%s\n' "$remote_write" >> "$dir/agent.yaml"
    "$BIN" check config "$dir/agent.yaml" > /dev/null
}
example_config example
example_config example-rw rw
big_config 10k
big_config 10k-rw rw
agents=(example example-rw 10k 10k-rw)
declare -A pid
for a in "${agents[@]}"; do
    mkdir -p "$work/agents/$a/bin"
    cp -L "$BIN" "$work/agents/$a/bin/agent"
done
sync
for a in "${agents[@]}"; do
    "$work/agents/$a/bin/agent" run --config "$work/agents/$a/agent.yaml" > "$work/agents/$a/log" 2>&1 &
    pids+=($!)
    pid[$a]=$!
done
for a in "${agents[@]}"; do wait_for 30 "$BIN" status --socket "$work/agents/$a/s" || { tail -5 "$work/agents/$a/log" >&2; exit 1; }; done
echo "receiver: victoria-metrics $(victoria-metrics -version 2>&1 | head -1) on 127.0.0.1:$vm_port"
echo "agents: $BIN run --config CONFIG, side by side:"
echo "  example     scripts/bench-daemon/agent.yaml.in (10 targets, 2 logs × $LOG_RATE lines/s, 30 rules, a webhook)"
echo "  example-rw  the same + remote_write to the receiver (defaults: 2 000 samples a request, every 5 s)"
echo "  10k         145 targets × 69 series = 10 005 series every 15 s, nothing else"
echo "  10k-rw      the same + remote_write"
echo "warm-up: ${WARMUP}s"
sleep "$WARMUP"

status_line() { "$BIN" status --socket "$work/agents/$1/s" --output json | python3 -c '
import json, sys
s = json.load(sys.stdin)
rw = s.get("remote_write") or [{}]
e = rw[0]
print("%d series" % s["series"]["total"] + ("" if not e else "; sent %d samples (%d retried, %d failed), %.1f MB, lag %.1f s" % (
    e.get("samples_sent", 0), e.get("samples_retried", 0), e.get("samples_failed", 0), e.get("bytes_sent", 0) / 1048576, e.get("lag_seconds", -1))))'; }
sent() { "$BIN" status --socket "$work/agents/$1/s" --output json | python3 -c 'import json, sys; print((json.load(sys.stdin).get("remote_write") or [{}])[0].get("samples_sent", 0))'; }
before="$(sent 10k-rw)"
echo
echo "== python3 scripts/bench-daemon/measure.py sample $WINDOW $SAMPLE_INTERVAL NAME=PID..."
rows=()
for a in "${agents[@]}"; do rows+=("agent $a=${pid[$a]}"); done
"${measure[@]}" sample "$WINDOW" "$SAMPLE_INTERVAL" "${rows[@]}" | tee "$work/measure.txt"
after="$(sent 10k-rw)"
echo
for a in "${agents[@]}"; do echo "$a: $(status_line "$a")"; done
python3 - "$work/measure.txt" "$before" "$after" "$WINDOW" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) >= 8 and parts[0] == "agent":
        rows[parts[1]] = dict(rss=float(parts[2]), anon=float(parts[3]), cpu=float(parts[7]))
sent = (int(sys.argv[3]) - int(sys.argv[2])) / float(sys.argv[4])
e, erw, b, brw = rows["example"], rows["example-rw"], rows["10k"], rows["10k-rw"]
print(f"remote write on vs off, example configuration: VmRSS {erw['rss'] - e['rss']:+.1f} MB ({e['rss']:.1f} → {erw['rss']:.1f}), "
      f"RssAnon {erw['anon'] - e['anon']:+.1f} MB, CPU {erw['cpu'] - e['cpu']:+.2f} % of a core")
print(f"sending 10 000 series every 15 s: CPU {brw['cpu'] - b['cpu']:+.2f} % of a core ({b['cpu']:.2f} → {brw['cpu']:.2f} %), "
      f"{sent:.0f} samples/s sent during the window; VmRSS {brw['rss'] - b['rss']:+.1f} MB")
PY
echo "(side by side on a shared 2-core machine: CPU figures are noisy; run alone for a firmer figure)"
