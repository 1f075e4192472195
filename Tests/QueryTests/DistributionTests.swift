import Testing
import Query
import TimeSeries

/// Distribution series (values from a log field) answered from slot sketches and aggregates.
@Suite("Distributions")
struct DistributionTests {
    static let end: Timestamp = 1_700_000_000_000 - 1_700_000_000_000 % 10_000  // on a slot boundary
    static let spacing: Milliseconds = 3_589

    /// Two routes: /a observes 1…1000, /b observes 10 000…19 990 in steps of 10, spread over the
    /// last hour, plus an ordinary counter.
    static func makeStore() -> SeriesStore {
        let store = SeriesStore(config: StoreConfig(), clock: { end })
        store.write { w in
            let a = w.ref(for: Labels(name: "latency_ms", ["route": "/a"]), kind: .distribution)!
            let b = w.ref(for: Labels(name: "latency_ms", ["route": "/b"]), kind: .distribution)!
            for i in 1...1000 {
                let t = end - 3_590_000 + Int64(i) * spacing
                #expect(w.observe(a, value: Double(i), at: t) == .ok)
                #expect(w.observe(b, value: Double(9_990 + 10 * i), at: t) == .ok)
            }
            let c = w.ref(for: Labels(name: "requests_total", ["route": "/a"]), kind: .counter)!
            for k in 0...360 { _ = w.append(c, value: Double(k * 10), at: end - 3_600_000 + Int64(k) * 10_000) }
        }
        return store
    }

    func instant(_ store: SeriesStore, _ text: String, warnings: inout [String]) throws -> [VectorSample] {
        let value = try Engine(store: store).instant(try PromQL.parse(text), at: Self.end, warnings: &warnings)
        guard case .vector(let v, _) = value else { Issue.record("\(text) gave \(value.resultType)"); return [] }
        return v
    }

    func instant(_ store: SeriesStore, _ text: String) throws -> [VectorSample] {
        var warnings: [String] = []
        return try instant(store, text, warnings: &warnings)
    }

    func value(_ v: [VectorSample], route: String) -> Double? {
        v.first { $0.labels["route"] == route }?.value
    }

    @Test func quantileOverTimeIsWithinTheSketchAccuracy() throws {
        let store = Self.makeStore()
        for q in [0.5, 0.9, 0.95, 0.99] {
            let v = try instant(store, "quantile_over_time(\(q), latency_ms[1h])")
            #expect(v.count == 2)
            // The exact value at rank ⌊q·(n−1)⌋ of 1…1000 is that rank + 1.
            let exactA = (q * 999).rounded(.down) + 1
            let exactB = 9_990 + 10 * exactA
            let gotA = try #require(value(v, route: "/a"))
            let gotB = try #require(value(v, route: "/b"))
            #expect(abs(gotA - exactA) / exactA <= 0.01, "q=\(q): \(gotA) vs \(exactA)")
            #expect(abs(gotB - exactB) / exactB <= 0.01, "q=\(q): \(gotB) vs \(exactB)")
            // The metric name is dropped, as for every _over_time but last_over_time.
            #expect(v.allSatisfy { $0.labels.metricName == nil })
        }
        let extremes = try instant(store, "quantile_over_time(0, latency_ms{route=\"/a\"}[1h]) or quantile_over_time(1, latency_ms{route=\"/b\"}[1h])")
        #expect(Set(extremes.map(\.value)) == [1, 19_990])
        let outside = try instant(store, "quantile_over_time(1.5, latency_ms{route=\"/a\"}[1h])")
        #expect(outside.first?.value == .infinity)
    }

    @Test func aggregatesOverTimeAreExact() throws {
        let store = Self.makeStore()
        let cases: [(String, Double, Double)] = [
            ("count_over_time", 1000, 1000),
            ("sum_over_time", 500_500, 1000 * 9_990 + 10 * 500_500),
            ("avg_over_time", 500.5, 9_990 + 10 * 500.5),
            ("min_over_time", 1, 10_000),
            ("max_over_time", 1000, 19_990),
            ("present_over_time", 1, 1),
        ]
        for (function, a, b) in cases {
            let v = try instant(store, "\(function)(latency_ms[1h])")
            #expect(value(v, route: "/a") == a, "\(function)")
            #expect(value(v, route: "/b") == b, "\(function)")
        }
        #expect(try instant(store, "absent_over_time(latency_ms[1h])").isEmpty)
    }

