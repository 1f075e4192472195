import Alerting
import Benchmark
import Foundation
import Query
import TimeSeries

let t0: Timestamp = 1_699_999_980_000
let hour: Milliseconds = 3_600_000

/// 2 000 counter series (5 jobs × 20 routes × 5 instances × 4 statuses), an hour of 10 s samples.
func requestStore() -> SeriesStore {
    var config = StoreConfig()
    config.seriesLimit = 20_000
    let store = SeriesStore(config: config, clock: { t0 + 2 * hour })
    store.write { w in
        var n = 0
        for job in 0..<5 {
            for route in 0..<20 {
                for instance in 0..<5 {
                    for (s, status) in ["200", "404", "500", "503"].enumerated() {
                        let labels = Labels(name: "http_requests_total", [
                            "job": "j\(job)", "route": "/r\(route)", "instance": "10.0.0.\(instance):9090", "status": status,
                        ])
                        let ref = w.ref(for: labels, kind: .counter)!
                        let perStep = Double(s == 0 ? 100 : (s == 1 ? 5 : 1 + (route % 7)))
                        for i in 0..<360 { _ = w.append(ref, value: perStep * Double(i), at: t0 + Int64(i) * 10_000) }
                        n += 1
                    }
                }
            }
        }
        precondition(n == 2_000)
    }
    return store
}

/// 200 rules in one group: 100 recording rules (rate by job and route) and 100 tiered error-rate alerts.
func twoHundredRules() -> String {
    var yaml = "groups:\n  - name: bench\n    rules:\n"
    for k in 0..<100 {
        yaml += """
                  - record: job_route:http_requests:rate5m_\(k)
                    expr: sum by (job, route) (rate(http_requests_total{job="j\(k % 5)", route="/r\(k % 20)"}[5m]))

            """
    }
    for k in 0..<100 {
        yaml += """
                  - alert: ErrorRate\(k)
                    expr: |
                      sum by (job) (rate(http_requests_total{status=~"5..", route="/r\(k % 20)"}[5m]))
                        / sum by (job) (rate(http_requests_total{route="/r\(k % 20)"}[5m]))
                    for: 2m
                    tiers:
                      - {severity: critical, above: 0.25}
                      - {severity: high, above: 0.05}
                      - {severity: medium, above: 0.01}
                      - {severity: low, above: 0.005}
                    recover_below: 0.004
                    annotations:
                      summary: "{{ $labels.job }} error rate {{ $value | humanizePercentage }}"

            """
    }
    return yaml
}

/// Steady-state evaluations of the 200 rules, the first at `start`, each `step` ms after the last.
///
/// The harness calls the closure once per sample, so the group is set up each time. Two
/// evaluations come first: the first creates the recorded and ALERTS series, which makes the
/// second select its series afresh; from the third on the set of series is steady, as it is in a
/// running daemon, and the rules' selections are reused (SelectionCache).
func steadyEvaluations(start: Timestamp, step: Timestamp) -> (Benchmark) -> Void {
    { benchmark in
        let store = requestStore()
        let file = try! RuleFile.parse(twoHundredRules(), path: "bench.yaml")
        let group = RuleGroup(file.groups[0], file: "bench.yaml", engine: Engine(store: store))
        var t = start
        for _ in 0..<2 {
            let warm = group.evaluate(at: t)
            precondition(warm.errors.isEmpty, "\(warm.errors)")
            t += step
        }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            t += step
            blackHole(group.evaluate(at: t))
        }
    }
}

