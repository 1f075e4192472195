import Testing
@testable import Alerting

/// Wraps rule lines into a file with one group `g` (rules start at line 4, column 7).
func ruleFile(_ rules: String) -> String {
    "groups:\n  - name: g\n    rules:\n" + rules
}

func errors(_ text: String) -> [String] {
    do {
        _ = try RuleFile.parse(text, path: "r.yaml")
        return []
    } catch {
        return error.errors.map(\.description)
    }
}

@Suite("Rule file validation")
struct RuleFileValidationTests {
    /// Each case: the file, and the one error it must give (position and a part of the message).
    static let cases: [(String, String, String)] = [
        ("groups: [", "r.yaml:2:1:", "YAML syntax error"),
        ("- a\n- b\n", "r.yaml:1:1:", "expected a rule file (a mapping), got a list"),
        ("group:\n  - name: g\n", "r.yaml:1:1:", "unknown key \"group\" in a rule file (did you mean \"groups\"?)"),
        ("groups: 3\n", "r.yaml:1:9:", "expected groups (a list), got the number 3"),
        ("groups:\n  - rules: []\n", "r.yaml:2:5:", "a group needs \"name:\""),
        ("groups:\n  - name: g\n    rules: []\n  - name: g\n    rules: []\n", "r.yaml:4:11:", "group name \"g\" is repeated in the same file (first at line 2)"),
        ("groups:\n  - name: g\n    intervall: 1m\n    rules: []\n", "r.yaml:3:5:", "unknown key \"intervall\" in a rule group (did you mean \"interval\"?)"),
        ("groups:\n  - name: g\n    interval: 1x\n    rules: []\n", "r.yaml:3:15:", "bad duration \"1x\" for \"interval\""),
        ("groups:\n  - name: g\n    limit: -1\n    rules: []\n", "r.yaml:3:12:", "\"limit\" must not be negative, got -1"),
        ("groups:\n  - name: g\n    limit: many\n    rules: []\n", "r.yaml:3:12:", "expected \"limit\" (a whole number), got the string \"many\""),
        ("groups:\n  - name: g\n    labels: {9x: a}\n    rules: []\n", "r.yaml:3:14:", "invalid label name \"9x\""),
        ("groups:\n  - name: g\n    name: h\n    rules: []\n", "r.yaml:3:5:", "key \"name\" is given twice in this mapping (first at line 2)"),
        (ruleFile("      - expr: up\n"), "r.yaml:4:9:", "a rule needs either \"alert:\" (an alerting rule) or \"record:\" (a recording rule)"),
        (ruleFile("      - alert: A\n        record: b\n        expr: up\n"), "r.yaml:5:9:", "a rule has either \"alert:\" or \"record:\", not both"),
        (ruleFile("      - alert: A\n"), "r.yaml:4:9:", "rule 1 \"A\": a rule needs \"expr:\""),
        (ruleFile("      - alert: A\n        expr: sum(up\n"), "r.yaml:5:21:", "rule 1 \"A\": expr: unexpected end of input"),
        (ruleFile("      - alert: A\n        expr: up[5m]\n"), "r.yaml:5:15:", "expr must give an instant vector or a scalar, but gives a range vector"),
        (ruleFile("      - alert: A\n        expr: |\n          sum by (job) (\n            rate(x[5m]\n          )\n"), "r.yaml:9:11:", "expr: unexpected end of input"),
        (ruleFile("      - alert: A\n        expr: up\n        for: 5\n"), "r.yaml:6:14:", "bad duration \"5\" for \"for\""),
        (ruleFile("      - alert: A\n        expr: up\n        keep_firing_for: soon\n"), "r.yaml:6:26:", "bad duration \"soon\" for \"keep_firing_for\""),
        (ruleFile("      - alert: A\n        expr: up\n        treshold: 5\n"), "r.yaml:6:9:", "unknown key \"treshold\" in a rule"),
        (ruleFile("      - alert: A\n        expr: up\n        anotations: {}\n"), "r.yaml:6:9:", "(did you mean \"annotations\"?)"),
        (ruleFile("      - record: bad name\n        expr: up\n"), "r.yaml:4:17:", "invalid metric name \"bad name\""),
        (ruleFile("      - record: r\n        expr: up\n        for: 5m\n"), "r.yaml:6:9:", "\"for\" is only for alerting rules"),
        (ruleFile("      - record: r\n        expr: up\n        annotations: {a: b}\n"), "r.yaml:6:9:", "\"annotations\" is only for alerting rules"),
        (ruleFile("      - alert: A\n        expr: up\n        labels: {__name__: x}\n"), "r.yaml:6:18:", "label \"__name__\" cannot be set by a rule"),
        (ruleFile("      - alert: A\n        expr: up\n        labels: [a]\n"), "r.yaml:6:17:", "expected labels (a mapping of names to templates), got a list"),
        (ruleFile("      - alert: A\n        expr: up\n        annotations:\n          summary: \"{{ $value | bogus }}\"\n"), "r.yaml:7:33:", "annotation \"summary\": function \"bogus\" not defined"),
        (ruleFile("      - alert: A\n        expr: up\n        labels:\n          team: \"{{ if true }}x\"\n"), "r.yaml:7:32:", "label \"team\": unexpected EOF"),
        (ruleFile("      - alert: A\n        expr: up\n        annotations:\n          d: |\n            line one\n            {{ $nope }}\n"), "r.yaml:9:16:", "annotation \"d\": undefined variable \"$nope\""),
        (ruleFile("      - alert: A\n        expr: up\n        tiers: []\n"), "r.yaml:6:16:", "tiers must list at least one tier"),
        (ruleFile("      - alert: A\n        expr: up\n        tiers:\n          - above: 1\n"), "r.yaml:7:13:", "a tier needs \"severity:\""),
        (ruleFile("      - alert: A\n        expr: up\n        tiers:\n          - severity: high\n"), "r.yaml:7:13:", "a tier needs a threshold: \"above:\" or \"below:\""),
        (ruleFile("      - alert: A\n        expr: up\n        tiers:\n          - {severity: high, above: 1, below: 0}\n"), "r.yaml:7:30:", "a tier has either \"above:\" or \"below:\", not both"),
        (ruleFile("      - alert: A\n        expr: up\n        tiers:\n          - {severity: high, above: \"1\"}\n"), "r.yaml:7:37:", "expected \"above\" (a number), got the string \"1\""),
        (ruleFile("      - alert: A\n        expr: up\n        tiers:\n          - {severity: high, above: 1, threshold: 2}\n"), "r.yaml:7:40:", "unknown key \"threshold\" in a tier"),
        (ruleFile("      - alert: A\n        expr: up\n        tiers:\n          - {severity: high, above: 1}\n          - {severity: high, above: 0.5}\n"), "r.yaml:8:24:", "severity \"high\" is given twice"),
        (ruleFile("      - alert: A\n        expr: up\n        tiers:\n          - {severity: high, above: 1}\n          - {severity: medium, below: 0.5}\n"), "r.yaml:8:13:", "all tiers of a rule must use the same direction"),
        (ruleFile("      - alert: A\n        expr: up\n        tiers:\n          - {severity: a, above: 1}\n          - {severity: b, above: 2}\n"), "r.yaml:8:13:", "tier 2 \"b\" (above 2) must have a lower threshold than tier 1 \"a\" (above 1)"),
        (ruleFile("      - alert: A\n        expr: up\n        tiers:\n          - {severity: a, below: 2}\n          - {severity: b, below: 1}\n"), "r.yaml:8:13:", "must have a higher threshold than tier 1"),
        (ruleFile("      - alert: A\n        expr: up\n        tiers:\n          - {severity: low, above: 2}\n          - {severity: critical, above: 1}\n"), "r.yaml:8:13:", "\"critical\" is more severe than \"low\" and must come first"),
        (ruleFile("      - alert: A\n        expr: up\n        tiers:\n          - {severity: high, above: 1, for: x}\n"), "r.yaml:7:45:", "bad duration \"x\" for \"for\""),
        (ruleFile("      - alert: A\n        expr: up\n        tiers:\n          - {severity: high, above: 1}\n        recover_below: 2\n"), "r.yaml:8:24:", "recover_below (2) must not exceed the least severe tier's threshold (high above 1)"),
        (ruleFile("      - alert: A\n        expr: up\n        tiers:\n          - {severity: high, below: 1}\n        recover_above: 0.5\n"), "r.yaml:8:24:", "recover_above (0.5) must not be under the least severe tier's threshold"),
        (ruleFile("      - alert: A\n        expr: up\n        tiers:\n          - {severity: high, below: 1}\n        recover_below: 0.5\n"), "r.yaml:8:9:", "recover_below goes with \"above\" tiers"),
        (ruleFile("      - alert: A\n        expr: up\n        tiers:\n          - {severity: high, above: 1}\n        recover_above: 2\n"), "r.yaml:8:9:", "recover_above goes with \"below\" tiers"),
        (ruleFile("      - alert: A\n        expr: up\n        recover_below: 2\n"), "r.yaml:6:9:", "\"recover_below\" needs \"tiers:\""),
        (ruleFile("      - alert: A\n        expr: up\n        labels: {severity: high}\n        tiers:\n          - {severity: high, above: 1}\n"), "r.yaml:7:9:", "labels.severity conflicts with tiers"),
        (ruleFile("      - alert: A\n        expr: up\n        tiers: {severity: high}\n"), "r.yaml:6:16:", "expected tiers (a list), got a mapping"),
    ]

