# Sourced by scripts/bench-daemon.sh and scripts/hot-functions.sh: starts the example world
# (fixtures.py: TARGETS scrape targets, 2 JSONL logs at LOG_RATE lines/s, a webhook; with STEADY=1
# also 26 h of backfilled logs) and defines make_config NAME SECTIONS [no-tier | 26h], which writes
# $work/NAME/agent.yaml from agent.yaml.in. Expects: work, fixtures, BIN, TARGETS, LOG_RATE, STEADY,
# STEADY_RATE, TIER and the pids array (what cleanup stops).
mkdir -p "$work/logs"
backfill=()
if [ "$STEADY" = 1 ]; then
    mkdir -p "$work/logs-26h"
    backfill=(--backfill "$work/logs-26h" --backfill-hours 26 --backfill-rate "$STEADY_RATE")
fi
python3 "$fixtures/fixtures.py" "$work" "$work/logs" --targets "$TARGETS" --rate "$LOG_RATE" "${backfill[@]}" 2> "$work/fixtures.err" &
pids+=($!)
fixtures_pid=$!
for _ in $(seq 1800); do # the 26 h backfill takes ~15 s
    [ -s "$work/ports.json" ] && break
    kill -0 "$fixtures_pid" 2> /dev/null || { echo "bench-daemon: the fixtures failed:" >&2; cat "$work/fixtures.err" >&2; exit 1; }
    sleep 0.1
done
[ -s "$work/ports.json" ] || { echo "bench-daemon: the fixtures did not come up within 180 s" >&2; exit 1; }
read -r target_ports webhook_port < <(python3 -c 'import json, sys; p = json.load(open(sys.argv[1])); print(",".join(map(str, p["targets"])), p["webhook"])' "$work/ports.json")
target_urls="$(tr ',' '\n' <<< "$target_ports" | sed 's|.*|http://127.0.0.1:&/metrics|' | paste -sd, - | sed 's/,/, /g')"
target_hosts="$(tr ',' '\n' <<< "$target_ports" | sed "s|.*|'127.0.0.1:&'|" | paste -sd, - | sed 's/,/, /g')"
page_samples="$(curl -fsS "http://127.0.0.1:${target_ports%%,*}/metrics" | grep -vc '^#')"
echo "world: $TARGETS targets × $page_samples samples, 2 JSONL logs × $LOG_RATE lines/s, a webhook on 127.0.0.1:$webhook_port"
echo "  + python3 scripts/bench-daemon/fixtures.py RUNDIR LOGDIR --targets $TARGETS --rate $LOG_RATE ${backfill[*]/#$work/TMP}"

# --- the agents: one per component configuration ---------------------------------------------
# make_config NAME SECTIONS [no-tier | 26h]: agent.yaml.in with only global, listen and SECTIONS;
# no-tier drops global.tiers, 26h reads the backfilled logs from their beginning.
make_config() {
    local name="$1" sections="$2" variant="${3:-}" dir="$work/$1" logdir="$work/logs"
    mkdir -p "$dir"
    [ "$variant" = 26h ] && logdir="$work/logs-26h"
    awk -v keep="global listen $sections" -v variant="$variant" '
        BEGIN { n = split(keep, k, " "); for (i = 1; i <= n; i++) want[k[i]] = 1 }
        /^[a-z_]+:/ { on = want[substr($0, 1, index($0, ":") - 1)] }
        variant == "no-tier" && /^  tiers:/ { next }
        variant == "26h" { sub(/start_at: end/, "start_at: beginning") }
        on || /^#/ { print }' "$fixtures/agent.yaml.in" |
        sed -e "s|@STATE@|$dir/state|" -e "s|@SOCKET@|$dir/s|" -e "s|@TARGETS@|$target_urls|" \
            -e "s|@LOGDIR@|$logdir|" -e "s|@FIXTURES@|$fixtures|" -e "s|@WEBHOOK@|$webhook_port|" \
            -e "s|@TIER@|$TIER|" > "$dir/agent.yaml"
    "$BIN" check config "$dir/agent.yaml" > /dev/null
}
