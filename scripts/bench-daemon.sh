#!/usr/bin/env bash
# scripts/bench-daemon.sh [BINARY]: the daemon's idle cost with issue #8's example configuration
# (≈ 1 000 series: 10 scrape targets, 2 JSONL logs at LOG_RATE lines/s each, 30 rules every 15 s,
# a webhook receiver; scripts/bench-daemon/agent.yaml.in), what each component costs, `agent query`
# latency, and the stack it replaces (Prometheus + Alertmanager + mtail on the same targets, logs
# and rules) measured in the same run. Everything listens on 127.0.0.1 (ephemeral ports).
#
# All processes run side by side: one agent per component configuration (the same binary, the
# same targets and logs), so the whole run takes WARMUP + WINDOW + ~30 s. After WARMUP seconds
# (a few scrapes, evaluations and checkpoints) /proc is sampled for WINDOW seconds every
# SAMPLE_INTERVAL: median VmRSS / RssAnon / RssFile, the idle working set (pages touched in the
# window) and CPU (utime+stime over the window, % of one core). At the end, glibc's malloc_stats()
# (through gdb, when installed) tells the live heap from what malloc keeps.
#
# A 2-minute run shows the rings nearly empty: latency sketches grow their slots as they fill, and
# the 26 h tier seals its older blocks as they close. Agent "all-26h" reads 26 h of backfilled log
# lines (STEADY_RATE lines/s per log) from the beginning, so its log series hold what they hold
# after a day; its scraped series cannot be backfilled, so the day's sealed blocks they would add
# are estimated from the bytes per sample the 26 h logs' series take (printed at the end).
#
# Environment: WARMUP=60 WINDOW=60 SAMPLE_INTERVAL=5 LOG_RATE=50 TARGETS=10 QUERY_RUNS=50
#              PEERS=1 (0: skip Prometheus/Alertmanager/mtail)  STEADY=1 (0: no all-26h)
#              STEADY_RATE=10  HEAP=1 (0: no malloc_stats() through gdb at the end)
#              ALONE=1 (0: no second measurement of one agent alone, after the others stop)
#              ALONE_AGENT=all-26h (STEADY=1) or all
#              TIER=5m (the 26 h tier's slot width; deploy/agent.yaml's is 5m)
#              AGENT=.build/release/agent (or the first argument)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${1:-${AGENT:-.build/release/agent}}"
WARMUP="${WARMUP:-60}"
WINDOW="${WINDOW:-60}"
SAMPLE_INTERVAL="${SAMPLE_INTERVAL:-5}"
LOG_RATE="${LOG_RATE:-50}"
TARGETS="${TARGETS:-10}"
QUERY_RUNS="${QUERY_RUNS:-50}"
PEERS="${PEERS:-1}"
STEADY="${STEADY:-1}"
STEADY_RATE="${STEADY_RATE:-10}"
HEAP="${HEAP:-1}"
ALONE="${ALONE:-1}"
TIER="${TIER:-5m}"
[ -x "$BIN" ] || { echo "bench-daemon: $BIN is missing: run make release first" >&2; exit 1; }
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
fixtures="$PWD/scripts/bench-daemon"
measure=(python3 "$fixtures/measure.py")

