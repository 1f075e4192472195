import Alerting
import TextRendering
import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Query
import TimeSeries

/// `agent demo --gate`: a canary rollout on this machine in a few seconds, decided by two gates.
///
/// A simulated service runs a stable and a canary version; the canary takes 10 % of the requests
/// and is healthy, so the gate `canary-10` promotes it; at 50 % it cannot keep up (errors 5 %,
/// p95 about 95 ms), so `canary-50` aborts it and the rollout goes back to 0 %. Requests are counted
/// into the agent's store as an exporter's counters and latency distribution would be; the gates
/// are the agent's own (`GateFile`, `GateRun`, `GateProbe`), in virtual time running `speed` times
/// faster than the clock. Each evaluation is printed as it happens, then what a deploy script
/// running `agent gate` would have done with each exit status.
public struct GateDemo {
    public var speed: Double
    let print: @Sendable (String) -> Void

    public init(speed: Double = 20, print: @escaping @Sendable (String) -> Void) {
        self.speed = speed
        self.print = print
    }

    /// Both gates: every 15s, the same checks; only the traffic differs.
    static let gatesYAML = "gates:\n" + ["canary-10", "canary-50"].map { name in
        """
          - name: \(name)
            interval: 15s
            duration: 2m
            timeout: 5m
            failure_limit: 1
            must:
              - name: error rate under 1%
                expr: |
                  sum(rate(http_requests_total{track="canary", status="500"}[1m]))
                    / sum(rate(http_requests_total{track="canary"}[1m])) < 0.01
              - name: p95 under 50 ms
                expr: quantile_over_time(0.95, http_request_duration_ms{track="canary"}[1m]) < 50

        """
    }.joined()

    /// How one version behaves at a traffic share.
    struct Behaviour {
        var requestsPerSecond: Int
        /// Every n-th request fails (0: none).
        var failEvery: Int
        var medianLatency: Double
    }

    /// Runs the scenario; returns a process exit status.
    public func run() throws -> Int32 {
        let gates = try GateFile.parse(GateDemo.gatesYAML, path: "demo-gates.yaml").gates
        let origin = SeriesStore.systemClock()
        let realStart = DispatchTime.now().uptimeNanoseconds
        let speed = self.speed
        let clock: @Sendable () -> Timestamp = {
            origin + Timestamp(Double(DispatchTime.now().uptimeNanoseconds - realStart) / 1e6 * speed)
        }
        let store = SeriesStore(config: StoreConfig(resolution: 1_000, retention: 3_600_000), clock: clock)
        let engine = Engine(store: store)
        var rng = SystemRandomNumberGenerator()

        print("agent demo --gate: a service runs a stable and a canary version; time runs \(Int(speed))× faster (mm:ss is the service's time)")
        print("two gates decide the rollout, each: every 15s, error rate under 1% and p95 under 50 ms for 2 minutes, at most one failed evaluation\n")

        let healthy = Behaviour(requestsPerSecond: 4, failEvery: 1000, medianLatency: 18)
        let stableAt90 = Behaviour(requestsPerSecond: 36, failEvery: 1000, medianLatency: 18)
        let overloaded = Behaviour(requestsPerSecond: 20, failEvery: 20, medianLatency: 45)
        let stableAt50 = Behaviour(requestsPerSecond: 20, failEvery: 1000, medianLatency: 18)
        var canary = healthy, stable = stableAt90
        var totals: [String: Double] = [:]
        var written: Milliseconds = 0
        var run: GateRun?
        var probe: GateProbe?
        var verdicts: [(String, GateVerdict)] = []
        var step = 0  // 0: canary-10 to start, 1: running, 2: canary-50 to start, 3: running, 4: done
        var stepAt: Milliseconds = 30_000
        print("\(Demo.stamp(0)) ── deploy v2 as the canary; route 10 % of requests to it")

        while step < 4 {
            let now = clock()
            let offset = now - origin
            // The service's requests up to now, a virtual second at a time.
            while written + 1_000 <= offset {
                written += 1_000
                for (track, b) in [("stable", stable), ("canary", canary)] {
                    record(track: track, behaviour: b, at: origin + written, store: store, totals: &totals, rng: &rng)
                }
            }
            if (step == 0 || step == 2), offset >= stepAt {
                let gate = gates[step / 2]
                let started = GateRun(gate: gate, startedAt: now)
                run = started
                probe = try GateProbe(gate: gate, engine: engine)
                print("\(Demo.stamp(offset)) ── agent gate \(gate.name): promote after 2m of must-checks holding (\(gate.requiredStreak) evaluations in a row)")
                step += 1
            }
            if var current = run, let p = probe, case .evaluate(let k) = current.due(now: now) {
                current.record(p.measure(current, at: now, firing: []), index: k, at: now)
                run = current
                print(evaluationLine(current, offset: offset))
                if let verdict = current.verdict {
                    verdicts.append((current.gate.name, verdict))
                    print("\(Demo.stamp(offset)) ── \(current.gate.name): \(verdict.rawValue.uppercased()) (exit \(verdict.exitStatus)) — \(current.reason ?? "")")
                    run = nil
                    if verdict == .promote && step == 1 {
                        print("\(Demo.stamp(offset)) ── the deploy script goes on: route 50 % of requests to the canary, which cannot keep up")
                        canary = overloaded
                        stable = stableAt50
                        step = 2
                        stepAt = offset + 15_000
                    } else {
                        if verdict == .abort { print("\(Demo.stamp(offset)) ── the deploy script rolls back: route 0 % to the canary") }
                        step = 4
                    }
                }
            }
            usleep(20_000)
        }
        print("\nwhat the deploy script saw:")
        for (name, verdict) in verdicts { print("  agent gate \(name)  → exit \(verdict.exitStatus) (\(verdict.rawValue))") }
        print("\nyour own: gate_files: in the configuration, then agent gate NAME in the deploy script (README: Rollout gates)")
        return 0
    }

