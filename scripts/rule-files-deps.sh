#!/usr/bin/env bash
# Puts the public rule files the tests load (AlertingTests' "Public rule files") where they look,
# from Debian's registry at test time, never committed: ceph-prometheus-alerts' alert rules
# (Ceph's monitoring mixin, LGPL-2.1/3 per the package's copyright file), extracted into
# .build/rule-files/ceph/ without installing the package. Idempotent; fails loudly when the
# package cannot be had (the tests then fail too, never skip).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.build/rule-files/ceph
if [ ! -s "$dest/ceph_default_alerts.yml" ]; then
    mkdir -p "$dest"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && apt-get download ceph-prometheus-alerts >/dev/null 2>&1) || {
        apt-get update -qq && (cd "$tmp" && apt-get download ceph-prometheus-alerts >/dev/null)
    }
    dpkg-deb -x "$tmp"/ceph-prometheus-alerts_*.deb "$tmp/x"
    cp "$tmp"/x/etc/prometheus/ceph/ceph_default_alerts.yml "$dest/"
    cp "$tmp"/x/usr/share/doc/ceph-prometheus-alerts/copyright "$dest/copyright"
fi
