import Foundation
import Testing
import TimeSeries
@testable import Alerting

/// The repository's rule tests give the same verdict under the real `promtool test rules` (apt
/// package `prometheus`) as under ours, whenever they use only standard Prometheus features.
@Suite("Parity with promtool", .serialized)
struct PromtoolParityTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let rulesDirectory = repository.appendingPathComponent("rules").path

    static func promtool() -> String? {
        for dir in ["/usr/bin", "/usr/local/bin", "/bin"] where FileManager.default.isExecutableFile(atPath: dir + "/promtool") {
            return dir + "/promtool"
        }
        return nil
    }

    /// Runs `promtool test rules FILE`; true when it passed.
    static func promtoolPasses(_ path: String) throws -> (Bool, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(promtool(), "promtool is missing: apt-get install prometheus (make test-deps)"))
        process.arguments = ["test", "rules", path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus == 0, output)
    }

    static func oursPasses(_ path: String) -> (Bool, String) {
        do {
            let result = RuleTestRunner.run(try RuleTestFile.load(path: path))
            return (result.passed, result.report())
        } catch {
            return (false, error.description)
        }
    }

    /// Test files in rules/ whose rule files use no extension of ours (no tiers).
    static func standardTestFiles() throws -> [String] {
        let names = try FileManager.default.contentsOfDirectory(atPath: rulesDirectory).filter { $0.hasSuffix("_test.yaml") }.sorted()
        return try names.map { rulesDirectory + "/" + $0 }.filter { path in
            let file = try RuleTestFile.load(path: path)
            return try file.ruleFiles.allSatisfy { try RuleFile.load(path: $0).groups.allSatisfy { $0.rules.allSatisfy { !$0.isTiered } } }
        }
    }

    @Test("rules/ has standard test files, and every rule file has a test file")
    func inventory() throws {
        let standard = try Self.standardTestFiles()
        #expect(standard.count >= 6, "\(standard)")
        let all = try FileManager.default.contentsOfDirectory(atPath: Self.rulesDirectory)
        for name in all where name.hasSuffix(".yaml") && !name.hasSuffix("_test.yaml") {
            #expect(all.contains(name.replacingOccurrences(of: ".yaml", with: "_test.yaml")), "\(name) has no test file")
        }
    }

    @Test("the standard test files pass under both")
    func standardFilesPass() throws {
        for path in try Self.standardTestFiles() {
            let (promtoolPassed, promtoolOutput) = try Self.promtoolPasses(path)
            let (oursPassed, ourOutput) = Self.oursPasses(path)
            #expect(promtoolPassed, "promtool: \(promtoolOutput)")
            #expect(oursPassed == promtoolPassed, "\(path): ours \(oursPassed), promtool \(promtoolPassed)\n\(ourOutput)\n\(promtoolOutput)")
        }
    }

    /// Copies a test file and its rule files into a temporary directory, changing the test file.
    static func mutated(_ path: String, _ change: (String) -> String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("parity-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for rule in try RuleTestFile.load(path: path).ruleFiles {
            try FileManager.default.copyItem(atPath: rule, toPath: dir.appendingPathComponent((rule as NSString).lastPathComponent).path)
        }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let target = dir.appendingPathComponent((path as NSString).lastPathComponent).path
        try change(text).write(toFile: target, atomically: true, encoding: .utf8)
        return target
    }

    @Test("a broken expectation fails under both: wrong label, wrong annotation, wrong sample, wrong time")
    func mutationsFailUnderBoth() throws {
        let mutations: [(String, (String) -> String)] = [
            ("a severity changed", { $0.replacingOccurrences(of: "severity: critical", with: "severity: warning")
                .replacingOccurrences(of: "severity: high", with: "severity: warning")
                .replacingOccurrences(of: "severity: medium", with: "severity: warning") }),
            ("an annotation changed", { text in
                guard let r = text.range(of: "summary: \"") else { return text }
                return text.replacingCharacters(in: r, with: "summary: \"X")
            }),
            ("an expected alert removed", { $0.replacingOccurrences(of: "exp_alerts:\n          - exp_labels", with: "exp_alerts: []\n          - x_labels")
                .replacingOccurrences(of: "x_labels", with: "exp_labels") }),
            ("an expected sample changed", { $0.replacingOccurrences(of: "value: 0.", with: "value: 1.") }),
        ]
        var checked = 0
        for path in try Self.standardTestFiles() {
            for (name, change) in mutations {
                let original = try String(contentsOfFile: path, encoding: .utf8)
                guard change(original) != original else { continue }
                let target = try Self.mutated(path, change)
                let (promtoolPassed, promtoolOutput) = try Self.promtoolPasses(target)
                let (oursPassed, ourOutput) = Self.oursPasses(target)
                #expect(oursPassed == promtoolPassed, "\(path) with \(name): ours \(oursPassed), promtool \(promtoolPassed)\n\(ourOutput)\n\(promtoolOutput)")
                checked += 1
            }
        }
        #expect(checked >= 10)
    }

    @Test("template output matches Go's: promtool accepts the annotations we render")
    func templatesMatchPrometheus() throws {
        // One alert per value; every template of the function table as an annotation of each.
        let values: [Double] = [0, 0.05, 0.0534, 0.1234, 1.5, 3, 90, 999, 1234.5678, 3960, 93784, 1_000_000, 1_572_864, 2.5e9, 1e-5, -90]
        let templates = [
            "{{ $value }}", "{{ humanize $value }}", "{{ humanize1024 $value }}", "{{ humanizePercentage $value }}",
            "{{ humanizeDuration $value }}", "{{ printf \"%.2f\" $value }}", "{{ printf \"%e|%g|%v\" $value $value $value }}",
            "{{ printf \"%8.3f|%-8.1f|%+.1e\" $value $value $value }}", "{{ printf \"%d\" $value }}",
            "{{ $labels.instance | reReplaceAll \"(.*):.*\" \"$1\" | toUpper }}", "{{ title \"api error-rate\" }}",
            "{{ printf \"%s %q\" $labels.job $labels.job }}",
        ]
        var rules = "groups:\n  - name: t\n    rules:\n"
        var tests = "rule_files: [t.yaml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n"
        tests += "      - series: 'up{job=\"api\", instance=\"host-1:9090\"}'\n        values: '1'\n    alert_rule_test:\n"
        for (i, v) in values.enumerated() {
            rules += "      - alert: T\(i)\n        expr: up * 0 + (\(PromtoolParityTests.number(v)))\n        annotations:\n"
            tests += "      - eval_time: 0m\n        alertname: T\(i)\n        exp_alerts:\n          - exp_labels: {job: api, instance: \"host-1:9090\"}\n            exp_annotations:\n"
            for (k, t) in templates.enumerated() {
                rules += "          a\(k): \(Self.yamlQuote(t))\n"
                let rendered = try Template.parse(t).render(TemplateContext(labels: Labels(["job": "api", "instance": "host-1:9090"]), value: v))
                tests += "              a\(k): \(Self.yamlQuote(rendered))\n"
            }
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("templates-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try rules.write(to: dir.appendingPathComponent("t.yaml"), atomically: true, encoding: .utf8)
        try tests.write(to: dir.appendingPathComponent("t_test.yaml"), atomically: true, encoding: .utf8)
        let (promtoolPassed, output) = try Self.promtoolPasses(dir.appendingPathComponent("t_test.yaml").path)
        #expect(promtoolPassed, "\(output)")
        #expect(Self.oursPasses(dir.appendingPathComponent("t_test.yaml").path).0)
    }

    /// Templates over the whole language, Prometheus 2.42 and 3 reading them alike (no `range`
    /// over integers, `else with`, `toDuration` or `now`, which the packaged promtool lacks), and
    /// execution errors, whose text names the template's position and node.
    static let languageTemplates: [String] = [
        "{{ if gt $value 0.5 }}high{{ else if gt $value 0.1 }}mid{{ else }}low{{ end }}",
        "{{ range $k, $v := $labels }}{{ $k }}={{ $v }},{{ end }}",
        "{{ with query \"up\" | sortByLabel \"instance\" }}{{ . | first | value | humanize }}{{ end }}",
        "{{ range query \"up\" | sortByLabel \"instance\" }}{{ .Labels.instance }}:{{ .Value }} {{ end }}",
        "{{ range query \"up{job='api'}\" }}{{ .Labels.instance }} {{ end }}",
        "{{ $x := 0 }}{{ range $i, $e := query \"up\" }}{{ $x = $i }}{{ end }}{{ $x }}",
        "{{ define \"t\" }}<{{ . }}>{{ end }}{{ template \"t\" $labels.job }}",
        "{{ block \"b\" $value }}[{{ . }}]{{ end }}",
        "{{ len $labels }} {{ index $labels \"job\" }} {{ slice \"abcdef\" 1 3 }} {{ index \"ab\" 1 }}",
        "{{ print 1 2 \"x\" 3 }}|{{ println \"a\" 1 }}|",
        "{{ html \"<b>&'\" }} {{ urlquery \"a b&c/d\" }}",
        "{{ js \"a'b\\\"c\" }}",
        "{{ stripPort $labels.instance }} {{ stripDomain \"node.example.com:9100\" }} {{ stripDomain \"10.1.2.3:80\" }} {{ stripPort \"[::1]:80\" }}",
        "{{ match \"^ap\" $labels.job }} {{ match \"x$\" $labels.job }}",
        "{{ graphLink \"rate(x{a=\\\"b\\\"}[5m])\" }} {{ tableLink \"up\" }}",
        "{{ parseDuration \"1h30m\" }} {{ parseDuration \"90s\" }}",
        "{{ humanizeTimestamp 1600000000 }}|{{ toTime 1600000000.5 }}|{{ humanizeTimestamp 1600000000.123456 }}",
        "{{ (toTime 1600000000).Format \"2006-01-02 15:04:05 Mon Jan\" }} {{ (toTime 1600000000).Unix }}",
        "{{ args 1 \"a\" 2.5 }} {{ (args 1 \"a\").arg1 }}[{{ (args 1).x }}]",
        "{{ . }}",
        "{{ printf \"%T %v %q %5.2f|%-5d|%x|%t\" $value $labels.job $labels.job $value 42 \"hi\" true }}",
        "{{ and 1 0 }} {{ or 0 \"\" \"x\" }} {{ not 0 }} {{ and 1 \"y\" }}",
        "{{ eq $labels.job \"web\" \"api\" }} {{ ne 1 2 }} {{ lt \"a\" \"b\" }} {{ ge 2.5 2.5 }} {{ le 3 2 }}",
        "a  {{- $labels.job -}}  b {{- /* c */ -}} c",
        "{{ title \"api error-rate\" }} {{ toLower \"ÄB\" }}",
        "{{ reReplaceAll \"(.+):(\\\\d+)\" \"$2@$1\" $labels.instance }}",
        "{{ $externalLabels.cluster }} {{ $externalURL }} {{ .ExternalLabels }}",
        "{{ 0x1F }} {{ 1e3 }} {{ 'a' }} {{ -2 }} {{ 1_000 }} {{ 0o17 }} {{ 2.50 }}",
        "[{{ $labels.missing }}]",
        "{{ range $labels }}{{ if eq . \"api\" }}{{ break }}{{ end }}{{ . }}{{ end }}",
        "{{ range $labels }}{{ if eq . \"api\" }}{{ continue }}{{ end }}{{ . }}{{ end }}",
        "{{ with $labels.none }}x{{ else }}y{{ end }}{{ with $labels.job }}{{ . }}{{ end }}",
        "{{ humanize1024 1048576 }} {{ humanizePercentage 0.123456 }} {{ humanizeDuration 3725.5 }} {{ humanize \"12345\" }}",
        "{{ label \"instance\" (query \"up\" | sortByLabel \"instance\" | first) }} {{ len (query \"up\") }}",
        "{{ strvalue (query \"up\" | first) }}|{{ query \"up\" | sortByLabel \"instance\" | first }}",
        "{{ (query \"up\" | sortByLabel \"job\" | first).Labels.job }} {{ with query \"nothing\" }}x{{ else }}none{{ end }}",
        "{{ range $i, $v := args \"p\" \"q\" }}{{ $i }}={{ $v }} {{ end }}",
        "{{ printf \"%d\" $value }} {{ printf \"%s\" 1 }} {{ printf \"%!\" }} {{ printf \"%d %d\" 1 }}",
        // Execution errors.
        "{{ gt $value 1 }}",
        "{{ humanize $labels.job }}",
        "{{ index $labels 1 }}",
        "{{ $value | toUpper }}",
        "{{ first (query \"nothing\") }}",
        "{{ template \"missing\" }}",
        "{{ range 1.5 }}{{ end }}",
        "{{ humanize }}",
        "{{ printf 1 }}",
        "{{ $labels.job 1 }}",
        "{{ len 3 }}",
        "{{ index \"ab\" 5 }}",
        "{{ value (query \"up\") }}",
        "before {{ toTime \"x\" }} after",
    ]

    @Test("the template language renders as Go's: promtool accepts the annotations we render, errors included")
    func templateLanguageMatchesPrometheus() throws {
        let labels = Labels(["job": "api", "instance": "host-1:9090"])
        var rules = "groups:\n  - name: t\n    rules:\n"
        var tests = "rule_files: [t.yaml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n"
        tests += "    external_labels: {cluster: c1}\n    external_url: 'https://prom.example/x'\n    input_series:\n"
        tests += "      - series: 'up{job=\"api\", instance=\"host-1:9090\"}'\n        values: '1'\n"
        tests += "      - series: 'up{job=\"web\", instance=\"host-2:9100\"}'\n        values: '0'\n    alert_rule_test:\n"
        let query: @Sendable (String) throws(TemplateQueryError) -> [QuerySample] = { q throws(TemplateQueryError) in
            switch q {
            case "up": [QuerySample(labels: [("__name__", "up"), ("instance", "host-1:9090"), ("job", "api")], value: 1),
                        QuerySample(labels: [("__name__", "up"), ("instance", "host-2:9100"), ("job", "web")], value: 0)]
            case "up{job='api'}": [QuerySample(labels: [("__name__", "up"), ("instance", "host-1:9090"), ("job", "api")], value: 1)]
            default: []
            }
        }
        for (i, t) in Self.languageTemplates.enumerated() {
            let name = "L\(i)"
            rules += "      - alert: \(name)\n        expr: up{instance=\"host-1:9090\"} * 0 + 0.75\n        annotations:\n          a: \(Self.yamlQuote(t))\n"
            let context = TemplateContext(labels: labels, value: 0.75, externalLabels: Labels(["cluster": "c1"]),
                                          externalURL: "https://prom.example/x", time: 0, query: query)
            let rendered = try Template.parse(t, ruleName: name).render(context)
            tests += "      - eval_time: 0m\n        alertname: \(name)\n        exp_alerts:\n          - exp_labels: {job: api, instance: \"host-1:9090\"}\n"
            tests += "            exp_annotations:\n              a: \(Self.yamlQuote(rendered))\n"
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("template-language-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try rules.write(to: dir.appendingPathComponent("t.yaml"), atomically: true, encoding: .utf8)
        try tests.write(to: dir.appendingPathComponent("t_test.yaml"), atomically: true, encoding: .utf8)
        let (promtoolPassed, output) = try Self.promtoolPasses(dir.appendingPathComponent("t_test.yaml").path)
        #expect(promtoolPassed, "\(output)")
        let (oursPassed, ourOutput) = Self.oursPasses(dir.appendingPathComponent("t_test.yaml").path)
        #expect(oursPassed, "\(ourOutput)")
    }

    static func number(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : "\(v)"
    }

    static func yamlQuote(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\t", with: "\\t") + "\""
    }
}
