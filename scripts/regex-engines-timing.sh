#!/usr/bin/env bash
# Times the regex paths of issue 12 item 9 before and after the move to the one RE2 engine: the
# code each path used before (Swift Regex for Alertmanager matchers and log label rewrites, ICU's
# NSRegularExpression for relabelling and reReplaceAll, the Pike VM that lived in Query for PromQL
# =~) against the RE2 target, on the same operations. CPU time per call, the minimum of 9 rounds,
# so that other load on the machine counts little. Not part of `make bench` (it needs the old
# Query engine from git history: revision 99f8f86). Usage: scripts/regex-engines-timing.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/Sources/probe"
name="$(basename "$root" | tr '[:upper:]' '[:lower:]')"
cat > "$work/Package.swift" <<PKG
// swift-tools-version: 6.1
import PackageDescription
let package = Package(
    name: "regex-timing", platforms: [.macOS(.v15)],
    dependencies: [.package(path: "$root")],
    targets: [.executableTarget(name: "probe", dependencies: [.product(name: "RE2", package: "$name")])]
)
PKG
git -C "$root" show 99f8f86:Sources/Query/AnchoredRegex.swift > "$work/Sources/probe/OldAnchoredRegex.swift"
cat >> "$work/Sources/probe/OldAnchoredRegex.swift" <<'SWIFT'

enum Lexer {
    static func isWordStart(_ b: UInt8) -> Bool { (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F }
    static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
}
SWIFT
cat > "$work/Sources/probe/main.swift" <<'SWIFT'
import Foundation
import RE2
import Synchronization

// Old and new regex paths of issue 12 item 9, same operations, CPU ns per call (min of 9 rounds).
func cpu() -> Double { var t = timespec(); clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return Double(t.tv_sec) * 1e9 + Double(t.tv_nsec) }
func measure(_ n: Int, _ body: () -> Int) -> Double {
    var best = Double.infinity
    var sink = 0
    for _ in 0..<9 {
        let t0 = cpu()
        for _ in 0..<n { sink &+= body() }
        best = min(best, (cpu() - t0) / Double(n))
    }
    precondition(sink != Int.min)
    return (best * 10).rounded() / 10
}

// 1. Alertmanager matcher: old = Swift Regex ^(?:…)$ under a Mutex (Notify's Pattern), new = RE2 .alertmanager.
do {
    let p = #"10\.0\.[0-9]+\.[0-9]+:9[0-9]{3}"#
    let old = Mutex(try! Regex("^(?:" + p + ")$"))
    let new = try! RegularExpression(p, options: .alertmanager)
    let values = ["10.0.12.7:9100", "10.0.12.7:8080"]
    var i = 0
    let o = measure(20_000) { i += 1; return old.withLock { values[i & 1].wholeMatch(of: $0) != nil } ? 1 : 0 }
    let n = measure(20_000) { i += 1; return new.matches(values[i & 1]) ? 1 : 0 }
    print("matcher \(p): Swift Regex \(o) ns, RE2 \(n) ns")
}

// 1b. The shapes Notify's Pattern answered without Swift Regex: a literal set and a prefix.
do {
    let set: Set<String> = ["critical", "high"]
    let new = try! RegularExpression("critical|high", options: .alertmanager)
    let prefixNew = try! RegularExpression("db-.*", options: .alertmanager)
    let values = ["high", "warning", "critical", "info"]
    let teams = ["db-core", "web", "db-replica", "api"]
    var i = 0
    let o = measure(100_000) { i += 1; let v = values[i & 3]; let t = teams[i & 3]; return (set.contains(v) ? 1 : 0) + (t.utf8.starts(with: "db-".utf8) && !t.utf8.contains(0x0A) ? 1 : 0) }
    let n = measure(100_000) { i += 1; return (new.matches(values[i & 3]) ? 1 : 0) + (prefixNew.matches(teams[i & 3]) ? 1 : 0) }
    print("matcher shapes critical|high + db-.*: Set/prefix \(o) ns, RE2 \(n) ns")
    let c0 = measure(2_000) { (try! RegularExpression("critical|high", options: .alertmanager)).groupCount + (try! RegularExpression("db-.*", options: .alertmanager)).groupCount }
    print("compile critical|high + db-.*: RE2 \(c0) ns")
}

// 2. Relabel replace: old = NSRegularExpression ^(?:…)$ firstMatch + expand of $1/${2}, new = RE2 firstMatch + expand.
func nsExpand(_ template: String, _ m: NSTextCheckingResult, _ text: NSString) -> String {
    var out = ""
    var i = template.startIndex
    while i < template.endIndex {
        if template[i] == "$", let d = template[template.index(after: i)...].first(where: { _ in true }) {
            var j = template.index(after: i)
            var name = ""
            if d == "{" { j = template.index(after: j); while template[j] != "}" { name.append(template[j]); j = template.index(after: j) }; j = template.index(after: j) }
            else { while j < template.endIndex, template[j].isNumber { name.append(template[j]); j = template.index(after: j) } }
            let r = m.range(at: Int(name)!)
            if r.location != NSNotFound { out += text.substring(with: r) }
            i = j
        } else { out.append(template[i]); i = template.index(after: i) }
    }
    return out
}
do {
    let p = "(sd|nvme|dm-)([a-z0-9]+)"
    let old = try! NSRegularExpression(pattern: "^(?:" + p + ")$", options: [.dotMatchesLineSeparators])
    let new = try! RegularExpression(p, options: .prometheus)
    let values = ["nvme0n1", "sda", "loop0", "dm-1"]
    var i = 0
    let o = measure(20_000) {
        i += 1
        let v = values[i & 3]
        guard let m = old.firstMatch(in: v, range: NSRange(v.startIndex..., in: v)) else { return 0 }
        return nsExpand("${1}_$2", m, v as NSString).utf8.count
    }
    let n = measure(20_000) {
        i += 1
        let v = values[i & 3]
        guard let m = new.firstMatch(in: v) else { return 0 }
        return new.expand("${1}_$2", m, in: v).utf8.count
    }
    print("relabel replace \(p): ICU \(o) ns, RE2 \(n) ns")
    let drop = "go_gc_.*|node_scrape_collector_.*"
    let oldDrop = try! NSRegularExpression(pattern: "^(?:" + drop + ")$", options: [.dotMatchesLineSeparators])
    let newDrop = try! RegularExpression(drop, options: .prometheus)
    let names = ["node_cpu_seconds_total", "go_gc_duration_seconds", "node_scrape_collector_success", "process_open_fds"]
    let od = measure(20_000) { i += 1; let v = names[i & 3]; return oldDrop.firstMatch(in: v, range: NSRange(v.startIndex..., in: v)) != nil ? 1 : 0 }
    let nd = measure(20_000) { i += 1; return newDrop.matches(names[i & 3]) ? 1 : 0 }
    print("relabel drop \(drop): ICU \(od) ns, RE2 \(nd) ns")
}

// 3. reReplaceAll: old = NSRegularExpression matches loop + template, new = RE2 replacingAll.
do {
    let p = "(.*):([0-9]+)"
    let old = try! NSRegularExpression(pattern: p)
    let new = try! RegularExpression(p, options: .go)
    let text = "host-17.example.org:9100"
    let o = measure(20_000) { old.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "$1").utf8.count }
    let n = measure(20_000) { new.replacingAll(in: text, with: "$1").utf8.count }
    print("reReplaceAll \(p): ICU \(o) ns, RE2 \(n) ns")
}

