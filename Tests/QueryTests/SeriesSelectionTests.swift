import Query
import Testing
import TimeSeries

/// `match[]` selectors (Prometheus's `ParseMetricSelector`) and the series they pick from the index.
@Suite struct SeriesSelectionTests {
    static func store() -> SeriesStore {
        let store = SeriesStore(config: StoreConfig(), clock: { 1_700_000_000_000 })
        store.write { w in
            _ = w.append(Labels(name: "up", ["job": "api", "instance": "a"]), kind: .gauge, value: 1, at: 1_699_999_999_000)
            _ = w.append(Labels(name: "up", ["job": "db", "instance": "b"]), kind: .gauge, value: 0, at: 1_699_999_999_000)
            _ = w.append(Labels(name: "http_requests_total", ["job": "api", "code": "500"]), kind: .counter, value: 3, at: 1_699_999_999_000)
            let d = w.ref(for: Labels(name: "latency_seconds", ["job": "api"]), kind: .distribution)!
            _ = w.observe(d, value: 0.2, at: 1_699_999_999_000)
        }
        return store
    }

    func names(_ selector: String) throws -> [String] {
        let matchers = try PromQL.parseMetricSelector(selector)
        return Self.store().read { SeriesSelection.select(matchers, in: $0) }.map { $0.labels.description }.sorted()
    }

    @Test func aSelectorPicksItsSeriesByNameAndLabels() throws {
        #expect(try names(#"up{job="api"}"#) == [#"up{instance="a", job="api"}"#])
        #expect(try names(#"{job="api",__name__=~"up|http_.*"}"#) == [#"http_requests_total{code="500", job="api"}"#, #"up{instance="a", job="api"}"#])
        #expect(try names(#"up{job!="api"}"#) == [#"up{instance="b", job="db"}"#])
    }

    @Test func aDistributionIsAlsoItsCountAndSum() throws {
        #expect(try names(#"latency_seconds_count"#) == [#"latency_seconds_count{job="api"}"#])
        #expect(try names(#"{job="api",__name__=~"latency.*"}"#)
            == [#"latency_seconds_count{job="api"}"#, #"latency_seconds_sum{job="api"}"#, #"latency_seconds{job="api"}"#])
    }

    @Test(arguments: [
        ("an operator", "up + 1"),
        ("a function", "rate(up[5m])"),
        ("a range", "up[5m]"),
        ("an offset", "up offset 5m"),
        ("an @ modifier", "up @ 100"),
        ("no matcher that excludes anything", #"{job=~".*"}"#),
        ("nothing", ""),
        ("an unclosed brace", #"up{job="api""#),
        ("a number", "42"),
        ("invalid UTF-8", "up{job=\"\u{FFFD}\"} \u{0}"),
    ])
    func anythingButASeriesSelectorIsRefused(_ what: String, _ text: String) {
        #expect(throws: QueryError.self, "\(what)") { _ = try PromQL.parseMetricSelector(text) }
    }

    @Test func aHugeSelectorIsRefusedByTheExpressionBound() {
        let text = "up{job=\"" + String(repeating: "x", count: PromQL.maxExpressionBytes) + "\"}"
        #expect(throws: QueryError.self) { _ = try PromQL.parseMetricSelector(text) }
    }

    @Test func durationsPrintAsPrometheusPrintsThem() {
        #expect(PromQL.formatDuration(15_000) == "15s")
        #expect(PromQL.formatDuration(5_400_000) == "1h30m")
        #expect(PromQL.formatDuration(500) == "500ms")
        #expect(PromQL.formatDuration(0) == "0s")
    }
}
