#!/usr/bin/env bash
# Installs the agent as a systemd service: the release binary `agent` (one file: the daemon and
# every command), the unit, an example configuration, the rules and the rollout gates. Idempotent: an existing configuration or rule file is kept
# (the new one is written beside it as .new), so re-running it upgrades only the binary and unit.
# Usage: sudo deploy/install.sh [path/to/agent]   (default: .build/release/agent)
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")/.."
binary=${1:-.build/release/agent}
prefix=${PREFIX:-/usr/local}
etc=${ETC:-/etc/agent}
unitdir=${UNITDIR:-/etc/systemd/system}

[ -x "$binary" ] || { echo "no binary at $binary: run 'make release' first" >&2; exit 1; }
# Installing into the system needs root; into a scratch root (PREFIX, ETC and UNITDIR all set, as
# scripts/check-deploy.sh does) it does not.
if [ -z "${PREFIX:-}" ] || [ -z "${ETC:-}" ] || [ -z "${UNITDIR:-}" ]; then
    [ "$(id -u)" -eq 0 ] || { echo "run as root (sudo $0)" >&2; exit 1; }
fi

install -d -m 0755 "$prefix/bin" "$etc" "$etc/rules" "$etc/gates" "$prefix/share/doc/agent" "$unitdir"
install -d -m 0700 "$etc/credentials"
install -m 0755 "$binary" "$prefix/bin/agent"
# Releases before issue 17 installed a second binary, agent-daemon, that `agent` ran for
# run/check/test/…; the one binary does everything, so the old one goes.
if [ -e "$prefix/bin/agent-daemon" ] || [ -L "$prefix/bin/agent-daemon" ]; then
    rm -f "$prefix/bin/agent-daemon"
    echo "removed $prefix/bin/agent-daemon (left by an older install: agent now runs every command itself)"
fi
install -m 0644 README.md "$prefix/share/doc/agent/README.md"

keep_or_install() {  # source, destination: never overwrite what an operator edited
    if [ -e "$2" ] && ! cmp -s "$1" "$2"; then
        install -m 0644 "$1" "$2.new"
        echo "kept $2 (the packaged version is $2.new)"
    else
        install -m 0644 "$1" "$2"
    fi
}
keep_or_install deploy/agent.yaml "$etc/agent.yaml"
for rule in rules/*.yaml; do
    case "$rule" in *_test.yaml) continue ;; esac
    keep_or_install "$rule" "$etc/rules/$(basename "$rule")"
done
# Rollout gates (agent gate NAME): a folder of their own, which rule_files' glob does not read.
for gate in rules/gates/*.yaml; do
    case "$gate" in *_test.yaml) continue ;; esac
    keep_or_install "$gate" "$etc/gates/$(basename "$gate")"
done
for secret in slack_url pd_key; do
    [ -e "$etc/credentials/$secret" ] || { : > "$etc/credentials/$secret"; chmod 0600 "$etc/credentials/$secret"; }
done

install -m 0644 deploy/agent.service "$unitdir/agent.service"
if [ "$unitdir" = /etc/systemd/system ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    echo "installed. Put secrets in $etc/credentials/, edit $etc/agent.yaml, then: systemctl enable --now agent"
else
    echo "installed (systemd is not running here: enable the unit on the target host)"
fi
"$prefix/bin/agent" version
"$prefix/bin/agent" check --help > /dev/null
