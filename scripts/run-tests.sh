#!/usr/bin/env bash
# Runs the Swift test suite (already built). A failed test fails the run: there is no retry. When
# tests fail, it names them at the very end of its output, because CI keeps only a log's tail.
set -uo pipefail
swift=${SWIFT:-swift}
out=.build/test-results
mkdir -p "$out"
rm -f "$out"/*.xml
"$swift" test --skip-build --no-parallel --xunit-output "$out/all.xml" "$@" 2>&1 | tee "$out/all.log"
rc=${PIPESTATUS[0]}
[ "$rc" -eq 0 ] && exit 0

# Failed tests as "Module.Suite/function" from the Swift Testing and XCTest reports.
failed=$(python3 - "$out" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
seen = []
for path in glob.glob(sys.argv[1] + "/all*.xml"):
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        continue
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            name = case.get("classname", "") + "/" + case.get("name", "").split("(")[0]
            if name not in seen:
                seen.append(name)
print("\n".join(seen))
PY
)
echo
echo "=== what failed (full output in $out/all.log) ==="
grep -E '✘|recorded an issue|Expectation failed|error:|Fatal error' "$out/all.log" | grep -v '✔' | head -60
echo
echo "=== failed tests ==="
if [ -n "$failed" ]; then echo "$failed"; else echo "(none could be named: did the run crash? see $out/all.log)"; fi
exit "$rc"
