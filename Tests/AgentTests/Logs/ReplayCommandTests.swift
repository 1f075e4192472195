import Foundation
import Testing

/// Runs `agent replay` as a user would, on real files.
@Suite struct ReplayCommandTests {
    let dir: String = {
        var template = Array("/tmp/agent-replay-test-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }()

    func write(_ name: String, _ text: String) -> String {
        let path = dir + "/" + name
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    func config(logPath: String) -> String {
        write("agent.yaml", """
            logs:
              - path: \(logPath)
                job: api
                timestamp: {field: ts}
                labels: [route, method]
                metrics:
                  - {name: http_requests_total, type: counter, labels: [route, status], help: "Requests."}
                  - {name: http_request_duration_ms, type: distribution, field: latency_ms}
                  - {name: http_response_bytes_total, type: counter, field: bytes}
            """)
    }

    static let log = """
        {"ts":"2024-05-01T12:00:00Z","route":"/a","method":"GET","status":200,"latency_ms":10,"bytes":100}
        {"ts":"2024-05-01T12:00:01Z","route":"/a","method":"GET","status":200,"latency_ms":"20","bytes":50}
        garbage
        {"ts":"2024-05-01T12:00:02Z","route":"/b\\"q","method":"POST","status":503,"latency_ms":30,"bytes":0
        {"ts":"2024-05-01T12:00:03Z","route":"/b\\"q","method":"POST","status":503,"latency_ms":30,"bytes":0}
        """  // the last line has no newline: replay treats the end of the file as its end

    @Test func replayPrintsEverySeriesInThePrometheusTextFormatAndMalformedCountsOnStderr() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = write("access.jsonl", ReplayCommandTests.log)
        let result = try runAgent(["replay", "--config", config(logPath: log)])
        #expect(result.status == 0, "\(result.stderr)")
        let expected = """
            # HELP http_requests_total Requests.
            # TYPE http_requests_total counter
            http_requests_total{job="api",route="/a",status="200"} 2
            http_requests_total{job="api",route="/b\\"q",status="503"} 1
            # TYPE http_request_duration_ms summary
            http_request_duration_ms{job="api",method="GET",route="/a",quantile="0.5"} 10
            http_request_duration_ms{job="api",method="GET",route="/a",quantile="0.9"} 10
            http_request_duration_ms{job="api",method="GET",route="/a",quantile="0.95"} 10
            http_request_duration_ms{job="api",method="GET",route="/a",quantile="0.99"} 10
            http_request_duration_ms{job="api",method="GET",route="/a",quantile="0.999"} 10
            http_request_duration_ms_sum{job="api",method="GET",route="/a"} 30
            http_request_duration_ms_count{job="api",method="GET",route="/a"} 2
            http_request_duration_ms{job="api",method="POST",route="/b\\"q",quantile="0.5"} 30
            http_request_duration_ms{job="api",method="POST",route="/b\\"q",quantile="0.9"} 30
            http_request_duration_ms{job="api",method="POST",route="/b\\"q",quantile="0.95"} 30
            http_request_duration_ms{job="api",method="POST",route="/b\\"q",quantile="0.99"} 30
            http_request_duration_ms{job="api",method="POST",route="/b\\"q",quantile="0.999"} 30
            http_request_duration_ms_sum{job="api",method="POST",route="/b\\"q"} 30
            http_request_duration_ms_count{job="api",method="POST",route="/b\\"q"} 1
            # TYPE http_response_bytes_total counter
            http_response_bytes_total{job="api",method="GET",route="/a"} 150
            http_response_bytes_total{job="api",method="POST",route="/b\\"q"} 0

            """
        // Line by line; quantiles are the sketch's estimates, within its 1 % relative accuracy.
        let got = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let want = expected.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(got.count == want.count, "\(result.stdout)")
        for (g, w) in zip(got, want) {
            if w.contains("quantile=") {
                let (gName, gValue) = (g.split(separator: " ").dropLast().joined(separator: " "), Double(g.split(separator: " ").last!)!)
                let (wName, wValue) = (w.split(separator: " ").dropLast().joined(separator: " "), Double(w.split(separator: " ").last!)!)
                #expect(gName == wName)
                #expect(abs(gValue - wValue) <= wValue * 0.01, "\(g)")
            } else {
                #expect(g == w)
            }
        }
        #expect(result.stderr.contains("\(log): 5 lines, "))
        #expect(result.stderr.contains("2 malformed (not_json 1, truncated 1)") || result.stderr.contains("2 malformed (truncated 1, not_json 1)"))
    }

    @Test func givenFilesAreReadThroughTheFirstLogsMapping() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cfg = config(logPath: dir + "/nothing-here-*.jsonl")
        let one = write("one.jsonl", #"{"route":"/x","status":200,"method":"GET"}"# + "\n")
        let two = write("two.jsonl", #"{"route":"/x","status":200,"method":"GET"}"# + "\n")
        let result = try runAgent(["replay", "--config", cfg, one, two])
        #expect(result.status == 0)
        #expect(result.stdout.contains(#"http_requests_total{job="api",route="/x",status="200"} 2"#))
    }

    @Test func aBadConfigurationOrAMissingFileExitsOneWithAClearError() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bad = write("bad.yaml", "logs:\n  - path: x\n    metrics: [{name: a, type: countr}]\n")
        let result = try runAgent(["replay", "--config", bad])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("\(bad):3:31: logs[0].metrics[0].type: expected counter"))
        let missing = try runAgent(["replay", "--config", config(logPath: "x"), dir + "/absent.jsonl"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("absent.jsonl: no such readable file"))
        let noLogs = try runAgent(["replay", "--config", write("empty.yaml", "global: {}\n")])
        #expect(noLogs.status == 1)
        #expect(noLogs.stderr.contains("no `logs:` section"))
    }
}
