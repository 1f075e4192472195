import Benchmark
import Query
import TimeSeries

// The query engine's hot paths (issue 3): parsing a typical alert expression, and the two
// evaluations rules run most: a per-route request rate over 1 000 counters, and a p95 over an
// hour of 100 distribution series. Targets: each evaluation ≤ 1 ms. And the graph page's range
// query over the 1 000 series (issue 16: a page ≤ 20 ms).

let end: Timestamp = 1_700_000_000_000 - 1_700_000_000_000 % 10_000

/// Deterministic latencies (ms) with a long tail, so sketches hold realistic bucket counts.
func latency(_ i: Int) -> Double {
    var z = UInt64(truncatingIfNeeded: i) &* 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    let u = Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
    return 5 + 20 * u + (u > 0.95 ? 400 * (u - 0.95) * 20 : 0)
}

/// 1 000 counters `http_requests_total{route, instance}` (50 routes × 20 instances), one sample
/// per 10 s slot for an hour, as a scrape would leave them.
func counterStore() -> SeriesStore {
    var config = StoreConfig()
    config.seriesLimit = 20_000
    let store = SeriesStore(config: config, clock: { end })
    store.write { w in
        for i in 0..<1_000 {
            let labels = Labels(name: "http_requests_total", ["route": "/api/r\(i % 50)", "instance": "10.0.0.\(i / 50):8080", "job": "api"])
            let ref = w.ref(for: labels, kind: .counter)!
            for slot in 0..<360 {
                _ = w.append(ref, value: Double(slot * (i % 7 + 1)), at: end - 3_600_000 + Int64(slot + 1) * 10_000 - 1)
            }
        }
    }
    return store
}

/// 100 distributions `latency_ms{route}` with `perSlot` observations in every 10 s slot of the hour.
func distributionStore(perSlot: Int) -> SeriesStore {
    let store = SeriesStore(config: StoreConfig(), clock: { end })
    store.write { w in
        for r in 0..<100 {
            let ref = w.ref(for: Labels(name: "latency_ms", ["route": "/api/r\(r)"]), kind: .distribution)!
            for slot in 0..<360 {
                for k in 0..<perSlot {
                    let t = end - 3_600_000 + Int64(slot) * 10_000 + 1 + Int64(k) * (9_999 / Int64(perSlot))
                    _ = w.observe(ref, value: latency(r * 1_000_003 + slot * perSlot + k), at: t)
                }
            }
        }
    }
    return store
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .instructions],
        maxDuration: .seconds(3), maxIterations: 100_000)

    let alert = """
        sum by (route) (rate(http_requests_total{job="api", status=~"5.."}[5m]))
          / sum by (route) (rate(http_requests_total{job="api"}[5m])) > 0.05
        """
    Benchmark("Parse a typical alert expression") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try PromQL.parse(alert))
        }
    }

    let counters = counterStore()
    let rate = try! PromQL.parse("sum by (route) (rate(http_requests_total[5m]))")
    Benchmark("sum by (route) (rate(http_requests_total[5m])) over 1 000 series") { benchmark in
        let engine = Engine(store: counters)
        for _ in benchmark.scaledIterations {
            blackHole(try engine.instant(rate, at: end))
        }
    }

    // Selection by a regex matcher that no fast path answers (issue 12, item 9): the RE2 engine
    // runs once per distinct `instance` value of the 1 000 series.
    let regexSelection = try! PromQL.parse(#"count(http_requests_total{instance=~"10\\.0\\.0\\.(1|3|5)[0-9]?:80[0-9]+"})"#)
    Benchmark("count(http_requests_total{instance=~\"10\\.0\\.0\\.(1|3|5)[0-9]?:80[0-9]+\"}) over 1 000 series") { benchmark in
        let engine = Engine(store: counters)
        for _ in benchmark.scaledIterations {
            blackHole(try engine.instant(regexSelection, at: end))
        }
    }

    // The floor under the rate query: the store reads alone (samples and hidden reset increase of
    // every series), without any query work.
    Benchmark("floor: store reads of 1 000 series' 5m windows") { benchmark in
        let refs = counters.read { $0.allSeries() }
        var buffer: [Sample] = []
        for _ in benchmark.scaledIterations {
            counters.read { r in
                for ref in refs {
                    buffer.removeAll(keepingCapacity: true)
                    r.samples(of: ref, from: end - 300_000, through: end, into: &buffer)
                    blackHole(r.hiddenResetIncrease(of: ref, from: end - 300_000, through: end))
                }
            }
            blackHole(buffer.count)
        }
    }

    let p95 = try! PromQL.parse("quantile_over_time(0.95, latency_ms[1h])")
    for perSlot in [1, 10] {
        let distributions = distributionStore(perSlot: perSlot)
        Benchmark("quantile_over_time(0.95, latency_ms[1h]) over 100 distributions (\(perSlot) obs per 10 s slot)") { benchmark in
            let engine = Engine(store: distributions)
            for _ in benchmark.scaledIterations {
                blackHole(try engine.instant(p95, at: end))
            }
        }
    }

    let p95Short = try! PromQL.parse("quantile_over_time(0.95, latency_ms[5m])")
    let distributions = distributionStore(perSlot: 10)
    // The floor under the quantile queries: the store's window summaries alone. The 1 h window
    // covers the whole ring (read through its running total); 30 min is the worst case for that
    // (half the ring inside, half outside: read directly).
    for (name, window) in [("1h", Int64(3_600_000)), ("30m", 1_800_000)] {
        Benchmark("floor: store.summary(\(name)) + quantile of 100 distributions (10 obs per slot)") { benchmark in
            let refs = distributions.read { $0.allSeries() }
            for _ in benchmark.scaledIterations {
                distributions.read { r in
                    for ref in refs { blackHole(r.summary(of: ref, from: end - window, through: end)!.quantile(0.95)) }
                }
            }
        }
    }
    Benchmark("quantile_over_time(0.95, latency_ms[5m]) over 100 distributions (10 obs per slot)") { benchmark in
        let engine = Engine(store: distributions)
        for _ in benchmark.scaledIterations {
            blackHole(try engine.instant(p95Short, at: end))
        }
    }

    // The graph page's range query (issue 16): 1 h at 20 s steps (181) over the 1 000 series, the
    // instant selector read once per series for all steps; and the same as 181 instant queries,
    // the step-by-step evaluation range queries did before (each series looked up at each step).
    for text in ["sum(http_requests_total)", "http_requests_total"] {
        let expr = try! PromQL.parse(text)
        Benchmark("range \(text) over 1 000 series, 1 h at 20 s steps") { benchmark in
            let engine = Engine(store: counters)
            for _ in benchmark.scaledIterations {
                blackHole(try engine.range(expr, start: end - 3_600_000, end: end, step: 20_000))
            }
        }
    }
    let sumExpr = try! PromQL.parse("sum(http_requests_total)")
    Benchmark("baseline: sum(http_requests_total) as 181 instant queries (step by step)") { benchmark in
        let engine = Engine(store: counters)
        for _ in benchmark.scaledIterations {
            var t = end - 3_600_000
            while t <= end {
                blackHole(try engine.instant(sumExpr, at: t))
                t += 20_000
            }
        }
    }
}
