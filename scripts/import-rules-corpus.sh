#!/usr/bin/env bash
# Rebuilds .corpus/ (gitignored; fetched material stays out of commits) — public Prometheus rule
# files and promtool unit-test suites, for a local compatibility run — from local git mirrors.
#
#   scripts/import-rules-corpus.sh [MIRRORS]
#
# MIRRORS (default /work/.mirror) holds one bare repository per source as MIRRORS/owner+name/repo.
# Nothing is downloaded here: fetch or clone the mirrors first. Each collection gets the files
# (unchanged, except kube-prometheus' PrometheusRule manifests, of which only `spec` is kept — the
# rule file Prometheus would read), its licence, and a SOURCE file naming repository, commit and paths.
# scripts/rules-corpus-suites.tsv holds the expected verdicts (written by hand).
set -euo pipefail

MIRRORS=${1:-/work/.mirror}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${CORPUS:-$ROOT/.corpus}

git_of() { echo "$MIRRORS/${1/\//+}/repo"; }

# collection repo commit license — starts a collection directory and its SOURCE file.
begin() {
    local dir=$OUT/$1 repo=$2 commit=$3 license=$4
    rm -rf "$dir"
    mkdir -p "$dir"
    git --git-dir="$(git_of "$repo")" show "$commit:$license" > "$dir/LICENSE"
    printf 'repository: https://github.com/%s\ncommit: %s\nlicense: %s\npaths:\n' "$repo" "$commit" "$license" > "$dir/SOURCE"
}

# copy collection repo commit path target — one file, recorded in SOURCE.
copy() {
    local dir=$OUT/$1 repo=$2 commit=$3 path=$4 target=$5
    mkdir -p "$(dirname "$dir/$target")"
    git --git-dir="$(git_of "$repo")" show "$commit:$path" > "$dir/$target"
    if [ "$path" = "$target" ]; then echo "  - $path" >> "$dir/SOURCE"; else echo "  - $path -> $target" >> "$dir/SOURCE"; fi
}

files() { git --git-dir="$(git_of "$1")" ls-tree -r --name-only "$2" -- "$3"; }

# awesome-prometheus-alerts: the generated rule files.
repo=samber/awesome-prometheus-alerts; c=$(git --git-dir="$(git_of $repo)" rev-parse HEAD)
begin awesome-prometheus-alerts $repo "$c" LICENSE
for f in $(files $repo "$c" dist/rules | grep -E '\.ya?ml$'); do copy awesome-prometheus-alerts $repo "$c" "$f" "${f#dist/rules/}"; done

# monitoring-mixins: every mixin's rendered alerts and recording rules.
repo=monitoring-mixins/website; c=$(git --git-dir="$(git_of $repo)" rev-parse HEAD)
begin monitoring-mixins $repo "$c" LICENSE
for f in $(files $repo "$c" assets | grep -E '/(alerts|rules)\.ya?ml$'); do copy monitoring-mixins $repo "$c" "$f" "${f#assets/}"; done

# kube-prometheus: the rule files inside its PrometheusRule manifests (their `spec`).
repo=prometheus-operator/kube-prometheus; c=$(git --git-dir="$(git_of $repo)" rev-parse HEAD)
begin kube-prometheus $repo "$c" LICENSE
for f in $(files $repo "$c" manifests | grep -- '-prometheusRule\.yaml$'); do
    name=$(basename "$f" .yaml)
    git --git-dir="$(git_of $repo)" show "$c:$f" | python3 -c '
import sys, yaml
doc = yaml.safe_load(sys.stdin)
assert doc["kind"] == "PrometheusRule", doc["kind"]
yaml.safe_dump(doc["spec"], sys.stdout, sort_keys=False, allow_unicode=True, width=1000)
' > "$OUT/kube-prometheus/$name.yaml"
    echo "  - $f (spec) -> $name.yaml" >> "$OUT/kube-prometheus/SOURCE"
done

# Prometheus' own promtool test data at its latest v3 tag (expected verdicts: cmd/promtool/unittest_test.go).
repo=prometheus/prometheus; tag=$(git --git-dir="$(git_of $repo)" tag -l 'v3.*' | grep -v -- '-rc' | sort -V | tail -1)
c=$(git --git-dir="$(git_of $repo)" rev-parse "$tag^{commit}")
begin prometheus $repo "$c" LICENSE
echo "tag: $tag" >> "$OUT/prometheus/SOURCE"
for f in unittest.yml long-period.yml bad-input-series.yml bad-promql.yml bad-rules-syntax-test.yml bad-rules-syntax.yml \
    bad-rules-error-test.yml bad-rules-error.yml failing.yml at-modifier-test.yml at-modifier.yml negative-offset-test.yml \
    negative-offset.yml no-test-group-interval.yml start-time-test.yml rules.yml rules_run.yml rules_run_extrafields.yml \
    rules_extrafields.yml rules_run_fuzzy.yml rules_run_no_fuzzy.yml rules-bad.yml rules_duplicates.yml \
    prometheus-rules.lint.yml; do
    copy prometheus $repo "$c" "cmd/promtool/testdata/$f" "$f"
done

# Thanos: its example alerts, recording rules and their unit tests.
repo=thanos-io/thanos; c=$(git --git-dir="$(git_of $repo)" rev-parse HEAD)
begin thanos $repo "$c" LICENSE
for f in alerts.yaml rules.yaml tests.yaml; do copy thanos $repo "$c" "examples/alerts/$f" "$f"; done

# GOV.UK's monitoring rules and their unit tests.
repo=alphagov/govuk-helm-charts; c=$(git --git-dir="$(git_of $repo)" rev-parse HEAD)
begin govuk $repo "$c" LICENCE
for f in $(files $repo "$c" charts/monitoring-config/rules | grep -E '\.ya?ml$'); do
    copy govuk $repo "$c" "$f" "${f#charts/monitoring-config/rules/}"
done

# kubernetes-mixin's unit tests, against the mixin as monitoring-mixins rendered it (the tests'
# rule files are generated, not committed); the tests are taken at the last commit before that render.
website=monitoring-mixins/website; wc=$(git --git-dir="$(git_of $website)" rev-parse HEAD)
rendered=$(git --git-dir="$(git_of $website)" log -1 --format=%cI "$wc" -- assets/kubernetes/alerts.yaml)
repo=kubernetes-monitoring/kubernetes-mixin; c=$(git --git-dir="$(git_of $repo)" log -1 --before="$rendered" --format=%H)
begin kubernetes-mixin $repo "$c" LICENSE
for f in $(files $repo "$c" tests | grep -E '\.ya?ml$'); do copy kubernetes-mixin $repo "$c" "$f" "$f"; done
git --git-dir="$(git_of $website)" show "$wc:assets/kubernetes/alerts.yaml" > "$OUT/kubernetes-mixin/prometheus_alerts.yaml"
git --git-dir="$(git_of $website)" show "$wc:assets/kubernetes/rules.yaml" > "$OUT/kubernetes-mixin/prometheus_rules.yaml"
printf '  - https://github.com/%s %s assets/kubernetes/alerts.yaml -> prometheus_alerts.yaml\n  - https://github.com/%s %s assets/kubernetes/rules.yaml -> prometheus_rules.yaml\n' \
    "$website" "$wc" "$website" "$wc" >> "$OUT/kubernetes-mixin/SOURCE"

du -sh "$OUT"
