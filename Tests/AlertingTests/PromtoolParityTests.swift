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

    static func number(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : "\(v)"
    }

    static func yamlQuote(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