    @Test("every kind of mistake is reported at its file:line:column", arguments: 0..<cases.count)
    func reportsEachError(index: Int) {
        let (text, position, message) = Self.cases[index]
        let found = errors(text)
        #expect(found.contains { $0.hasPrefix(position) && $0.contains(message) }, "wanted \(position) … \(message), got \(found)")
    }

    @Test("all errors of a file are reported in one pass, in file order")
    func allErrorsInOnePass() {
        let text = ruleFile("""
                  - alert: A
                    expr: rate(x[5m]
                    for: 5
                  - alert: A
                    expr: up
                    treshold: 1
                  - record: r
                    expr: up
                    for: 1m

            """)
        let found = errors(text)
        #expect(found.count == 4, "\(found)")
        #expect(found == found.sorted { $0.split(separator: ":")[1].count < $1.split(separator: ":")[1].count || ($0.split(separator: ":")[1].count == $1.split(separator: ":")[1].count && $0 < $1) })
    }

    @Test("a Prometheus rule file loads unchanged")
    func prometheusFileLoads() throws {
        let text = """
            groups:
              - name: example
                interval: 30s
                limit: 10
                rules:
                  - record: job:http_inprogress_requests:sum
                    expr: sum by (job) (http_inprogress_requests)
                    labels: {team: a}
                  - alert: HighRequestLatency
                    expr: job:request_latency_seconds:mean5m{job="myjob"} > 0.5
                    for: 10m
                    keep_firing_for: 5m
                    labels:
                      severity: page
                    annotations:
                      summary: High request latency on {{ $labels.instance }}
                      value: '{{ printf "%.2f" $value }}'
            """
        let file = try RuleFile.parse(text, path: "x.yaml")
        let group = try #require(file.groups.first)
        #expect(group.interval == 30_000 && group.limit == 10)
        #expect(group.rules.map(\.kind) == [.recording, .alerting])
        let alert = group.rules[1]
        #expect(alert.holdDuration == 600_000 && alert.keepFiringFor == 300_000 && !alert.isTiered)
        #expect(alert.annotations.map(\.name) == ["summary", "value"])
    }

