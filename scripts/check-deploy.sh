#!/usr/bin/env bash
# Checks deploy/: the unit verifies clean, its systemd exposure is at most 2.0, and install.sh is
# idempotent (run twice into a scratch root, the second run changes nothing an operator edited).
# Usage: scripts/check-deploy.sh path/to/agent
set -euo pipefail
cd "$(dirname "$0")/.."
binary=$(realpath "${1:?usage: $0 path/to/agent}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# verify resolves ExecStart, so point it at the built binary.
sed "s|/usr/local/bin/agent|$binary|g" deploy/agent.service > "$work/agent.service"
if out=$(systemd-analyze verify "$work/agent.service" 2>&1) && [ -z "$out" ]; then
    pass "systemd-analyze verify deploy/agent.service: clean"
else
    fail "systemd-analyze verify deploy/agent.service:"$'\n'"$out"
fi

exposure=$(systemd-analyze security --offline=true "$work/agent.service" 2>/dev/null | sed -n 's/.*Overall exposure level for agent.service: \([0-9.]*\).*/\1/p')
if [ -n "$exposure" ] && awk "BEGIN { exit !($exposure <= 2.0) }"; then
    pass "systemd-analyze security: exposure $exposure (at most 2.0)"
else
    fail "systemd-analyze security: exposure '${exposure:-unknown}', expected at most 2.0"
fi

# The unit must let the agent reach the receivers agent.yaml names (Slack, PagerDuty): no IP deny list.
if grep -qE '^IPAddressDeny=' deploy/agent.service && grep -qE '^ *(slack|pagerduty|discord|teams|google_chat):' deploy/agent.yaml; then
    fail "deploy/agent.service denies egress while deploy/agent.yaml routes to services off this host"
else
    pass "deploy/agent.service lets notifications reach the receivers deploy/agent.yaml names"
fi
grep -qE '^LimitNOFILE=' deploy/agent.service && pass "LimitNOFILE is set" || fail "deploy/agent.service sets no LimitNOFILE"

# install.sh into a scratch root, twice; an edited config survives and gets a .new beside it, and
# the second binary of older releases (agent-daemon) is removed.
export PREFIX="$work/root/usr/local" ETC="$work/root/etc/agent" UNITDIR="$work/root/etc/systemd/system"
deploy/install.sh "$binary" > "$work/first.log" 2>&1 || fail "install.sh (first run): $(cat "$work/first.log")"
echo "# edited by an operator" >> "$ETC/agent.yaml"
printf '#!/bin/sh\nexit 1\n' > "$PREFIX/bin/agent-daemon" && chmod 0755 "$PREFIX/bin/agent-daemon"
deploy/install.sh "$binary" > "$work/second.log" 2>&1 || fail "install.sh (second run): $(cat "$work/second.log")"
if grep -q "edited by an operator" "$ETC/agent.yaml" && [ -e "$ETC/agent.yaml.new" ] && [ -x "$PREFIX/bin/agent" ] \
    && [ ! -e "$PREFIX/bin/agent-daemon" ] && grep -q "removed $PREFIX/bin/agent-daemon" "$work/second.log" \
    && [ -e "$UNITDIR/agent.service" ] && [ -z "$(find "$ETC/rules" -name '*.new')" ]; then
    pass "install.sh is idempotent and keeps edited configuration"
else
    fail "install.sh did not install or keep files as expected"
fi

[ "$failures" -eq 0 ] || { echo "$failures deploy check(s) failed"; exit 1; }
