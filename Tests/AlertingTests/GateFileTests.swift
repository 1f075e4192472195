import Testing
@testable import Alerting

func gateErrors(_ text: String) -> [String] {
    do {
        _ = try GateFile.parse(text, path: "g.yaml")
        return []
    } catch {
        return error.errors.map(\.description)
    }
}

/// A file with one gate `g` whose body lines follow (at indentation 4, starting on line 3).
func gateFile(_ body: String) -> String {
    "gates:\n  - name: g\n" + body
}

@Suite("Gate files")
struct GateFileTests {
    static let valid = gateFile("""
            duration: 10m
            must:
              - expr: up == 1

        """)

    @Test func aValidFileGivesItsGatesWithDefaults() throws {
        let file = try GateFile.parse("""
            gates:
              - name: canary-to-staged
                interval: 30s
                duration: 10m
                timeout: 30m
                failure_limit: 2
                no_data: fail
                no_data_limit: 1
                error_limit: 2
                must:
                  - expr: track:errors:ratio{track="canary"} < 0.01
                    name: errors
                  - no_alerts: {gate: canary}
                should:
                  - expr: |
                      cache:ratio
                        >= 0.7
                min_should: 1
                notify: [abort]
                labels: {severity: high}
              - name: quick
                duration: 1m
                must: [{expr: up}]
            """, path: "g.yaml")
        #expect(file.gates.count == 2)
        let g = file.gates[0]
        #expect(g.name == "canary-to-staged" && g.interval == 30_000 && g.duration == 600_000 && g.timeout == 1_800_000)
        #expect(g.failureLimit == 2 && g.noData == .fail && g.noDataLimit == 1 && g.errorLimit == 2 && g.minShould == 1)
        #expect(g.must.map(\.name) == ["errors", "no_alerts {gate=\"canary\"}"])
        #expect(g.must[1].kind == .noAlerts(["gate": "canary"]))
        #expect(g.should[0].name == "cache:ratio >= 0.7")
        #expect(g.notify == [.abort] && g.labels == ["severity": "high"])
        #expect(g.source == "g.yaml:2:5")
        #expect(g.requiredStreak == 21 && g.evaluationLimit == 61)
        let q = file.gates[1]
        #expect(q.interval == 30_000 && q.timeout == 180_000 && q.failureLimit == 0 && q.noData == .inconclusive)
        #expect(q.errorLimit == Gate.defaultErrorLimit && q.notify.isEmpty)
    }

    /// Each case: the file, and an error it must give (position and a part of the message).
    static let cases: [(String, String, String)] = [
        ("", "g.yaml:1:1:", "the gate file is empty"),
        ("gates: [", "g.yaml:2:1:", "YAML syntax error"),
        ("gate:\n  - name: g\n", "g.yaml:1:1:", "unknown key \"gate\" in a gate file (did you mean \"gates\"?)"),
        ("gates: 3\n", "g.yaml:1:8:", "expected gates (a list), got the number 3"),
        ("gates:\n  - duration: 1m\n    must: [{expr: up}]\n", "g.yaml:2:5:", "a gate needs \"name:\""),
        ("gates:\n  - name: a/b\n    duration: 1m\n    must: [{expr: up}]\n", "g.yaml:2:11:", "gate name \"a/b\" must be letters, digits"),
        ("gates:\n  - name: ..\n    duration: 1m\n    must: [{expr: up}]\n", "g.yaml:2:11:", "gate name \"..\" must be letters"),
        (gateFile("    must: [{expr: up}]\n"), "g.yaml:2:5:", "gate \"g\": a gate needs \"duration:\""),
        (gateFile("    duration: 1m\n"), "g.yaml:2:5:", "gate \"g\": a gate needs \"must:\""),
        (gateFile("    duration: 1m\n    must: []\n"), "g.yaml:4:11:", "a gate needs \"must:\", a list of at least one check"),
        (gateFile("    duration: 10\n    must: [{expr: up}]\n"), "g.yaml:3:15:", "a bare number has no unit"),
        (gateFile("    duraton: 1m\n    must: [{expr: up}]\n"), "g.yaml:3:5:", "unknown key \"duraton\" in a gate (did you mean \"duration\"?)"),
        (gateFile("    duration: 1h\n    timeout: 30m\n    must: [{expr: up}]\n"), "g.yaml:4:14:", "duration 1h does not fit in timeout 30m"),
        (gateFile("    interval: 500ms\n    duration: 1m\n    must: [{expr: up}]\n"), "g.yaml:4:15:", "interval must be at least 1s"),
        (gateFile("    interval: 1s\n    duration: 1m\n    timeout: 1d\n    must: [{expr: up}]\n"), "g.yaml:5:14:", "makes 86401 evaluations; at most 10000"),
        (gateFile("    duration: 1m\n    failure_limit: -1\n    must: [{expr: up}]\n"), "g.yaml:4:20:", "\"failure_limit\" must not be negative"),
        (gateFile("    duration: 1m\n    no_data: skip\n    must: [{expr: up}]\n"), "g.yaml:4:14:", "no_data must be one of inconclusive, fail, pass, got \"skip\""),
        (gateFile("    duration: 1m\n    must: [{expr: up}]\n    min_should: 2\n"), "g.yaml:5:17:", "min_should is 2 but the gate has 0 should-checks"),
        (gateFile("    duration: 1m\n    must: [{expr: up}]\n    notify: [rollback]\n"), "g.yaml:5:14:", "notify lists verdicts: promote, abort, inconclusive; got \"rollback\""),
        (gateFile("    duration: 1m\n    must: [{expr: up}]\n    labels: {gate: x}\n"), "g.yaml:5:13:", "label \"gate\" is set by the gate's notification"),
        (gateFile("    duration: 1m\n    must: [{expr: up}]\n    labels: {9x: y}\n"), "g.yaml:5:14:", "\"9x\" in labels is not a valid label name"),
        (gateFile("    duration: 1m\n    must:\n      - expr: sum(up\n"), "g.yaml:5:21:", "gate \"g\", must 1: expr: unexpected end of input"),
        (gateFile("    duration: 1m\n    must:\n      - expr: up[5m]\n"), "g.yaml:5:15:", "expr must give an instant vector"),
        (gateFile("    duration: 1m\n    must:\n      - expr: up > bool 1\n"), "g.yaml:5:15:", "compares with `bool`"),
        (gateFile("    duration: 1m\n    must:\n      - name: x\n"), "g.yaml:5:9:", "a check needs \"expr:\" (a PromQL condition) or \"no_alerts:\""),
        (gateFile("    duration: 1m\n    must:\n      - {expr: up, no_alerts: {a: b}}\n"), "g.yaml:5:20:", "a check has either \"expr:\" or \"no_alerts:\", not both"),
        (gateFile("    duration: 1m\n    must:\n      - no_alerts: {}\n"), "g.yaml:5:20:", "no_alerts needs at least one label"),
        (gateFile("    duration: 1m\n    must:\n      - no_alerts: [a]\n"), "g.yaml:5:20:", "expected no_alerts (a mapping of label names to values), got a list"),
        (gateFile("    duration: 1m\n    must:\n      - exp: up\n"), "g.yaml:5:9:", "unknown key \"exp\" in a check (did you mean \"expr\"?)"),
        ("gates:\n  - {name: g, duration: 1m, must: [{expr: up}]}\n  - {name: g, duration: 1m, must: [{expr: up}]}\n", "g.yaml:3:12:",
         "gate name \"g\" is repeated in the same file (first at line 2)"),
        (gateFile("    duration: 1m\n    duration: 2m\n    must: [{expr: up}]\n"), "g.yaml:4:5:", "key \"duration\" is given twice"),
    ]

