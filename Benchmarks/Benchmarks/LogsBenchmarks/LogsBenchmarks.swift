import Benchmark
import Foundation
import Ingest
import TimeSeries

/// Access-log lines as scripts/gen-access-log.py writes them (≈177 bytes, 20 routes), generated
/// deterministically so every run times the same bytes.
func accessLines(_ count: Int) -> [[UInt8]] {
    let routes = [
        "/api/v1/users", "/api/v1/users/profile", "/api/v1/orders", "/api/v1/orders/items", "/api/v1/cart",
        "/api/v1/cart/checkout", "/api/v1/search", "/api/v1/products", "/api/v1/products/reviews", "/api/v1/login",
        "/api/v1/logout", "/api/v1/session", "/api/v1/payments", "/api/v1/shipping", "/api/v1/inventory",
        "/api/v2/recommendations", "/api/v2/notifications", "/health", "/metrics", "/static/app.js",
    ]
    let methods = ["GET", "GET", "GET", "GET", "POST", "PUT", "DELETE"]
    let statuses = [200, 200, 200, 200, 200, 200, 201, 204, 304, 400, 404, 500, 503]
    var state: UInt64 = 42
    func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    return (0..<count).map { i in
        let ms = 1_714_564_800_000 + Int64(i) * 3
        let s = ms / 1000
        let ts = String(format: "2024-05-01T%02d:%02d:%02d.%03dZ", (s / 3600) % 24, (s / 60) % 60, s % 60, ms % 1000)
        let status = statuses[Int(next() % UInt64(statuses.count))]
        let latency = Double(next() % 200_000) / 1000
        let line = #"{"ts":"\#(ts)","level":"\#(status < 400 ? "info" : "error")","route":"\#(routes[Int(next() % 20)])","method":"\#(methods[Int(next() % 7)])","status":\#(status),"latency_ms":\#(latency),"bytes":\#(next() % 50_000),"req":"\#(String(next(), radix: 16))","ua":"curl/8"}"#
        return Array(line.utf8)
    }
}

/// The mapping of scripts/bench-logs/agent.yaml (the issue's access log).
func accessMapping(path: String = "/dev/null") -> LogMapping {
    var mapping = LogMapping(paths: [path], job: "api")
    mapping.startAt = .beginning
    mapping.timestamp = LogTimestampSpec(field: "ts")
    mapping.labels = [LogLabelSpec(field: "route"), LogLabelSpec(field: "method")]
    mapping.metrics = [
        LogMetricSpec(name: "http_requests_total", kind: .counter, labels: [LogLabelSpec(field: "route"), LogLabelSpec(field: "status")]),
        LogMetricSpec(name: "http_request_duration_ms", kind: .distribution, field: "latency_ms"),
        LogMetricSpec(name: "http_response_bytes_total", kind: .counter, field: "bytes"),
    ]
    return mapping
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .instructions],
        maxDuration: .seconds(2), maxIterations: 1_000_000)
    let lines = accessLines(10_000)
    let now: Timestamp = 1_714_564_800_000 + 30_000

    Benchmark("Logs: extract 6 fields from a 177-byte access line", configuration: .init(scalingFactor: .kilo)) { benchmark in
        let extractor = try JSONFieldExtractor(paths: ["ts", "route", "method", "status", "latency_ms", "bytes"])
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations {
            lines[i % lines.count].withUnsafeBytes { blackHole(extractor.extract($0)) }
        }
    }

    Benchmark("Logs: map an access line into the store (extract, time, labels, 3 metrics)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        let store = SeriesStore(clock: { now })
        let mapper = try LogMapper(mapping: accessMapping(), store: store, clock: { now })
        let file = LogFileID(index: 0)
        for line in lines { line.withUnsafeBytes { mapper.consume(line: $0, file: file) } }  // series exist
        mapper.flush()
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations {
            lines[i % lines.count].withUnsafeBytes { mapper.consume(line: $0, file: file) }
            if i & 4095 == 4095 { mapper.flush() }
        }
        mapper.flush()
    }

    // The same with the route label rewritten by a regex (`/api/v1/users/profile` → `v1_users`),
    // so every line runs the regex engine (issue 12, item 9).
    Benchmark("Logs: map an access line with a regex label rewrite (route → $1_$2)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        var mapping = accessMapping()
        var route = LogLabelSpec(field: "route")
        route.regex = "/api/(v[0-9]+)/([a-z]+).*"
        route.replacement = "$1_$2"
        mapping.labels = [route, LogLabelSpec(field: "method")]
        mapping.metrics[0].labels = [route, LogLabelSpec(field: "status")]
        let store = SeriesStore(clock: { now })
        let mapper = try LogMapper(mapping: mapping, store: store, clock: { now })
        let file = LogFileID(index: 0)
        for line in lines { line.withUnsafeBytes { mapper.consume(line: $0, file: file) } }  // series exist
        mapper.flush()
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations {
            lines[i % lines.count].withUnsafeBytes { mapper.consume(line: $0, file: file) }
            if i & 4095 == 4095 { mapper.flush() }
        }
        mapper.flush()
    }

    Benchmark("Logs: tail a 100 000-line file end to end (read, split, map, store; new store each time)", configuration: .init(maxIterations: 100)) { benchmark in
        let path = NSTemporaryDirectory() + "agent-logs-bench-\(getpid()).jsonl"
        let file = accessLines(100_000).map { $0 + [0x0A] }.joined()
        FileManager.default.createFile(atPath: path, contents: Data(file))
        defer { try? FileManager.default.removeItem(atPath: path) }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let store = SeriesStore(clock: { now })
            let pipeline = try LogPipeline(mapping: accessMapping(path: path), store: store, clock: { now })
            pipeline.readToEnd()
            blackHole(pipeline.mapper.stats.lines)
        }
    }
}