    /// One virtual second of `track`'s requests: counters by status and the latency distribution.
    func record(track: String, behaviour b: Behaviour, at t: Timestamp, store: SeriesStore, totals: inout [String: Double],
                rng: inout SystemRandomNumberGenerator) {
        var latencies: [Double] = []
        var failed = 0
        for _ in 0..<b.requestsPerSecond {
            let n = (totals["n/\(track)"] ?? 0) + 1
            totals["n/\(track)"] = n
            let fails = b.failEvery > 0 && Int(n) % b.failEvery == 0
            if fails { failed += 1 }
            // Lognormal around the median, as request latencies are.
            let u1 = max(Double.random(in: 0..<1, using: &rng), 1e-12), u2 = Double.random(in: 0..<1, using: &rng)
            let normal = (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
            latencies.append(b.medianLatency * exp(0.4 * normal))
        }
        totals["200/\(track)", default: 0] += Double(b.requestsPerSecond - failed)
        totals["500/\(track)", default: 0] += Double(failed)
        let ok = totals["200/\(track)"]!, errors = totals["500/\(track)"]!
        store.write { w in
            for (status, value) in [("200", ok), ("500", errors)] {
                let labels = Labels([("__name__", "http_requests_total"), ("job", "api"), ("track", track), ("status", status)])
                if let ref = w.ref(for: labels, kind: .counter) { _ = w.append(ref, value: value, at: t) }
            }
            let labels = Labels([("__name__", "http_request_duration_ms"), ("job", "api"), ("track", track)])
            if let ref = w.ref(for: labels, kind: .distribution) {
                for l in latencies { _ = w.observe(ref, value: l, at: t) }
            }
        }
    }

    func evaluationLine(_ run: GateRun, offset: Milliseconds) -> String {
        let parts = run.checks.map { c -> String in
            let symbol = c.last == .pass ? "✓" : c.last == .fail ? "✗" : "?"
            let v = c.values.last ?? .nan
            let shown = v.isNaN ? "no data" : c.check.name.hasPrefix("error") ? CFormat.printf("%.2f", v * 100) + " %" : CFormat.printf("%.0f", v) + " ms"
            return "\(symbol) \(c.check.name.hasPrefix("error") ? "errors" : "p95") \(shown)"
        }
        let streak = run.checks.map(\.streak).min() ?? 0
        return "\(Demo.stamp(offset))    \(run.gate.name) #\(run.evaluations): " + parts.joined(separator: "   ")
            + "   held \(streak)/\(run.gate.requiredStreak)"
    }
}
