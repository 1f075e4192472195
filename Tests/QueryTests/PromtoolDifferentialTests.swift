import Foundation
import Testing
import Query
import TimeSeries

/// Runs the same inputs through this engine and through the real `promtool test rules`: our
/// results become the expected samples of a promtool unit test, which passes only if Prometheus
/// computes exactly the same values and labels. Evaluation times avoid sample times, where
/// Prometheus 2 (closed windows, the packaged promtool) and 3 (left-open windows) differ.
@Suite("Differential against promtool")
struct PromtoolDifferentialTests {
    static let inputs: [(String, String)] = [
        ("http_requests_total{path=\"/a\", job=\"api\"}", "0+10x30"),
        ("http_requests_total{path=\"/b\", job=\"api\"}", "0+7x10 0+3x19"),
        ("http_requests_total{path=\"/c\", job=\"web\"}", "_x5 100+13x25"),
        ("gauge{path=\"/a\", job=\"api\"}", "10 5 8 2 4 6 1 9 3 7 10 5 8 2 4 6 1 9 3 7 10 5 8 2 4 6 1 9 3 7 1"),
        ("gauge{path=\"/b\", job=\"web\"}", "1.5+0.25x30"),
        ("up{job=\"api\", instance=\"a\"}", "1x10 stale _x5 1x14"),
        ("req_bucket{job=\"api\", le=\"0.1\"}", "0+1x30"),
        ("req_bucket{job=\"api\", le=\"0.5\"}", "0+4x30"),
        ("req_bucket{job=\"api\", le=\"1\"}", "0+7x30"),
        ("req_bucket{job=\"api\", le=\"+Inf\"}", "0+8x30"),
        ("info{path=\"/a\", team=\"x\"}", "1x30"),
        ("info{path=\"/b\", team=\"y\"}", "1x30"),
    ]

    static let expressions: [String] = [
        "rate(http_requests_total[5m])",
        "increase(http_requests_total[10m])",
        "irate(http_requests_total[5m])",
        "delta(gauge[7m])",
        "idelta(gauge[5m])",
        "deriv(gauge[10m])",
        "predict_linear(gauge[10m], 3600)",
        "resets(http_requests_total[20m])",
        "changes(gauge[15m])",
        "avg_over_time(gauge[10m])",
        "min_over_time(gauge[10m])",
        "max_over_time(gauge[10m])",
        "sum_over_time(gauge[10m])",
        "count_over_time(gauge[10m])",
        "last_over_time(gauge[10m])",
        "quantile_over_time(0.9, gauge[10m])",
        "stddev_over_time(gauge[10m])",
        "stdvar_over_time(gauge[10m])",
        "present_over_time(up[10m])",
        "absent_over_time(nothing{job=\"x\"}[5m])",
        "absent(nothing{job=\"x\", a=~\"b\"})",
        "up",
        "gauge offset 3m",
        "sum by (job) (rate(http_requests_total[5m]))",
        "sum without (path) (http_requests_total)",
        "avg by (job) (gauge)",
        "count(http_requests_total)",
        "max by (job) (http_requests_total)",
        "stddev(http_requests_total)",
        "topk(2, http_requests_total)",
        "bottomk(1, gauge)",
        "quantile(0.3, http_requests_total)",
        "count_values(\"v\", gauge)",
        "histogram_quantile(0.9, rate(req_bucket[5m]))",
        "histogram_quantile(0.3, req_bucket)",
        "http_requests_total / on(path) group_left(team) info",
        "rate(http_requests_total[5m]) > bool 1",
        "http_requests_total > 100",
        "gauge * 2 - 1",
        "http_requests_total and on(path) gauge",
        "http_requests_total unless on(job) up",
        "gauge or info",
        "abs(gauge - 5)",
        "round(gauge * 1.37, 0.5)",
        "clamp(gauge, 2, 6)",
        "label_replace(gauge, \"p\", \"x$1\", \"path\", \"/(.*)\")",
        "label_join(gauge, \"pj\", \"-\", \"job\", \"path\")",
        "timestamp(gauge)",
        "max_over_time(rate(http_requests_total[2m])[10m:1m])",
        "ln(http_requests_total + 1)",
        "sqrt(gauge) ^ 2",
        // Integer exponents only, and no atan2: Go's math.Pow and math.Atan2 are not correctly
        // rounded (2^4.5 and atan2(8, 2) differ from glibc's in the last bit): noise, not semantics.
        "2 ^ floor(gauge) % 7",
        "gauge % 3",
        "-gauge ^ 2",
    ]

    static let evalTimes: [Milliseconds] = [330_000, 750_000, 1_410_000]

    static func promtool() -> String? {
        for dir in ["/usr/bin", "/usr/local/bin", "/bin"] where FileManager.default.isExecutableFile(atPath: dir + "/promtool") {
            return dir + "/promtool"
        }
        return nil
    }

    static func yamlValue(_ v: Double) -> String {
        if v.isNaN { return ".nan" }
        if v.isInfinite { return v > 0 ? ".inf" : "-.inf" }
        return "\(v)"
    }

    static func yamlQuote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }

    @Test(.enabled(if: promtool() != nil, "promtool is not installed (make test installs it)"))
    func promtoolAgreesWithEveryResult() throws {
        let series = try Self.inputs.map { try InputSeries(series: $0.0, values: $0.1) }
        let engine = Engine(store: try TestStore.make(series, interval: 60_000))
        var yaml = "rule_files: []\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n"
        for (s, v) in Self.inputs { yaml += "      - series: \(Self.yamlQuote(s))\n        values: \(Self.yamlQuote(v))\n" }
        yaml += "    promql_expr_test:\n"
        var count = 0
        for expr in Self.expressions {
            for t in Self.evalTimes {
                let value = try engine.instant(PromQL.parse(expr), at: t)
                let samples = ExpressionTester.samples(of: value)
                // promtool compares with ==, which NaN never satisfies.
                if samples.contains(where: { $0.value.isNaN }) { continue }
                yaml += "      - expr: \(Self.yamlQuote(expr))\n        eval_time: \(ExpressionTester.goDuration(t))\n"
                yaml += "        exp_samples:\n"
                for s in samples {
                    let labels = "{" + s.labels.labels.map { "\($0.name)=\"\(Labels.escape($0.value))\"" }.joined(separator: ", ") + "}"
                    yaml += "          - labels: \(Self.yamlQuote(labels))\n            value: \(Self.yamlValue(s.value))\n"
                }
                if samples.isEmpty { yaml.removeLast("        exp_samples:\n".count); yaml += "        exp_samples: []\n" }
                count += 1
            }
        }
        #expect(count > 100)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("query-diff-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("test.yml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.promtool()!)
        process.arguments = ["test", "rules", file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "promtool disagrees:\n\(output)")
    }
}
