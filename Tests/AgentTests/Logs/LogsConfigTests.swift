import AgentDaemon
import Ingest
import Testing
import YAMLSupport

@Suite struct LogsConfigTests {
    @Test func theIssuesExampleDecodesToItsMapping() throws {
        let yaml = """
            global: {resolution: 10s}
            logs:
              - path: /var/log/api/access.jsonl     # a glob is allowed
                job: api
                start_at: end                        # or beginning
                timestamp: {field: ts}               # optional; arrival time otherwise
                labels: [route, method]              # fields → labels for every metric of this log
                metrics:
                  - {name: http_requests_total, type: counter, labels: [route, status]}   # per-metric labels replace the log's
                  - {name: http_request_duration_ms, type: distribution, field: latency_ms}
                  - {name: http_response_bytes_total, type: counter, field: bytes}
            """
        var expected = LogMapping(paths: ["/var/log/api/access.jsonl"], job: "api")
        expected.startAt = .end
        expected.timestamp = LogTimestampSpec(field: "ts")
        expected.labels = [LogLabelSpec(field: "route"), LogLabelSpec(field: "method")]
        expected.metrics = [
            LogMetricSpec(name: "http_requests_total", kind: .counter, labels: [LogLabelSpec(field: "route"), LogLabelSpec(field: "status")]),
            LogMetricSpec(name: "http_request_duration_ms", kind: .distribution, field: "latency_ms"),
            LogMetricSpec(name: "http_response_bytes_total", kind: .counter, field: "bytes"),
        ]
        #expect(try LogsConfig.decode(yaml: yaml, file: "agent.yaml") == [expected])
    }

    @Test func everyExtensionDecodes() throws {
        let yaml = """
            logs:
              - path: [/var/log/a/*.jsonl, /var/log/b.jsonl]
                start_at: beginning
                max_line_bytes: 1MiB
                timestamp: {field: time, format: unix_milliseconds}
                filter: {field: level, not_in: [debug, 7]}
                labels:
                  - route
                  - {field: http.status, name: status, map: {"200": ok}, regex: '(\\d)\\d\\d', replacement: '${1}xx', max_values: 20}
                metrics:
                  - {name: errors_total, type: counter, filter: {field: level, in: [error, fatal]}, help: "Error lines."}
                  - {name: latency_ms, type: distribution, field: timings.total_s, unit: {from: s, to: ms}}
                  - {name: depth, type: gauge, field: q, scale: 0.5}
            """
        let mapping = try #require(try LogsConfig.decode(yaml: yaml, file: "a.yaml").first)
        #expect(mapping.paths == ["/var/log/a/*.jsonl", "/var/log/b.jsonl"])
        #expect(mapping.startAt == .beginning)
        #expect(mapping.maxLineBytes == 1 << 20)
        #expect(mapping.timestamp == LogTimestampSpec(field: "time", format: .unixMilliseconds))
        #expect(mapping.filter == LogLineFilter(field: "level", in: ["debug", "7"], negated: true))
        var status = LogLabelSpec(field: "http.status", name: "status")
        status.valueMap = ["200": "ok"]
        status.regex = #"(\d)\d\d"#
        status.replacement = "${1}xx"
        status.maxValues = 20
        #expect(mapping.labels == [LogLabelSpec(field: "route"), status])
        #expect(mapping.metrics[0].filter == LogLineFilter(field: "level", in: ["error", "fatal"]))
        #expect(mapping.metrics[0].help == "Error lines.")
        #expect(mapping.metrics[1].scale == 1000)
        #expect(mapping.metrics[2].scale == 0.5)
    }

    @Test func aConfigurationWithoutLogsHasNone() throws {
        #expect(try LogsConfig.decode(yaml: "global: {resolution: 10s}\n", file: "a.yaml").isEmpty)
        #expect(try LogsConfig.decode(yaml: "", file: "a.yaml").isEmpty)
    }

