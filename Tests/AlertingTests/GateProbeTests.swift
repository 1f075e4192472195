import Foundation
import Query
import Testing
import TimeSeries
@testable import Alerting

@Suite("Gate probes")
struct GateProbeTests {
    /// Two jobs' error ratios and a latency, at 0 and 1m.
    static func engine() throws -> Engine {
        let series = [
            try InputSeries(series: "ratio{job=\"a\"}", values: "0.001 0.002"),
            try InputSeries(series: "ratio{job=\"b\"}", values: "0.02 0.03"),
            try InputSeries(series: "p95{job=\"a\"}", values: "0.03 0.04"),
            try InputSeries(series: "base{job=\"a\"}", values: "0.01 0.01"),
        ]
        return Engine(store: try TestStore.make(series, interval: 60_000))
    }

    static func measure(_ expr: String, at t: Timestamp = 60_000, firing: [Alert] = []) throws -> GateRun.Measurement {
        let check = Gate.Check(name: "c", kind: .expr(expr))
        let gate = Gate(name: "g", interval: 60_000, duration: 0, timeout: 0, must: [check])
        return try GateProbe(gate: gate, engine: try engine()).measure(check, at: t, firing: firing)
    }

    /// Each: expression, outcome, value (NaN: none).
    static let cases: [(String, GateRun.Outcome, Double)] = [
        ("ratio{job=\"a\"} < 0.01", .pass, 0.002),
        ("ratio{job=\"b\"} < 0.01", .fail, 0.03),
        ("ratio < 0.01", .pass, 0.03),  // one sample holds; the value is the worst (largest) measured
        ("ratio > 0.01", .pass, 0.002),  // smallest for >
        ("0.01 > ratio", .pass, 0.03),  // scalar on the left: the vector is still what is measured
        ("(ratio{job=\"b\"} < 0.01)", .fail, 0.03),
        ("missing < 0.01", .noData, .nan),
        ("p95 < ignoring(job) base", .fail, 0.04),
        ("p95 < on(job) missing", .noData, .nan),
        ("ratio{job=\"a\"} < 0.01 and on(job) p95 < 0.05", .pass, 0.002),
        ("ratio{job=\"a\"} < 0.01 and on(job) p95 > 0.05", .fail, 0.002),
        ("missing < 0.01 and on(job) p95 > 0.05", .noData, .nan),
        ("ratio", .pass, 0.002),  // no comparison: returns a sample, holds; first by labels
        ("missing", .noData, .nan),
        ("ratio + on() ratio", .error, .nan),  // two series on each side of a one-to-one match: an evaluation error
    ]

    @Test("outcome and value", arguments: cases.indices)
    func outcome(_ index: Int) throws {
        let (expr, outcome, value) = Self.cases[index]
        let m = try Self.measure(expr)
        #expect(m.outcome == outcome, "\(expr): \(m)")
        #expect(m.value == value || (m.value.isNaN && value.isNaN), "\(expr): \(m.value)")
    }

    @Test func aBlockerFailsWhileAMatchingAlertFires() throws {
        let check = Gate.Check(name: "b", kind: .noAlerts(["gate": "canary"]))
        let gate = Gate(name: "g", interval: 60_000, duration: 0, timeout: 0, must: [check])
        let probe = try GateProbe(gate: gate, engine: try Self.engine())
        func alert(_ name: String, _ labels: [String: String], _ state: Alert.State) -> Alert {
            Alert(identity: Labels(labels.merging(["alertname": name]) { a, _ in a }), severity: "high", annotations: [:], state: state,
                  value: 1, activeAt: 0)
        }
        #expect(probe.measure(check, at: 0, firing: []) == GateRun.Measurement(.pass, value: 0))
        #expect(probe.measure(check, at: 0, firing: [alert("X", ["gate": "canary"], .pending), alert("Y", ["gate": "other"], .firing)]).outcome == .pass)
        let m = probe.measure(check, at: 0, firing: [alert("X", ["gate": "canary"], .firing), alert("Z", ["gate": "canary", "job": "a"], .firing)])
        #expect(m == GateRun.Measurement(.fail, value: 2, message: "X, Z firing"))
    }
}