# Short absolute paths: a Unix socket path must stay under 108 bytes.
work="$(mktemp -d /tmp/bench-daemon.XXXXXX)"
pids=()
cleanup() {
    local pid alive
    for pid in "${pids[@]}" ${sleeper:-}; do kill -TERM "$pid" 2> /dev/null || true; done
    for _ in $(seq 100); do
        alive=0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2> /dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2> /dev/null || true; done
    wait 2> /dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() { # wait_for SECONDS WHAT COMMAND...: polls until COMMAND succeeds
    local seconds="$1" what="$2"
    shift 2
    for _ in $(seq $((seconds * 10))); do
        "$@" > /dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "bench-daemon: $what did not come up within ${seconds}s" >&2
    return 1
}

# --- the world: targets, logs, webhook; make_config -----------------------------------------
# shellcheck source=bench-daemon/world.sh
source "$fixtures/world.sh"

components=(listen scrape logs rules all all-no-tier)
make_config listen ""
make_config scrape "scrape"
make_config logs "logs"
make_config rules "rule_files notify"
make_config all "scrape logs rule_files notify"
make_config all-no-tier "scrape logs rule_files notify" no-tier
declare -A agent_env
components+=(all-keep-pages)
make_config all-keep-pages "scrape logs rule_files notify"
agent_env[all-keep-pages]="AGENT_RELEASE_STARTUP_PAGES=0"
if [ "$STEADY" = 1 ]; then
    components+=(all-26h)
    make_config all-26h "scrape logs rule_files notify" 26h
fi
# Each agent runs its own copy of the binary, as on a machine with one agent: pages of one file
# mapped by several processes are shared, and the kernel neither faults them around nor hands them
# back per process the same way (see StartupPages in Sources/AgentDaemon/Memory).
declare -A agent_pid
for c in "${components[@]}"; do
    mkdir -p "$work/$c/bin"
    cp -L "$BIN" "$work/$c/bin/agent"
done
# Written back, as an installed binary is: the kernel cannot hand back dirty page-cache pages.
sync
for c in "${components[@]}"; do
    # shellcheck disable=SC2086 # agent_env holds NAME=VALUE words
    env ${agent_env[$c]:-} "$work/$c/bin/agent" run --config "$work/$c/agent.yaml" > "$work/$c/log" 2>&1 &
    pids+=($!)
    agent_pid[$c]=$!
done
for c in "${components[@]}"; do
    wait_for 20 "agent ($c)" "$BIN" status --socket "$work/$c/s" || { tail -5 "$work/$c/log" >&2; exit 1; }
done
echo "agents: $BIN run --config CONFIG (running $(readlink "/proc/${agent_pid[all]}/exe")), one per configuration, side by side:"
echo "  listen       global + listen only (socket, http 127.0.0.1:0), no targets, logs or rules"
echo "  scrape       + scrape: $TARGETS targets"
echo "  logs         + logs: 2 JSONL logs, counters by route/status, a latency distribution, bytes"
echo "  rules        + rule_files (30 rules, 2 groups every 15 s) + notify (webhook), nothing to read"
echo "  all          the example configuration: all of the above ($fixtures/agent.yaml.in)"
echo "  all-no-tier  all, without the $TIER × 26h tier (only the 10s × 1h ring)"
echo "  all-keep-pages  all, run with ${agent_env[all-keep-pages]}: start-up's pages stay resident"
if [ "$STEADY" = 1 ]; then
    echo "  all-26h      all, its logs read from the beginning of 26 h of backfill ($STEADY_RATE lines/s each): the log series' rings full, as after a day"
fi

# --- the peers ------------------------------------------------------------------------------
peer_rows=()
if [ "$PEERS" = 1 ] && command -v prometheus > /dev/null && command -v prometheus-alertmanager > /dev/null && command -v mtail > /dev/null; then
    mtail_port="$(free_port)"
    mkdir -p "$work/mtail/progs" "$work/alertmanager" "$work/prometheus"
    cp "$fixtures/logs.mtail" "$work/mtail/progs/"
    mtail --progs "$work/mtail/progs" --logs "$work/logs/api.jsonl" --logs "$work/logs/web.jsonl" \
        --address 127.0.0.1 --port "$mtail_port" > "$work/mtail/log" 2>&1 &
    pids+=($!)
    mtail_pid=$!
    am_port="$(free_port)"
    sed "s|@WEBHOOK@|$webhook_port|" "$fixtures/alertmanager.yml.in" > "$work/alertmanager/alertmanager.yml"
    prometheus-alertmanager --config.file="$work/alertmanager/alertmanager.yml" --storage.path="$work/alertmanager" \
        --web.listen-address="127.0.0.1:$am_port" --cluster.listen-address= > "$work/alertmanager/log" 2>&1 &
    pids+=($!)
    am_pid=$!
    prom_port="$(free_port)"
    sed -e "s|@FIXTURES@|$fixtures|" -e "s|@ALERTMANAGER@|$am_port|" -e "s|@MTAIL@|$mtail_port|" \
        -e "s|@TARGET_HOSTS@|$target_hosts|" "$fixtures/prometheus.yml.in" > "$work/prometheus/prometheus.yml"
    prometheus --config.file="$work/prometheus/prometheus.yml" --storage.tsdb.path="$work/prometheus/data" \
        --web.listen-address="127.0.0.1:$prom_port" > "$work/prometheus/log" 2>&1 &
    pids+=($!)
    prom_pid=$!
    wait_for 20 mtail curl -fsS "http://127.0.0.1:$mtail_port/metrics"
    wait_for 20 alertmanager curl -fsS "http://127.0.0.1:$am_port/-/ready"
    wait_for 30 prometheus curl -fsS "http://127.0.0.1:$prom_port/-/ready"
    peer_rows=("prometheus=$prom_pid" "alertmanager=$am_pid" "mtail=$mtail_pid")
    echo "peers: prometheus $(prometheus --version 2>&1 | awk 'NR == 1 { print $3 }') (same targets, scripts/bench-daemon/prometheus-rules.yaml, tsdb in a temp dir)," \
        "prometheus-alertmanager $(prometheus-alertmanager --version 2>&1 | awk 'NR == 1 { print $3 }') (webhook, no cluster)," \
        "mtail $(mtail --version 2>&1 | awk 'NR == 1 { print $3 }') (scripts/bench-daemon/logs.mtail on the 2 logs)"
elif [ "$PEERS" = 1 ]; then
    echo "peers: prometheus, prometheus-alertmanager or mtail is not installed (make bench-deps); no comparison"
fi
# Two more peers, each alone (not in the stack's sum): node_exporter, the sidecar most hosts already
# run, with its default collectors; monit, the uptime checker, checking the same 10 targets over
# HTTP and the 2 logs for 5xx lines every 15 s (it cannot see percentiles).
if [ "$PEERS" = 1 ] && command -v prometheus-node-exporter > /dev/null; then
    prometheus-node-exporter --web.listen-address="127.0.0.1:$(free_port)" > "$work/node-exporter.log" 2>&1 &
    pids+=($!)
    peer_rows+=("node_exporter=$!")
    echo "peers: prometheus-node-exporter $(prometheus-node-exporter --version 2>&1 | awk 'NR == 1 { print $3 }') (default collectors)"
fi
if [ "$PEERS" = 1 ] && command -v monit > /dev/null; then
    mkdir -p "$work/monit"
    {
        echo "set daemon 15"
        echo "set pidfile $work/monit/pid"
        echo "set idfile $work/monit/id"
        echo "set statefile $work/monit/state"
        echo "set logfile $work/monit/log"
        i=0
        for port in ${target_ports//,/ }; do
            i=$((i + 1))
            echo "check host target$i with address 127.0.0.1"
            echo "    if failed port $port protocol http request \"/metrics\" then alert"
        done
        for log in api web; do
            echo "check file $log with path $work/logs/$log.jsonl"
            echo "    if content = '\"status\":5' then alert"
        done
    } > "$work/monit/monitrc"
    chmod 0600 "$work/monit/monitrc"
    monit -I -c "$work/monit/monitrc" > "$work/monit/out" 2>&1 &
    pids+=($!)
    peer_rows+=("monit=$!")
    echo "peers: monit $(monit -V 2>&1 | awk 'NR == 1 { print $NF }') ($TARGETS HTTP checks and 2 log content checks every 15 s)"
fi

echo "warm-up: ${WARMUP}s"
sleep "$WARMUP" &
sleeper=$!
wait "$sleeper" # (a signal's trap runs at once, not after the sleep)

# --- what the agents hold ---------------------------------------------------------------------
held() { "$BIN" status --socket "$work/$1/s" --output json |
    python3 -c 'import json, sys; s = json.load(sys.stdin); print("%d (%.0f KiB)" % (s["series"]["total"], s["checkpoint"]["last_bytes"] / 1024))'; }
line="series held (last checkpoint's size):"
for c in "${components[@]}"; do line+=" $c $(held "$c"),"; done
echo "${line%,}"
store_mb() { "$BIN" query agent_store_bytes --socket "$work/$1/s" | awk 'END { printf "%.1f MB", $NF / 1048576 }'; }
line="store heap (agent_store_bytes):"
for c in "${components[@]}"; do line+=" $c $(store_mb "$c"),"; done
echo "${line%,}"
echo "+ $BIN query 'count({__name__=~\".+\"})' --socket SOCKET   (the example configuration)"
"$BIN" query 'count({__name__=~".+"})' --socket "$work/all/s"
"$BIN" status --socket "$work/all/s" --output json > "$work/all/status.json"
python3 - "$work/all/status.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
kinds = s["series"]
targets = s["targets"]
up = sum(1 for t in targets if t.get("up"))
read = sum(f.get("offset", 0) for l in s["logs"] for f in l.get("files", []))
malformed = sum(sum(l.get("malformed", {}).values()) for l in s["logs"])
errors = [g for g in s["rule_groups"] if g.get("last_error") or not g.get("last_evaluation")]
print(f"example configuration: {kinds['total']} series ({kinds['gauges']} gauges, {kinds['counters']} counters, "
      f"{kinds['distributions']} distributions); targets up {up}/{len(targets)}; logs read {read} bytes ({malformed} lines malformed); "
      f"rule groups {len(s['rule_groups'])} ({len(errors)} with errors); checkpoints {s['checkpoint']['written']}")
problems = []
if up != len(targets): problems.append(f"only {up} of {len(targets)} targets are up")
if read == 0 or malformed: problems.append(f"logs: {read} bytes read, {malformed} malformed lines")
if errors: problems.append("rule groups failed or never ran: " + "; ".join(f"{g.get('name')}: {g.get('last_error', 'no evaluation')}" for g in errors))
if problems:
    sys.exit("bench-daemon: the example configuration does not run as meant: " + "; ".join(problems))
PY
if [ -n "${prom_port:-}" ]; then
    head_series="$(curl -fsS "http://127.0.0.1:$prom_port/api/v1/status/tsdb" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["headStats"]["numSeries"])')"
    echo "prometheus: $head_series head series"
fi

# --- idle RSS and CPU -------------------------------------------------------------------------
echo
echo "== idle RSS and CPU: python3 scripts/bench-daemon/measure.py sample $WINDOW $SAMPLE_INTERVAL NAME=PID..."
rows=()
for c in "${components[@]}"; do rows+=("agent $c=${agent_pid[$c]}"); done
"${measure[@]}" sample "$WINDOW" "$SAMPLE_INTERVAL" "${rows[@]}" "${peer_rows[@]}"
echo "(RssFile: pages of the binary and shared libraries, clean and reclaimable; RssAnon: heap and stacks;"
echo " idle WS: pages touched during the window. The machine is shared: CPU figures are noisy.)"

echo
for c in all all-26h; do
    [ -n "${agent_pid[$c]:-}" ] || continue
    echo "== where agent $c's memory is: python3 scripts/bench-daemon/measure.py smaps PID 8"
    "${measure[@]}" smaps "${agent_pid[$c]}" 8 | sed "s|$PWD/||"
done

# --- agent query latency ----------------------------------------------------------------------
echo
echo "== agent query latency (hyperfine -N --warmup 5 -r $QUERY_RUNS)"
sock="$work/all/s"
hyperfine -N --warmup 5 -r "$QUERY_RUNS" --style none --export-json "$work/query.json" \
    "$BIN version" \
    "$BIN query agent_series --socket $sock" \
    "$BIN query p95 http_request_duration_ms --by job --socket $sock" > /dev/null 2> "$work/hyperfine.err"
files=("$work/query.json")
if [ -n "${prom_port:-}" ] && command -v promtool > /dev/null; then
    hyperfine -N --warmup 5 -r "$QUERY_RUNS" --style none --export-json "$work/promtool.json" \
        "promtool query instant http://127.0.0.1:$prom_port up" > /dev/null 2>> "$work/hyperfine.err"
    files+=("$work/promtool.json")
fi
"${measure[@]}" hyperfine "${files[@]}" | sed "s|$work/all/s|SOCKET|g"

echo
python3 - "$work/webhook.json" "$work/all/log" <<'PY'
import json, os, sys
hooks = json.load(open(sys.argv[1])) if os.path.exists(sys.argv[1]) else {}
log = open(sys.argv[2]).read().splitlines()
bad = [l for l in log if " warning " in l or " error " in l or " critical " in l]
print(f"webhook: {hooks.get('/agent', 0)} notifications from the agents, "
      f"{hooks.get('/alertmanager', 0)} from Alertmanager; the example configuration's log: {len(log)} lines, {len(bad)} warnings or errors")
for l in bad[:5]:
    print("  " + l)
PY

# --- live heap against what malloc holds (after every measurement: gdb stops the process briefly) ---
if [ "$HEAP" = 1 ] && command -v gdb > /dev/null; then
    echo
    echo "== heap: glibc's malloc_stats() called in the agent (gdb -p PID -batch -ex 'call (void)malloc_stats()')"
    for c in all all-no-tier all-keep-pages all-26h; do
        [ -n "${agent_pid[$c]:-}" ] || continue
        timeout 60 gdb -p "${agent_pid[$c]}" -batch -ex 'call (void)malloc_stats()' > /dev/null 2>&1 || continue
        python3 - "$c" "$work/$c/log" <<'PY'
import re, sys
text = open(sys.argv[2]).read()
last = text[text.rindex("Arena 0:"):]
arenas = [(int(a), int(b)) for a, b in re.findall(r"Arena \d+:\nsystem bytes\s+=\s+(\d+)\nin use bytes\s+=\s+(\d+)", last)]
system, used = map(int, re.search(r"Total \(incl. mmap\):\nsystem bytes\s+=\s+(\d+)\nin use bytes\s+=\s+(\d+)", last).groups())
print(f"agent {sys.argv[1]:<14} in use {used / 2**20:6.1f} MB of {system / 2**20:6.1f} MB malloc holds "
      f"({(system - used) / 2**20:.1f} MB free inside it; {len(arenas)} arenas: "
      + ", ".join(f"{s / 2**20:.1f}/{u / 2**20:.1f}" for s, u in arenas if s > 1 << 20) + " MB held/used)")
PY
    done
fi


# --- the example configuration alone on the machine -------------------------------------------
# Side by side, the agents share their shared libraries' pages, which the kernel then keeps
# resident for all of them. On a machine with one agent, pages no other process maps go back with
# the start-up pages: stop the peers and every other agent, reload the one measured (SIGHUP: a
# reload releases again 5 s later) and measure it once more. ALONE_AGENT chooses it: all-26h (as
# after a day) when STEADY=1, else all.
if [ "$ALONE" = 1 ]; then
    a="${ALONE_AGENT:-$([ "$STEADY" = 1 ] && echo all-26h || echo all)}"
    echo
    for pid in ${prom_pid:-} ${am_pid:-} ${mtail_pid:-}; do kill -TERM "$pid" 2> /dev/null || true; done
    for c in "${components[@]}"; do [ "$c" = "$a" ] || kill -TERM "${agent_pid[$c]}" 2> /dev/null || true; done
    # Until every other agent has exited (a drain takes a few seconds): pages they still map stay.
    # (An exited child stays a zombie until waited for, with nothing mapped.)
    maps_anything() { [ -n "$(head -c 1 "/proc/$1/maps" 2> /dev/null)" ]; }
    for _ in $(seq 300); do
        alive=0
        for c in "${components[@]}"; do [ "$c" = "$a" ] || { maps_anything "${agent_pid[$c]}" && alive=1; }; done
        for pid in ${prom_pid:-} ${am_pid:-} ${mtail_pid:-}; do maps_anything "$pid" && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    kill -HUP "${agent_pid[$a]}"
    sleep 10
    echo "== agent $a alone (the peers and the other agents stopped, then SIGHUP): measure.py sample $WINDOW $SAMPLE_INTERVAL"
    "${measure[@]}" sample "$WINDOW" "$SAMPLE_INTERVAL" "agent $a alone=${agent_pid[$a]}" | sed -n '1,3p'
    "${measure[@]}" smaps "${agent_pid[$a]}" 10 | sed -n '1,12p' | sed "s|$work/||"
    echo "store heap (agent_store_bytes): $(store_mb "$a")"
fi