let benchmarks: @Sendable () -> Void = {
    // The daemon evaluates at the present, where the rings' newest blocks are raw; the second
    // benchmark starts ten minutes back, where a 10 s ring's older blocks are sealed (see ScalarRing).
    Benchmark("Rule group: 200 rules over 2000 series, one full evaluation at the newest samples",
              configuration: .init(metrics: [.wallClock, .mallocCountTotal, .throughput], maxDuration: .seconds(10)),
              closure: steadyEvaluations(start: t0 + hour - 10_000, step: 1))

    Benchmark("Rule group: 200 rules over 2000 series, one full evaluation",
              configuration: .init(metrics: [.wallClock, .mallocCountTotal, .throughput], maxDuration: .seconds(10)),
              closure: steadyEvaluations(start: t0 + hour - 600_000, step: 1_000))

    Benchmark("Rule group: 200 rules over 2000 series, evaluation just after a series appeared",
              configuration: .init(metrics: [.wallClock, .mallocCountTotal], maxDuration: .seconds(10))) { benchmark in
        let store = requestStore()
        let file = try! RuleFile.parse(twoHundredRules(), path: "bench.yaml")
        let group = RuleGroup(file.groups[0], file: "bench.yaml", engine: Engine(store: store))
        var t = t0 + hour - 600_000
        for _ in 0..<2 {
            _ = group.evaluate(at: t)
            t += 1_000
        }
        var n = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            // A new series (a microsecond's work) voids every rule's cached selections.
            n += 1
            store.write { w in _ = w.ref(for: Labels(name: "unrelated_total", ["n": "\(n)"]), kind: .counter) }
            t += 1_000
            blackHole(group.evaluate(at: t))
        }
    }

    // What a notification costs on top of the evaluation that fired it: a firing alert's last 30
    // minutes (29 instant queries of the rule's value expression; Notify's history source calls it
    // once per rule per round of due notifications).
    Benchmark("Value history: 30 min of a tiered error-rate rule (5 jobs, 100 of 2000 series read)",
              configuration: .init(metrics: [.wallClock, .mallocCountTotal], maxDuration: .seconds(10))) { benchmark in
        let store = requestStore()
        let file = try! RuleFile.parse(twoHundredRules(), path: "bench.yaml")
        let group = RuleGroup(file.groups[0], file: "bench.yaml", engine: Engine(store: store))
        let t = t0 + hour - 60_000
        precondition(group.evaluate(at: t).errors.isEmpty)
        let alerts = group.alerts().filter { $0.name == "ErrorRate7" }
        precondition(!alerts.isEmpty)
        let values = Dictionary(uniqueKeysWithValues: alerts.map { ($0.identity, $0.value) })
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try! group.valueHistory(rule: "ErrorRate7", alerts: values, evaluatedAt: t))
        }
    }

    Benchmark("Value history baseline: one instant evaluation of the same error-rate expression",
              configuration: .init(metrics: [.wallClock, .mallocCountTotal], maxDuration: .seconds(10))) { benchmark in
        let store = requestStore()
        let file = try! RuleFile.parse(twoHundredRules(), path: "bench.yaml")
        let rule = file.groups[0].rules.first { $0.name == "ErrorRate7" }!
        let engine = Engine(store: store)
        let t = t0 + hour - 60_000
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try! engine.instant(rule.query, at: t)) }
    }

    Benchmark("Value history: 30 min of one alert of a rule over all 2000 series (2000 identities per step)",
              configuration: .init(metrics: [.wallClock, .mallocCountTotal], maxDuration: .seconds(10))) { benchmark in
        let store = requestStore()
        let file = try! RuleFile.parse("""
            groups:
              - name: wide
                rules:
                  - alert: Busy
                    expr: rate(http_requests_total[5m]) > 9.9
                    labels: {severity: high}
            """, path: "wide.yaml")
        let group = RuleGroup(file.groups[0], file: "wide.yaml", engine: Engine(store: store))
        let t = t0 + hour - 60_000
        precondition(group.evaluate(at: t).errors.isEmpty)
        let alerts = group.alerts().prefix(1)
        precondition(alerts.count == 1)
        let values = Dictionary(uniqueKeysWithValues: alerts.map { ($0.identity, $0.value) })
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try! group.valueHistory(rule: "Busy", alerts: values, evaluatedAt: t))
        }
    }

    Benchmark("Rule file: load and validate 200 rules", configuration: .init(metrics: [.wallClock, .mallocCountTotal])) { benchmark in
        let yaml = twoHundredRules()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try! RuleFile.parse(yaml, path: "bench.yaml"))
        }
    }

    Benchmark("Template: render a summary with humanizePercentage", configuration: .init(scalingFactor: .kilo)) { benchmark in
        let template = try! Template.parse("{{ $labels.job }} error rate {{ $value | humanizePercentage }} on {{ $labels.instance }}")
        let context = TemplateContext(labels: Labels(["job": "api", "instance": "10.0.0.1:9090"]), value: 0.0534)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(template.render(context)) }
    }
}