// 4. Log label rewrite: old = Swift Regex wholeMatch + output group, new = RE2 firstMatch + expand.
do {
    let p = "/api/(v[0-9]+)/([a-z]+).*"
    let old = try! Regex(p)
    let new = try! RegularExpression(p, options: .prometheus)
    let values = ["/api/v1/users/profile", "/health", "/api/v2/recommendations"]
    var i = 0
    let o = measure(20_000) {
        i += 1
        let v = values[i % 3]
        guard let m = try? old.wholeMatch(in: v) else { return 0 }
        return (m.output[1].substring.map(String.init) ?? "").utf8.count + (m.output[2].substring.map(String.init) ?? "").utf8.count
    }
    let n = measure(20_000) {
        i += 1
        let v = Array(values[i % 3].utf8)
        guard let m = new.firstMatch(in: v) else { return 0 }
        return new.expand("$1_$2", m, in: v).count
    }
    print("log rewrite \(p): Swift Regex \(o) ns, RE2 \(n) ns")
}

// 5. PromQL =~ (yes/no on label bytes): old = the Pike VM that lived in Query, new = RE2.
for (p, input) in [(#"10\.0\.0\.(1|3|5)[0-9]?:80[0-9]+"#, "10.0.0.13:8080"), ("5..", "503"), ("api|web-[0-9]+", "web-12"), ("(a|b)*c", "abababababababababababababababc")] {
    let old = try! AnchoredRegex(p)
    let new = try! RegularExpression(p, options: .prometheus)
    let bytes = Array(input.utf8)
    let o = measure(100_000) { old.matches(bytes[...]) ? 1 : 0 }
    let n = measure(100_000) { new.matches(bytes[...]) ? 1 : 0 }
    print("=~ \(p): Query's old VM \(o) ns, RE2 \(n) ns")
}

// 6. A hostile pattern on 30 bytes: old engines backtrack.
do {
    let input = String(repeating: "a", count: 30)
    let new = try! RegularExpression("(a*)*b", options: .alertmanager)
    let n = measure(10) { new.matches(input) ? 1 : 0 }
    let ns = try! NSRegularExpression(pattern: "^(?:(a*)*b)$")
    let t0 = cpu()
    _ = ns.firstMatch(in: input, range: NSRange(input.startIndex..., in: input))
    let icu = (cpu() - t0) / 1e6
    print("(a*)*b on 30 a's: RE2 \(n) ns; ICU \(icu) ms (one call)")
}

// 7. Near the capture-memory bound (what the fuzzer found slowest): 500 groups, each thread of
// the Pike VM copies 1 002 slots per step; a yes/no match needs no slots.
do {
    let re = try! RegularExpression("(a?){500}b", options: .prometheus)
    let input = Array(String(repeating: "a", count: 200).utf8)
    let n = measure(1) { re.firstMatch(in: input) == nil ? 1 : 0 }
    let yes = measure(10) { re.matches(input) ? 1 : 0 }
    print("(a?){500}b on 200 a's: RE2 submatches \((n / 1e6 * 10).rounded() / 10) ms, yes/no \((yes / 1e3).rounded()) µs")
}
SWIFT
(cd "$work" && swift build -c release >/dev/null && .build/release/probe)
