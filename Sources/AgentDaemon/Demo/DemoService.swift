#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import TextRendering
public import TimeSeries

/// The simulated service of `agent demo`: it appends a JSONL access log whose latency and error
/// rate rise and fall through phases, in virtual time running `speed` times faster than real time.
///
/// Lines look like a real API's access log:
/// `{"ts":"2026-11-23T10:00:00.123Z","route":"/api/orders","method":"GET","status":200,"latency_ms":41.7,"bytes":512}`
public struct DemoService: Sendable {
    /// One phase of the scenario.
    public struct Phase: Sendable {
        public var name: String
        /// Virtual duration.
        public var duration: Milliseconds
        /// Median latency (ms) and the share of 5xx answers.
        public var medianLatency: Double
        public var errorRate: Double
    }

    /// The scenario: healthy, slow, failing, recovering, healthy again.
    public static let scenario: [Phase] = [
        Phase(name: "healthy", duration: 150_000, medianLatency: 25, errorRate: 0.002),
        Phase(name: "latency rising, errors at 7 %", duration: 180_000, medianLatency: 90, errorRate: 0.07),
        Phase(name: "outage: errors at 40 %", duration: 240_000, medianLatency: 160, errorRate: 0.40),
        Phase(name: "recovering", duration: 150_000, medianLatency: 60, errorRate: 0.02),
        Phase(name: "healthy", duration: 240_000, medianLatency: 25, errorRate: 0.001),
    ]

    /// Requests per virtual second.
    public var requestsPerSecond = 40
    public let routes = ["/api/orders", "/api/users", "/api/search", "/api/cart", "/health"]

    public init() {}

    /// Total virtual length of the scenario.
    public static var length: Milliseconds { scenario.reduce(0) { $0 + $1.duration } }

    /// The phase at virtual offset `offset` from the start.
    public static func phase(at offset: Milliseconds) -> Phase? {
        var start: Milliseconds = 0
        for phase in scenario {
            if offset < start + phase.duration { return phase }
            start += phase.duration
        }
        return nil
    }

    /// Lines for the virtual interval `[from, to)` (offsets from the scenario's start at `origin`).
    public func lines(from: Milliseconds, to: Milliseconds, origin: Timestamp, rng: inout some RandomNumberGenerator) -> String {
        var out = ""
        let step = max(1, 1000 / requestsPerSecond)
        var t = from - from % Milliseconds(step)
        if t < from { t += Milliseconds(step) }
        while t < to {
            guard let phase = DemoService.phase(at: t) else { break }
            let route = routes[Int.random(in: 0..<routes.count, using: &rng)]
            let failed = Double.random(in: 0..<1, using: &rng) < phase.errorRate
            // Lognormal latency around the phase's median; failures are slower still.
            let u1 = max(Double.random(in: 0..<1, using: &rng), 1e-12), u2 = Double.random(in: 0..<1, using: &rng)
            let normal = (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
            let latency = phase.medianLatency * exp(0.45 * normal) * (failed ? 1.8 : 1)
            let status = failed ? [500, 502, 503][Int.random(in: 0..<3, using: &rng)] : (route == "/api/cart" && t % 7 == 0 ? 201 : 200)
            let method = route == "/api/cart" ? "POST" : "GET"
            let ts = DemoService.rfc3339(origin + t)
            out += "{\"ts\":\"\(ts)\",\"route\":\"\(route)\",\"method\":\"\(method)\",\"status\":\(status),\"latency_ms\":\(CFormat.printf("%.1f", latency)),\"bytes\":\(Int.random(in: 200..<4000, using: &rng))}\n"
            t += Milliseconds(step)
        }
        return out
    }

    /// RFC 3339 in UTC, as Go's services log it.
    static func rfc3339(_ t: Timestamp) -> String { RFC3339.format(t) }
}
