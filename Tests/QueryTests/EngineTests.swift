import Testing
import Query
import TimeSeries

@Suite("Engine")
struct EngineTests {
    func store(_ lines: [(String, String)], interval: Milliseconds = 60_000) throws -> SeriesStore {
        try TestStore.make(lines.map { try InputSeries(series: $0.0, values: $0.1) }, interval: interval)
    }

    @Test func jsonIsPrometheusQueryData() throws {
        let s = try store([("up{job=\"api\", instance=\"a\\\"b\"}", "1 0.5"), ("other", "1e21 1e-7")])
        let engine = Engine(store: s)
        #expect(try engine.instant(PromQL.parse("up"), at: 60_000).json
            == #"{"resultType":"vector","result":[{"metric":{"__name__":"up","instance":"a\"b","job":"api"},"value":[60,"0.5"]}]}"#)
        #expect(try engine.instant(PromQL.parse("other"), at: 60_500).json
            == #"{"resultType":"vector","result":[{"metric":{"__name__":"other"},"value":[60.500,"1e-07"]}]}"#)
        #expect(try engine.instant(PromQL.parse("other"), at: 0).json
            == #"{"resultType":"vector","result":[{"metric":{"__name__":"other"},"value":[0,"1e+21"]}]}"#)
        #expect(try engine.instant(PromQL.parse("1 / 0"), at: 1_700_000_000_123).json
            == #"{"resultType":"scalar","result":[1700000000.123,"+Inf"]}"#)
        #expect(try engine.instant(PromQL.parse("\"hi\\n\""), at: 1000).json == #"{"resultType":"string","result":[1,"hi\n"]}"#)
        #expect(try engine.instant(PromQL.parse("up[2m]"), at: 60_000).json
            == #"{"resultType":"matrix","result":[{"metric":{"__name__":"up","instance":"a\"b","job":"api"},"values":[[0,"1"],[60,"0.5"]]}]}"#)
        #expect(try engine.instant(PromQL.parse("nothing"), at: 0).json == #"{"resultType":"vector","result":[]}"#)
    }