    @Test("the same alert name twice in a group loads as two independent rules; differing severities get a note, not an error")
    func duplicateAlertNames() throws {
        let file = try RuleFile.parse(ruleFile("""
                  - alert: DiskFull
                    expr: disk_used_ratio > 0.8
                    for: 10m
                    labels: {severity: warning}
                  - alert: DiskFull
                    expr: disk_used_ratio > 0.95
                    for: 2m
                    labels: {severity: critical}
                  - alert: Up
                    expr: up == 0
                  - alert: Up
                    expr: up == 0
                    for: 5m

            """), path: "r.yaml")
        let rules = file.groups[0].rules
        #expect(rules.map(\.name) == ["DiskFull", "DiskFull", "Up", "Up"])
        #expect(rules.map(\.holdDuration) == [600_000, 120_000, 0, 300_000])
        #expect(file.notes.count == 1, "\(file.notes)")
        let note = try #require(file.notes.first)
        #expect(note.description.hasPrefix("r.yaml:8:9: group \"g\": alert \"DiskFull\" is also defined at line 4"), "\(note)")
        #expect(note.message.contains("`tiers:`"))
        #expect(RuleGroup.checkpointNames(rules) == ["DiskFull\u{1}severity=warning", "DiskFull\u{1}severity=critical", "Up\u{1}", "Up\u{1}\u{1}#2"])
    }