    static let errors: [(String, String)] = [
        ("logs: {path: x}", "a.yaml:1:7: logs: expected a list of logs"),
        ("logs:\n  - job: api\n    metrics: [{name: a, type: counter}]", "a.yaml:2:5: logs[0]: missing `path:`"),
        ("logs:\n  - path: x\n    metircs: [{name: a, type: counter}]", #"a.yaml:3:5: logs[0]: unknown key "metircs" (did you mean "metrics"?)"#),
        ("logs:\n  - path: x\n    start_at: middle\n    metrics: [{name: a, type: counter}]", #"a.yaml:3:15: logs[0].start_at: expected end or beginning, got "middle""#),
        ("logs:\n  - path: x\n    metrics: [{name: a, type: histogram}]", #"a.yaml:3:31: logs[0].metrics[0].type: expected counter, distribution or gauge, got "histogram" (a distribution serves as both)"#),
        ("logs:\n  - path: x\n    metrics: [{name: 1a, type: counter}]", #"a.yaml:3:22: logs[0].metrics[0].name: "1a" is not a valid metric name"#),
        ("logs:\n  - path: x\n    metrics: [{name: a, type: distribution}]", "a.yaml:2:5: logs[0]: metrics[0] \"a\": a distribution needs `field:`"),
        ("logs:\n  - path: x\n    labels: [{field: r, regex: '(unclosed'}]\n    metrics: [{name: a, type: counter}]", "a.yaml:3:32: logs[0].labels[0].regex: invalid regular expression"),
        ("logs:\n  - path: x\n    labels: [a..b]\n    metrics: [{name: a, type: counter}]", #"a.yaml:3:14: logs[0].labels[0]: "a..b" is not a field path"#),
        ("logs:\n  - path: x\n    labels: [{field: a, name: __a}]\n    metrics: [{name: a, type: counter}]", #"logs[0].labels[0].name: "__a" is not a valid label name"#),
        ("logs:\n  - path: x\n    max_line_bytes: lots\n    metrics: [{name: a, type: counter}]", "a.yaml:3:21: logs[0].max_line_bytes: expected a positive size in bytes"),
        ("logs:\n  - path: x\n    timestamp: {field: ts, format: iso}\n    metrics: [{name: a, type: counter}]", "logs[0].timestamp.format: expected one of auto, rfc3339, unix_seconds, unix_milliseconds"),
        ("logs:\n  - path: x\n    filter: {field: l, in: [a], not_in: [b]}\n    metrics: [{name: a, type: counter}]", "logs[0].filter: expected exactly one of `in:` or `not_in:`"),
        ("logs:\n  - path: x\n    metrics: [{name: a, type: distribution, field: f, unit: {from: s, to: KiB}}]", #"logs[0].metrics[0].unit: cannot convert "s" to "KiB""#),
        ("logs:\n  - path: x\n    path: y\n    metrics: [{name: a, type: counter}]", #"a.yaml:3:5: key "path" is given twice in this mapping (first at line 2)"#),
        ("logs:\n  - path: x\n    metrics: [{name: a, type: counter}, {name: a, type: counter}]", "a metric of this name is already defined"),
        ("logs:\n  - path: x\n   metrics: [}", "a.yaml:3:"),
    ]

    @Test(arguments: errors)
    func errorsNameFileLineColumnAndTheRemedy(yaml: String, expected: String) {
        do {
            _ = try LogsConfig.decode(yaml: yaml, file: "a.yaml")
            Issue.record("no error for:\n\(yaml)")
        } catch {
            #expect(error.description.contains(expected), "\(error.description)")
        }
    }

    @Test func everyProblemIsReportedInOnePass() {
        let yaml = """
            logs:
              - path: x
                tresholds: 1
                metrics: [{name: a, type: countr}, {name: b, type: gauge, feild: v}]
              - job: y
                metrics: [{name: c, type: counter}]
            """
        do {
            _ = try LogsConfig.decode(yaml: yaml, file: "a.yaml")
            Issue.record("no error")
        } catch {
            let lines = error.problems.map(\.description)
            #expect(lines.count == 4, "\(lines)")
            #expect(lines.allSatisfy { $0.hasPrefix("a.yaml:") })
        }
    }

    /// The configuration is composed once and `logs:` decoded from that tree, so a problem in it
    /// is reported once, in the same words as everywhere else in the file (it was twice: once by
    /// the configuration's reader, once by a second parse for `logs:` in other words).
    @Test(arguments: [
        ("logs:\n  - path: x\n    path: y\n    metrics: [{name: a, type: counter}]\n",
         [#"a.yaml:3:5: key "path" is given twice in this mapping (first at line 2)"#]),
        ("global: {resolution: 10s}\nlogs: [\n", ["a.yaml:3:1: invalid YAML: did not find expected node content"]),
        ("logs:\n  - path: x\n    metrics: [{name: a, type: countr}]\nglobal: {resolutoin: 10s}\n", [
            #"a.yaml:3:31: logs[0].metrics[0].type: expected counter, distribution or gauge, got "countr""#,
            #"a.yaml:4:10: global: unknown key "resolutoin" (did you mean "resolution"?)"#,
        ]),
    ])
    func aProblemInTheWholeConfigurationIsReportedOnce(yaml: String, expected: [String]) {
        do {
            _ = try AgentConfig.parse(yaml, file: "a.yaml")
            Issue.record("no error for:\n\(yaml)")
        } catch let error as ConfigErrors {
            #expect(error.errors.map(\.description) == expected)
        } catch {
            Issue.record("\(error)")
        }
    }
}
