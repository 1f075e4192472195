#!/usr/bin/env bash
# CPU per end-to-end scrape of a real node_exporter: the agent's side (libcurl, gzip, parse, cache,
# store batch, staleness, synthetic series) against node_exporter's own CPU per scrape, both
# measured in the same run. The agent scrapes with `agent scrape --repeat`, which reuses the
# series cache as the daemon does and reports its own CPU (getrusage, all threads, startup and
# the first scrape excluded); node_exporter's CPU is read from /proc/PID/stat around each round.
set -euo pipefail
cd "$(dirname "$0")/.."
AGENT=${AGENT:-.build/release/agent}
ROUNDS=${ROUNDS:-5}
SCRAPES=${SCRAPES:-100}
[ -x "$AGENT" ] || { echo "bench-scrape: $AGENT is missing; run make release first" >&2; exit 1; }

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
prometheus-node-exporter --web.listen-address="127.0.0.1:$port" >/dev/null 2>&1 &
exporter=$!
trap 'kill "$exporter" 2>/dev/null || true' EXIT
url="http://127.0.0.1:$port/metrics"
for _ in $(seq 50); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && break
    sleep 0.1
done
page_bytes=$(curl -fsS "$url" | wc -c)
samples=$(curl -fsS "$url" | grep -vc '^#')
ticks=$(getconf CLK_TCK)
exporter_ticks() { awk '{ print $14 + $15 }' "/proc/$exporter/stat"; }

echo "node_exporter $(prometheus-node-exporter --version 2>&1 | head -1 | awk '{print $3}') on $url: $page_bytes bytes, $samples samples"
echo "+ $AGENT scrape $url --job node --repeat $((SCRAPES + 1))   ($ROUNDS rounds)"
agent_ms=()
exporter_ms=()
for round in $(seq "$ROUNDS"); do
    before=$(exporter_ticks)
    line=$("$AGENT" scrape "$url" --job node --repeat $((SCRAPES + 1)) 2>&1 >/dev/null | grep 'ms CPU per scrape')
    after=$(exporter_ticks)
    agent=$(sed -E 's/.* ([0-9.]+) ms CPU per scrape.*/\1/' <<<"$line")
    exporter=$(awk -v d=$((after - before)) -v t="$ticks" -v n=$((SCRAPES + 1)) 'BEGIN { printf "%.3f", d / t * 1000 / n }')
    agent_ms+=("$agent")
    exporter_ms+=("$exporter")
    echo "  round $round: agent $agent ms CPU/scrape, node_exporter $exporter ms CPU/scrape"
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
a=$(median "${agent_ms[@]}")
e=$(median "${exporter_ms[@]}")
echo "median CPU per scrape: agent $a ms, node_exporter $e ms; the agent's side is $(awk -v a="$a" -v e="$e" 'BEGIN { printf "%.1f%%", a / e * 100 }') of node_exporter's"