    @Test func windowsCoverWholeSlots() throws {
        let store = Self.makeStore()
        // 5 minutes hold about 300 s / 3.589 s ≈ 84 observations; whole 10 s slots are merged.
        let v = try instant(store, "count_over_time(latency_ms{route=\"/a\"}[5m])")
        let count = try #require(v.first?.value)
        #expect(count >= 83 && count <= 86, "\(count)")
        let max = try instant(store, "max_over_time(latency_ms{route=\"/a\"}[5m])")
        #expect(max.first?.value == 1000)
    }

    @Test func distributionsAreVisibleAsCountAndSumCounters() throws {
        let store = Self.makeStore()
        let count = try instant(store, "latency_ms_count")
        #expect(count.count == 2)
        #expect(count.allSatisfy { $0.value == 1000 && $0.labels.metricName == "latency_ms_count" })
        let sum = try instant(store, "latency_ms_sum{route=\"/a\"}")
        #expect(sum.map(\.value) == [500_500])
        // One observation every 3.589 s.
        let rate = try instant(store, "sum by (route) (rate(latency_ms_count[5m]))")
        for r in rate { #expect(abs(r.value - 1 / 3.589) / (1 / 3.589) < 0.05, "\(r)") }
        let increase = try instant(store, "increase(latency_ms_count{route=\"/a\"}[1h])")
        #expect(abs(increase[0].value - 1000) < 15, "\(increase)")
        // Mean latency over 5 minutes, as Prometheus users write it.
        let mean = try instant(store, "rate(latency_ms_sum{route=\"/b\"}[5m]) / rate(latency_ms_count{route=\"/b\"}[5m])")
        #expect(mean[0].value > 19_000 && mean[0].value < 19_990, "\(mean)")
        // Regex name matchers see the views too, not the raw distribution.
        var warnings: [String] = []
        let all = try instant(store, "{__name__=~\"latency_ms.*\", route=\"/a\"}", warnings: &warnings)
        #expect(Set(all.compactMap { $0.labels.metricName }) == ["latency_ms_count", "latency_ms_sum"])
        #expect(warnings.count == 1)
    }

    @Test func distributionsWhereOnlyNumbersFitAreSkippedWithAWarning() throws {
        let store = Self.makeStore()
        var warnings: [String] = []
        #expect(try instant(store, "latency_ms", warnings: &warnings).isEmpty)
        #expect(try instant(store, "rate(latency_ms[5m])", warnings: &warnings).isEmpty)
        #expect(try instant(store, "stddev_over_time(latency_ms[5m])", warnings: &warnings).isEmpty)
        #expect(warnings.count >= 3)
        #expect(warnings.allSatisfy { $0.contains("latency_ms is a distribution") })
        // The ordinary counter alongside is unaffected.
        let rate = try instant(store, "rate(requests_total[5m])", warnings: &warnings)
        #expect(rate.first.map { abs($0.value - 1) < 1e-9 } == true)
    }

    @Test func testStoreLoadsDistributionsFromSeriesNotation() throws {
        let store = try TestStore.make([try InputSeries(series: "lat{r=\"x\"}", values: "1 2 3 4 5 6 7 8 9 10", kind: .distribution)], interval: 60_000)
        let engine = Engine(store: store)
        let failures = ExpressionTester.run([
            ExpressionTestCase(expr: "count_over_time(lat[10m])", evalTime: 540_000, expected: [try ExpectedSample(labels: "{r=\"x\"}", value: 10)]),
            // Windows read whole slots: (4m, 9m] overlaps the slot [4m, 5m), whose observation (5) counts.
            ExpressionTestCase(expr: "sum_over_time(lat[5m])", evalTime: 540_000, expected: [try ExpectedSample(labels: "{r=\"x\"}", value: 5 + 6 + 7 + 8 + 9 + 10)]),
            ExpressionTestCase(expr: "lat_count", evalTime: 540_000, expected: [try ExpectedSample(labels: "lat_count{r=\"x\"}", value: 10)]),
        ], engine: engine)
        #expect(failures.isEmpty, "\(failures)")
    }
}