    /// The empty forms promtool accepts (`promtool check rules` prints "SUCCESS: 0 rules found").
    static let emptyFiles = ["", "{}\n", "groups: []\n", "groups:\n", "# only a comment\n", "---\n", "null\n"]

    @Test("an empty file is valid and has no groups, in every form promtool accepts", arguments: emptyFiles)
    func emptyFile(_ text: String) throws {
        #expect(try RuleFile.parse(text, path: "e.yaml").groups.isEmpty)
    }

    @Test("a group without rules, or with interval 0s (the global one), is valid as in promtool")
    func emptyGroup() throws {
        let file = try RuleFile.parse("groups:\n  - name: g\n  - name: h\n    interval: 0s\n    rules:\n", path: "e.yaml")
        #expect(file.groups.map(\.name) == ["g", "h"])
        #expect(file.groups.allSatisfy { $0.rules.isEmpty && $0.interval == nil })
    }

    @Test("what promtool refuses stays refused: groups as a mapping, a list at the top")
    func nonEmptyShapesStayErrors() {
        #expect(!errors("groups: {}\n").isEmpty)
        #expect(!errors("[]\n").isEmpty)
    }

    @Test("tiers load most severe first with their own `for` and the recovery threshold")
    func tiersLoad() throws {
        let file = try RuleFile.parse(ruleFile("""
                  - alert: A
                    expr: x
                    for: 2m
                    tiers:
                      - {severity: critical, above: 0.25, for: 0s}
                      - {severity: high, above: 0.05}
                    recover_below: 0.04

            """), path: "t.yaml")
        let rule = file.groups[0].rules[0]
        #expect(rule.tiers == [
            SeverityTier(severity: "critical", direction: .above, threshold: 0.25, holdDuration: 0),
            SeverityTier(severity: "high", direction: .above, threshold: 0.05),
        ])
        #expect(rule.recovery == 0.04)
    }

    @Test("hostile input gives errors, not crashes: deep nesting, huge values, binary junk, aliases")
    func hostileInput() {
        let deep = String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
        _ = errors("groups: " + deep)
        _ = errors(ruleFile("      - alert: A\n        expr: " + String(repeating: "(", count: 10_000) + "up" + String(repeating: ")", count: 10_000) + "\n"))
        _ = errors(ruleFile("      - alert: A\n        expr: up\n        annotations: {a: \"" + String(repeating: "{{ $value }}", count: 10_000) + "\"}\n"))
        _ = errors(String(decoding: (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919) }, as: UTF8.self))
        _ = errors("a: &x [*x]\ngroups: *x\n")
        for n in stride(from: 0, to: 200, by: 7) {
            _ = errors(String(ruleFile("      - alert: A\n        expr: sum(rate(x[5m])) > 1\n        for: 5m\n").prefix(n)))
        }
    }
}