    @Test func sampleValuesFormatLikePrometheus() {
        let cases: [(Double, String)] = [
            (1, "1"), (0.1, "0.1"), (-2.5, "-2.5"), (1e20, "100000000000000000000"), (1e21, "1e+21"),
            (1e-6, "0.000001"), (1.5e-7, "1.5e-07"), (123456.789, "123456.789"), (.nan, "NaN"),
            (.infinity, "+Inf"), (-.infinity, "-Inf"), (0, "0"), (1.0 / 3, "0.3333333333333333"),
        ]
        for (v, text) in cases { #expect(PrometheusFormat.sampleValue(v) == text, "\(v)") }
        #expect(PrometheusFormat.float(1e21) == "1000000000000000000000")
        #expect(PrometheusFormat.timestamp(-1500) == "-1.500")
    }

    @Test func rangeQueriesEvaluateAtEachStep() throws {
        let s = try store([("c_total{a=\"1\"}", "0+60x10"), ("c_total{a=\"2\"}", "_ _ _ _ _ 0+60x5")])
        let engine = Engine(store: s)
        let value = try engine.range(PromQL.parse("rate(c_total[2m])"), start: 120_000, end: 600_000, step: 120_000)
        guard case .matrix(let series) = value else { Issue.record("\(value)"); return }
        #expect(series.map { $0.labels["a"] } == ["1", "2"])
        #expect(series[0].samples.map(\.timestamp) == [120_000, 240_000, 360_000, 480_000, 600_000])
        #expect(series[0].samples.allSatisfy { abs($0.value - 1) < 1e-12 })
        // The second series starts at 5m: from the 6m step on, its window holds two samples.
        #expect(series[1].samples.map(\.timestamp) == [360_000, 480_000, 600_000])
        let scalar = try engine.range(PromQL.parse("time()"), start: 0, end: 120_000, step: 60_000)
        #expect(scalar == .matrix([SeriesSamples(labels: Labels(), samples: [Sample(timestamp: 0, value: 0), Sample(timestamp: 60_000, value: 60), Sample(timestamp: 120_000, value: 120)])]))
        #expect(throws: QueryError.self) { try engine.range(PromQL.parse("c_total[5m]"), start: 0, end: 1, step: 1) }
        #expect(throws: QueryError.self) { try engine.range(PromQL.parse("1"), start: 0, end: 1_000_000_000, step: 1) }
    }

    @Test func atStartAndEndReferToTheRangeQuery() throws {
        let s = try store([("m", "0+1x10")])
        let engine = Engine(store: s)
        let value = try engine.range(PromQL.parse("m @ end() - m @ start()"), start: 60_000, end: 300_000, step: 60_000)
        guard case .matrix(let series) = value else { Issue.record("\(value)"); return }
        #expect(series.first?.samples.allSatisfy { $0.value == 4 } == true)
    }

    @Test func specialValuesFlowThrough() throws {
        let s = try store([("v{k=\"nan\"}", "NaN NaN"), ("v{k=\"inf\"}", "Inf Inf"), ("v{k=\"big\"}", "1e308 1e308"), ("v{k=\"neg\"}", "-Inf -Inf")])
        let engine = Engine(store: s)
        func values(_ text: String) throws -> [String: Double] {
            guard case .vector(let v, _) = try engine.instant(PromQL.parse(text), at: 60_000) else { return [:] }
            return Dictionary(uniqueKeysWithValues: v.map { ($0.labels["k"] ?? "", $0.value) })
        }
        let doubled = try values("v * 2")
        #expect(doubled["big"] == .infinity && doubled["inf"] == .infinity && doubled["nan"]!.isNaN)
        #expect(try values("sum(v)")[""]!.isNaN)
        #expect(try values("max(v)")[""] == .infinity)
        #expect(try values("min(v)")[""] == -.infinity)
        #expect(try values("sum(v{k=\"big\"}) + sum(v{k=\"big\"})")[""] == .infinity)
        #expect(try values("avg(v{k=~\"big|big\"} or v{k=\"big\"} * 0 + 1e308)")[""] == 1e308)
        #expect(try values("v > 0").keys.sorted() == ["big", "inf"])
        #expect(try values("rate(v[30s])").isEmpty)  // a single sample has no rate
        #expect(try values("rate(v{k=\"inf\"}[5m])")["inf"]!.isNaN)  // Inf − Inf
        #expect(try values("count(v == v)")[""] == 3)  // NaN == NaN is false
    }

    @Test func evaluationErrorsAreCleanAndBounded() throws {
        let s = try store([("x{i=\"1\"}", "1"), ("x{i=\"2\"}", "2")])
        var engine = Engine(store: s)
        engine.maxSamples = 1
        #expect(throws: QueryError.self) { try engine.instant(PromQL.parse("x"), at: 0) }
        let normal = Engine(store: s)
        do {
            _ = try normal.instant(PromQL.parse("topk(NaN, x)"), at: 0)
            Issue.record("accepted NaN k")
        } catch { #expect(error.kind == .evaluation) }
        do {
            _ = try normal.instant(PromQL.parse("topk(1e300, x)"), at: 0)
            Issue.record("accepted huge k")
        } catch { #expect(error.kind == .evaluation) }
        #expect(throws: QueryError.self) { try normal.instant(PromQL.parse("count_values(\"a\", x) + on() group_left count_values(\"a\", x)"), at: 0) }
        // A subquery with a tiny step over a long range is refused, not attempted.
        #expect(throws: QueryError.self) { try normal.instant(PromQL.parse("max_over_time(x[10y:1ms])"), at: 0) }
    }

    @Test func deeplyNestedButValidExpressionsEvaluate() throws {
        let s = try store([("x", "1")])
        let depth = 100
        let text = String(repeating: "abs(", count: depth) + "x" + String(repeating: ")", count: depth)
        guard case .vector(let v, _) = try Engine(store: s).instant(PromQL.parse(text), at: 0) else { Issue.record("not a vector"); return }
        #expect(v.map(\.value) == [1])
        let chain = Array(repeating: "x", count: 150).joined(separator: " + ")
        guard case .vector(let w, _) = try Engine(store: s).instant(PromQL.parse(chain), at: 0) else { Issue.record("not a vector"); return }
        #expect(w.map(\.value) == [150])
    }
}