    @Test("every error at its position", arguments: cases.indices)
    func errorAtItsPosition(_ index: Int) {
        let (text, position, message) = Self.cases[index]
        let errors = gateErrors(text)
        #expect(errors.contains { $0.hasPrefix(position) && $0.contains(message) }, "case \(index): \(errors)")
    }

    @Test func allErrorsOfAFileInOnePass() {
        let errors = gateErrors("""
            gates:
              - name: a
                duration: 1x
                must: [{expr: "sum("}]
              - name: b
                duration: 1m
                must: [{no_alerts: {}}]
                bogus: 1
            """)
        #expect(errors.count == 4, "\(errors)")
    }

    @Test func gateNamesMustBeUniqueAcrossFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gates-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.yaml").path, b = dir.appendingPathComponent("b.yaml").path
        try "gates:\n  - {name: g, duration: 1m, must: [{expr: up}]}\n".write(toFile: a, atomically: true, encoding: .utf8)
        try "gates:\n  - {name: g, duration: 2m, must: [{expr: up}]}\n".write(toFile: b, atomically: true, encoding: .utf8)
        #expect(throws: RuleFileErrors.self) { try GateFile.load(paths: [a, b]) }
        do { _ = try GateFile.load(paths: [a, b]) } catch {
            #expect(error.errors.map(\.description) == ["\(b):2:5: gate \"g\" is also defined at \(a):2:5; gate names must be unique"])
        }
    }

    /// Hostile input: huge, deeply nested, binary, truncated at every length — errors, never a crash.
    @Test func hostileInputGivesErrorsNotCrashes() {
        let huge = "gates:\n" + String(repeating: "  - {name: g, duration: 1m, must: [{expr: up}]}\n", count: 2_000)
        #expect(!gateErrors(huge).isEmpty)  // repeated names
        let deep = "gates: " + String(repeating: "[", count: 5_000) + String(repeating: "]", count: 5_000)
        #expect(!gateErrors(deep).isEmpty)
        let longExpr = gateFile("    duration: 1m\n    must:\n      - expr: \"" + String(repeating: "(", count: 10_000) + "up" + String(repeating: ")", count: 10_000) + "\"\n")
        _ = gateErrors(longExpr)
        #expect(!gateErrors("gates:\n  - name: \u{0}\u{1}\u{7f}\n").isEmpty)
        let text = Array(Self.valid.utf8)
        for n in 0..<text.count {
            let prefix = String(decoding: text[..<n], as: UTF8.self)
            _ = gateErrors(prefix)  // any outcome but a crash
        }
        #expect(gateErrors(Self.valid).isEmpty)
    }
}

import Foundation
