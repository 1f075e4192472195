#!/usr/bin/env bash
# Puts Prometheus's own rule-file test data where the tests look (AgentTests' "Prometheus 2.42's
# test data"), from Debian's registry at test time, never committed: the source package of
# `prometheus` on bookworm (2.42.0+ds-5+deb12u1, the release whose promtool the tests run beside
# the agent), of which only cmd/promtool/testdata, model/rulefmt/testdata and rules/fixtures are
# kept, with Prometheus's LICENSE (Apache-2.0) and the package's debian/copyright, in
# .build/rule-files/prometheus-2.42/.
#
# The machine's apt configuration is left alone: the deb-src line, the package lists and the
# downloads live in .build/apt-source/ (apt-get is pointed there with -o options).
# Idempotent; fails loudly when the package cannot be had (the tests then fail too, never skip).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.build/rule-files/prometheus-2.42
[ -s "$dest/SOURCE" ] && exit 0

state=$PWD/.build/apt-source
mkdir -p "$state/lists/partial" "$state/parts" "$state/download"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
if [ -s "$keyring" ]; then
    echo "deb-src [signed-by=$keyring] http://deb.debian.org/debian bookworm main" >"$state/sources.list"
else
    echo "deb-src http://deb.debian.org/debian bookworm main" >"$state/sources.list"
fi
apt_private=(
    -o "Dir::Etc::SourceList=$state/sources.list"
    -o "Dir::Etc::SourceParts=$state/parts"
    -o "Dir::State::Lists=$state/lists"
    # Neither the machine's binary caches nor its download cache are written.
    -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
    -o "Dir::Cache::Archives=$state/download"
    -o "APT::Sandbox::User=root"
)
fetch() {
    rm -f "$state"/download/prometheus_*
    (cd "$state/download" && apt-get "${apt_private[@]}" source --download-only prometheus)
}
# The private package lists are refreshed only when the download fails with the ones at hand.
fetch >/dev/null 2>&1 || { apt-get "${apt_private[@]}" update -qq && fetch >/dev/null; } || {
    echo "prometheus-testdata-deps: cannot download Debian's prometheus source package (deb-src bookworm main; apt-get's error above)" >&2
    exit 1
}

dsc=$(ls "$state"/download/prometheus_*.dsc)
version=$(sed -n 's/^Version: //p' "$dsc")
case "$version" in
    2.42.*) ;;
    *) echo "prometheus-testdata-deps: bookworm's prometheus source is $version, not 2.42 (the tests and docs/rules.md name 2.42)" >&2; exit 1 ;;
esac
orig=$(ls "$state"/download/prometheus_*.orig.tar.*)
debian=$(ls "$state"/download/prometheus_*.debian.tar.*)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tar -xf "$orig" -C "$tmp" --wildcards --no-anchored \
    '*/cmd/promtool/testdata/*' '*/model/rulefmt/testdata/*' '*/rules/fixtures/*' 'prometheus-*/LICENSE'
tar -xf "$debian" -C "$tmp" debian/copyright
top=$(cd "$tmp" && ls -d prometheus-*)
for dir in cmd/promtool/testdata model/rulefmt/testdata rules/fixtures; do
    [ -d "$tmp/$top/$dir" ] && [ -n "$(ls "$tmp/$top/$dir")" ] ||
        { echo "prometheus-testdata-deps: $dir is missing from $(basename "$orig")" >&2; exit 1; }
done

rm -rf "$dest" "$dest.tmp"
mkdir -p "$dest.tmp/cmd/promtool" "$dest.tmp/model/rulefmt" "$dest.tmp/rules"
cp -R "$tmp/$top/cmd/promtool/testdata" "$dest.tmp/cmd/promtool/"
cp -R "$tmp/$top/model/rulefmt/testdata" "$dest.tmp/model/rulefmt/"
cp -R "$tmp/$top/rules/fixtures" "$dest.tmp/rules/"
cp "$tmp/$top/LICENSE" "$dest.tmp/LICENSE"
cp "$tmp/debian/copyright" "$dest.tmp/copyright"
printf 'Debian source package prometheus %s (bookworm main, deb.debian.org): %s, %s\n' \
    "$version" "$(basename "$orig")" "$(basename "$debian")" >"$dest.tmp/SOURCE"
mv "$dest.tmp" "$dest"
