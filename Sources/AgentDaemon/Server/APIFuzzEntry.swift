#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import JSON
import HTTPServing
import Logging
import TimeSeries

/// The API's parameter parsing and validation under libFuzzer (Fuzz/HTTPAPI), and the same entry
/// replaying the committed corpus in `make test`: the input (after a first byte that picks the
/// endpoint and method) is the query string or form body of a request routed through the daemon's
/// real `apiRoutes` against a small store. Traps when an answer is not one of the API's documented
/// statuses or not in its JSON shape; a Swift trap anywhere on the way (an unchecked conversion of
/// a time, a duration or a count) is the failure the fuzzer looks for.
public enum APIFuzzEntry {
    static let endpoints: [(method: String, path: String)] = [
        ("GET", "/api/v1/query"), ("POST", "/api/v1/query"), ("GET", "/api/v1/query_range"), ("POST", "/api/v1/query_range"),
        ("GET", "/api/v1/summary"), ("POST", "/api/v1/silences"), ("POST", "/api/v1/silences/expire"), ("GET", "/api/v1/silences"),
    ]

    static let daemon: Daemon = {
        var config = AgentConfig()
        config.global.stateDir = "/nonexistent/agent-fuzz"
        let daemon = Daemon(config: config, logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() }), environment: [:],
                            clock: { 1_700_000_000_000 })
        daemon.store.write { w in
            for i in 0..<20 {
                let t = 1_700_000_000_000 - Int64(i) * 10_000
                _ = w.append(Labels(name: "up", ["job": "a"]), kind: .gauge, value: 1, at: t)
                _ = w.append(Labels(name: "req_total", ["job": "a", "code": "200"]), kind: .counter, value: Double(i), at: t)
                _ = w.append(Labels(name: "latency_ms", ["route": "/x"]), kind: .distribution, value: Double(i * 7), at: t)
            }
        }
        return daemon
    }()

    static let router = Router(daemon.apiRoutes)

    public static func run(_ data: UnsafeRawBufferPointer) {
        guard let first = data.first else { return }
        let endpoint = endpoints[Int(first) % endpoints.count]
        let text = String(decoding: data.dropFirst(), as: UTF8.self)
        let inBody = endpoint.method == "POST" && first & 0x80 != 0
        let request = HTTPRequest(method: endpoint.method, path: endpoint.path, query: inBody ? "" : text,
                                  headers: HTTPHeaders(inBody ? [("content-type", "application/x-www-form-urlencoded")] : []),
                                  body: inBody ? Array(text.utf8) : [])
        let (_, run) = router.resolve(request)
        // A deadline far enough that only the input decides the outcome.
        let response = run(Monotonic.now() + 60_000_000_000, Cancellation())
        precondition([200, 400, 404, 409, 422, 503].contains(response.status), "status \(response.status) for \(endpoint.path)?\(text)")
        precondition(response.body.first == UInt8(ascii: "{"), "not a JSON object")
    }
}
