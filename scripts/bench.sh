#!/usr/bin/env bash
# `make bench`: the micro-benchmarks (ordo-one/benchmark), then each whole-process comparison
# with a peer (scripts/bench-*.sh), each printing the command it ran beside its figures.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== micro-benchmarks: (cd Benchmarks && swift package --disable-sandbox benchmark)"
(cd Benchmarks && swift package --disable-sandbox benchmark "$@")
for script in scripts/bench-*.sh; do
    [ -e "$script" ] || continue
    echo "== $script"
    bash "$script"
done
