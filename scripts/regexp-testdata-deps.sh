#!/usr/bin/env bash
# Puts Go's regexp test data where RE2Tests looks for it, from Debian's registry at test time, never
# committed: from golang-1.19-src (extracted, not installed), src/regexp/testdata/re2-search.txt (RE2's
# log of its search tests, which Go's TestRE2Search reads) and the tables of find_test.go (findTests)
# and all_test.go (replaceTests, badRe), which RE2Tests parses; with the package's copyright file
# (BSD-3-Clause). Into .build/go-regexp/. Idempotent; fails loudly when the package cannot be had (the
# tests then fail too, never skip).
set -euo pipefail
cd "$(dirname "$0")/.."
package=golang-1.19-src
dest=.build/go-regexp
if [ ! -s "$dest/re2-search.txt" ] || [ ! -s "$dest/find_test.go" ] || [ ! -s "$dest/all_test.go" ]; then
    mkdir -p "$dest"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && apt-get download "$package" >/dev/null 2>&1) || {
        apt-get update -qq && (cd "$tmp" && apt-get download "$package" >/dev/null)
    }
    dpkg-deb -x "$tmp"/"$package"_*.deb "$tmp/x"
    src=$(echo "$tmp"/x/usr/share/go-*/src/regexp)
    cp "$src/testdata/re2-search.txt" "$src/find_test.go" "$src/all_test.go" "$dest/"
    cp "$tmp"/x/usr/share/doc/"$package"/copyright "$dest/copyright"
fi
