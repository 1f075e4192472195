import Foundation
import Testing
import TimeSeries

@testable import Ingest

/// The scrape loop's writing, driven with bodies directly (no HTTP) and a manual clock.
@Suite struct ScrapeLoopTests {
    static let node = ScrapeTarget(url: "http://10.0.0.1:9100/metrics", job: "node")
    let labels = #"instance="10.0.0.1:9100", job="node""#

    static let page = """
        # HELP requests_total Requests served.
        # TYPE requests_total counter
        requests_total{code="200"} 1027
        requests_total{code="500"} 3
        # TYPE temperature_celsius gauge
        temperature_celsius 21.5
        # TYPE latency_seconds histogram
        latency_seconds_bucket{le="0.1"} 4
        latency_seconds_bucket{le="+Inf"} 5
        latency_seconds_sum 0.7
        latency_seconds_count 5
        untyped_thing 7

        """

    @Test func samplesGetTheTargetLabelsAndTheScrapeTime() {
        let f = ScrapeFixture(target: Self.node)
        let report = f.ingest(Self.page)
        #expect(report.up, "\(String(describing: report.error))")
        let t = f.clock.now
        let latest = f.latest()
        #expect(latest[#"requests_total{code="200", \#(labels)}"#]! == (t, 1027))
        #expect(latest[#"requests_total{code="500", \#(labels)}"#]! == (t, 3))
        #expect(latest[#"temperature_celsius{\#(labels)}"#]! == (t, 21.5))
        #expect(latest[#"latency_seconds_bucket{instance="10.0.0.1:9100", job="node", le="+Inf"}"#]! == (t, 5))
        #expect(latest[#"untyped_thing{\#(labels)}"#]! == (t, 7))
        #expect(report.samplesScraped == 8 && report.samplesPostRelabeling == 8 && report.seriesAdded == 8)
    }

    @Test func theSyntheticSeriesAreWrittenAsPrometheusWritesThem() {
        let f = ScrapeFixture(target: Self.node)
        f.ingest(Self.page)
        let t = f.clock.now
        let latest = f.latest()
        #expect(latest["up{\(labels)}"]! == (t, 1))
        #expect(latest["scrape_samples_scraped{\(labels)}"]! == (t, 8))
        #expect(latest["scrape_samples_post_metric_relabeling{\(labels)}"]! == (t, 8))
        #expect(latest["scrape_series_added{\(labels)}"]! == (t, 8))
        // The manual monotonic clock advances 5 ms per reading: one at the start, one at the end.
        #expect(latest["scrape_duration_seconds{\(labels)}"]! == (t, 0.005))
        f.clock.now += 15_000
        f.ingest(Self.page)
        #expect(f.value("scrape_series_added{\(labels)}") == 0, "no series is new the second time")
        #expect(f.latest().count == 8 + 5)
    }

    @Test func countersAndHistogramPartsAreCountersTheRestGauges() {
        let f = ScrapeFixture(target: Self.node)
        f.ingest(Self.page)
        #expect(f.kind(#"requests_total{code="200", \#(labels)}"#) == .counter)
        #expect(f.kind(#"latency_seconds_bucket{instance="10.0.0.1:9100", job="node", le="0.1"}"#) == .counter)
        #expect(f.kind(#"latency_seconds_sum{\#(labels)}"#) == .counter)
        #expect(f.kind(#"latency_seconds_count{\#(labels)}"#) == .counter)
        #expect(f.kind(#"temperature_celsius{\#(labels)}"#) == .gauge)
        #expect(f.kind(#"untyped_thing{\#(labels)}"#) == .gauge)
        #expect(f.kind("up{\(labels)}") == .gauge)
    }

    @Test func openMetricsTimestampsAreSecondsAndCreatedSeriesAreGauges() {
        var target = Self.node
        target.honorTimestamps = true
        let f = ScrapeFixture(target: target)
        let t = f.clock.now
        let page = "# TYPE c counter\nc_total 5 \(Double(t - 1500) / 1000)\nc_created 1600000000\n# EOF\n"
        let report = f.ingest(page, contentType: "application/openmetrics-text; version=1.0.0")
        #expect(report.format == .openMetrics)
        #expect(f.latest()["c_total{\(labels)}"]! == (t - 1500, 5))
        #expect(f.kind("c_total{\(labels)}") == .counter)
        #expect(f.kind("c_created{\(labels)}") == .gauge)
    }

    @Test func conflictingScrapedLabelsAreExportedUnlessHonored() {
        let page = #"m{job="app",instance="pod-1",exported_job="older",zone="a"} 1"# + "\n"
        var target = Self.node
        target.labels = ["zone": "eu"]
        let renamed = ScrapeFixture(target: target)
        renamed.ingest(page)
        // The page already has exported_job, so its job goes one level further, as in Prometheus.
        #expect(
            renamed.value(
                #"m{exported_exported_job="app", exported_instance="pod-1", exported_job="older", exported_zone="a", instance="10.0.0.1:9100", job="node", zone="eu"}"#)
                == 1, "\(renamed.seriesNames())")

        target.honorLabels = true
        let honored = ScrapeFixture(target: target)
        honored.ingest(page)
        #expect(honored.value(#"m{exported_job="older", instance="pod-1", job="app", zone="a"}"#) == 1, "\(honored.seriesNames())")
        // An empty scraped value counts as absent: the target's label fills it.
        honored.ingest(#"n{job=""} 2"# + "\n")
        #expect(honored.value(#"n{instance="10.0.0.1:9100", job="node", zone="eu"}"#) == 2, "\(honored.seriesNames())")
    }

    @Test func metricRelabelingKeepsDropsAndRewritesBeforeStoring() throws {
        var target = Self.node
        target.metricRelabelConfigs = [
            try RelabelRule(sourceLabels: ["__name__"], regex: "go_.*", action: .drop),
            try RelabelRule(sourceLabels: ["__name__", "code"], regex: "requests_total;(5..)", targetLabel: "class", replacement: "error_${1}"),
            try RelabelRule(regex: "path", action: .labeldrop),
            try RelabelRule(sourceLabels: ["code"], regex: "200|500", action: .keep),
        ]
        let f = ScrapeFixture(target: target)
        let report = f.ingest(
            """
            go_goroutines 12
            requests_total{code="200",path="/a"} 10
            requests_total{code="500",path="/b"} 2
            requests_total{code="404",path="/c"} 1

            """)
        #expect(report.samplesScraped == 4)
        #expect(report.samplesPostRelabeling == 2)
        #expect(f.value("scrape_samples_post_metric_relabeling{\(labels)}") == 2)
        #expect(f.value(#"requests_total{code="200", \#(labels)}"#) == 10)
        #expect(f.value(#"requests_total{class="error_500", code="500", \#(labels)}"#) == 2)
        #expect(f.latest().count == 2 + 5, "\(f.seriesNames())")
    }

    @Test func relabelRulesFollowPrometheusSemantics() throws {
        func run(_ rule: RelabelRule, _ labels: [String: String]) -> [String: String]? {
            var l = labels
            return RelabelRule.apply([rule], to: &l) ? l : nil
        }
        let base = ["__name__": "http_requests_total", "method": "GET", "path": "/api/v1/users", "Host": "a"]
        #expect(run(try RelabelRule(sourceLabels: ["method"], regex: "get", action: .keep), base) == nil, "anchored, case-sensitive")
        #expect(run(try RelabelRule(sourceLabels: ["method"], regex: "G.*", action: .keep), base) == base)
        #expect(run(try RelabelRule(sourceLabels: ["path"], regex: "/api/(v[0-9]+)/.*", targetLabel: "version", replacement: "$1"), base)?["version"] == "v1")
        #expect(run(try RelabelRule(sourceLabels: ["path"], regex: "/api/(v[0-9]+)/.*", targetLabel: "version", replacement: "$1x"), base)?["version"] == nil, "$1x names group 1x")
        #expect(run(try RelabelRule(sourceLabels: ["path"], regex: "/api/(?<ver>v[0-9]+)/.*", targetLabel: "version", replacement: "${ver}x"), base)?["version"] == "v1x")
        #expect(run(try RelabelRule(sourceLabels: ["method", "path"], separator: "@", regex: "(.*)@(.*)", targetLabel: "route", replacement: "$2 ($1) $$"), base)?["route"] == "/api/v1/users (GET) $")
        #expect(run(try RelabelRule(sourceLabels: ["nothing"], regex: "x", targetLabel: "t", replacement: "y"), base) == base, "no match, no change")
        #expect(run(try RelabelRule(sourceLabels: ["method"], targetLabel: "method", replacement: ""), base)?["method"] == nil, "empty replacement removes")
        #expect(run(try RelabelRule(regex: "(H)(ost)", replacement: "h${2}_name", action: .labelmap), base)?["host_name"] == "a")
        #expect(run(try RelabelRule(regex: "__name__|method", action: .labelkeep), base) == ["__name__": "http_requests_total", "method": "GET"])
        #expect(run(try RelabelRule(sourceLabels: ["method"], targetLabel: "m", action: .lowercase), base)?["m"] == "get")
        #expect(run(try RelabelRule(sourceLabels: ["Host"], targetLabel: "Host", action: .uppercase), base)?["Host"] == "A")
        #expect(run(try RelabelRule(sourceLabels: ["Host"], targetLabel: "method", action: .keepequal), base) == nil)
        #expect(run(try RelabelRule(sourceLabels: ["Host"], targetLabel: "method", action: .dropequal), base) == base)
        #expect(run(try RelabelRule(sourceLabels: ["path"], regex: "(?s)/api/(.*)", targetLabel: "rest", replacement: "$1"), ["path": "/api/a\nb"])?["rest"] == "a\nb", "`.` matches a newline, as Prometheus's ^(?s:…)$")
        #expect(run(try RelabelRule(sourceLabels: ["path"], regex: "/api/(.*)", targetLabel: "rest", replacement: "$1"), ["path": "/api/a\nb"])?["rest"] == "a\nb")
        // RE2, not a backtracker: a hostile pattern over a long value answers at once.
        #expect(run(try RelabelRule(sourceLabels: ["v"], regex: "(a*)*b", action: .keep), ["v": String(repeating: "a", count: 10_000)]) == nil)
        #expect(throws: RelabelRuleError(message: #"invalid regex "(": missing closing ): `(`"#)) { try RelabelRule(regex: "(", action: .labeldrop) }
        #expect(throws: RelabelRuleError.self) { try RelabelRule(regex: "(?<=a)b", action: .labeldrop) }
        #expect(throws: RelabelRuleError.self) { try RelabelRule(action: .keep) }
        #expect(throws: RelabelRuleError.self) { try RelabelRule(sourceLabels: ["a"], action: .replace) }
    }

    @Test func aSeriesThatVanishesIsMarkedStaleAndComesBack() {
        let f = ScrapeFixture(target: Self.node)
        f.ingest("a 1\nb 2\n")
        let t1 = f.clock.now
        f.clock.now += 15_000
        let second = f.ingest("a 3\n")
        let t2 = f.clock.now
        #expect(second.staleMarkers == 1)
        var latest = f.latest()
        #expect(latest["a{\(labels)}"]! == (t2, 3))
        #expect(latest["b{\(labels)}"]!.timestamp == t2 && latest["b{\(labels)}"]!.value.isStaleMarker)
        #expect(t2 > t1)
        f.clock.now += 15_000
        let third = f.ingest("a 4\nb 5\n")
        #expect(third.staleMarkers == 0)
        latest = f.latest()
        #expect(latest["b{\(labels)}"]! == (f.clock.now, 5))
    }

    @Test func aSeriesWrittenInAnotherLabelOrderIsNotStale() {
        let f = ScrapeFixture(target: Self.node)
        f.ingest(#"m{a="1",b="2"} 1"# + "\n")
        f.clock.now += 15_000
        let report = f.ingest(#"m{b="2",a="1"} 2"# + "\n")
        #expect(report.staleMarkers == 0)
        #expect(f.value(#"m{a="1", b="2", \#(labels)}"#) == 2)
    }

    @Test func aFailedScrapeMarksEverythingStaleAndWritesUpZero() {
        let f = ScrapeFixture(target: Self.node)
        f.ingest("a 1\nb 2\n")
        f.clock.now += 15_000
        let report = f.ingest("a 3\nb{ 4\nc 5\n")
        #expect(report.error?.description == "line 2: expected a label name or \"}\", got \"4\"")
        #expect(report.samplesScraped == 1)
        #expect(report.staleMarkers == 2)
        let latest = f.latest()
        #expect(latest["a{\(labels)}"]!.value.isStaleMarker, "nothing of a bad page is written")
        #expect(latest["b{\(labels)}"]!.value.isStaleMarker)
        #expect(latest["c{\(labels)}"] == nil)
        #expect(latest["up{\(labels)}"]!.value == 0)
        #expect(latest["scrape_samples_scraped{\(labels)}"]!.value == 1)
        #expect(latest["scrape_samples_post_metric_relabeling{\(labels)}"]!.value == 0)
        f.clock.now += 15_000
        let recovered = f.ingest("a 6\n")
        #expect(recovered.up && recovered.staleMarkers == 0)
        #expect(f.value("a{\(labels)}") == 6)
        #expect(f.value("up{\(labels)}") == 1)
    }

    @Test func pageTimestampsAreHonoredAndNeverMarkedStale() {
        let f = ScrapeFixture(target: Self.node)
        let t = f.clock.now
        f.ingest("a 1 \(t - 5000)\nb 2\n")
        #expect(f.latest()["a{\(labels)}"]! == (t - 5000, 1))
        f.clock.now += 15_000
        let report = f.ingest("c 3\n")
        #expect(report.staleMarkers == 1, "b only: a carried its own timestamp")
        #expect(f.latest()["a{\(labels)}"]! == (t - 5000, 1))

        var target = Self.node
        target.honorTimestamps = false
        let ignoring = ScrapeFixture(target: target)
        ignoring.ingest("a 1 \(t - 5000)\n")
        #expect(ignoring.latest()["a{\(labels)}"]! == (ignoring.clock.now, 1))
    }

    @Test func refusedSamplesAreCountedAndTheScrapeStillSucceeds() {
        let f = ScrapeFixture(target: Self.node, storeConfig: { var c = StoreConfig(); c.seriesLimit = 5; return c }())
        let t = f.clock.now
        let report = f.ingest("dup 1\ndup 2\nold 1 \(t - 100)\n" + (0..<6).map { "s\($0) 1\n" }.joined())
        #expect(report.up)
        #expect(report.refused.duplicate == 1)
        #expect(report.refused.seriesLimit == 3, "dup, old, s0, s1 and s2 fit; s3, s4 and s5 do not")
        f.clock.now += 15_000
        let next = f.ingest("old 1 \(t - 200)\n")
        #expect(next.refused.outOfOrder == 1)
    }

    static let boundCases: [(String, String)] = {
        let many: String = "a 1\n" + (0..<11).map { (i: Int) -> String in "s\(i) 1\n" }.joined()
        let longValue: String = String(repeating: "v", count: 33)
        let longName: String = String(repeating: "n", count: 17)
        return [
            (many, "sample_limit exceeded: more than 10 samples after relabeling"),
            ("m{a=\"1\",b=\"2\",c=\"3\",d=\"4\"} 1\n", "line 1: label_limit exceeded: m has 7 labels, the limit is 6"),
            ("m{a=\"" + longValue + "\"} 1\n", "line 1: label_value_length_limit exceeded: label a of m has 33 bytes, the limit is 32"),
            ("m{" + longName + "=\"v\"} 1\n", "line 1: label_name_length_limit exceeded: a label name of m has 17 bytes, the limit is 16"),
            ("ok 1\nm{a=\"1\",a=\"2\"} 1\n", "line 2: label name \"a\" is not unique"),
            ("m{__name__=\"x\"} 1\n", "line 1: label name \"__name__\" is not unique"),
        ]
    }()

    @Test(arguments: ScrapeLoopTests.boundCases)
    func boundsAndBadLabelsFailTheScrapeAndSayWhich(page: String, message: String) {
        var target = Self.node
        target.limits.sampleLimit = 10
        target.limits.labelLimit = 6
        target.limits.labelValueLengthLimit = 32
        target.limits.labelNameLengthLimit = 16
        let f = ScrapeFixture(target: target)
        let report = f.ingest(page)
        #expect(report.error?.description == message)
        #expect(f.value("up{\(labels)}") == 0)
    }

    @Test func invalidUTF8InALabelValueFailsTheScrape() {
        let f = ScrapeFixture(target: Self.node)
        let report = f.loop.ingest(Array("ok 1\nm{a=\"".utf8) + [0xFF, 0xFE] + Array("\"} 1\n".utf8), contentType: nil, at: f.clock.now)
        #expect(report.error?.description == "line 2: invalid UTF-8 in the value of label \"a\"")
    }

    @Test func aSteadyStateScrapeBuildsNoLabelSet() {
        let f = ScrapeFixture(target: Self.node)
        f.ingest(Self.page)
        let entries = f.loop.state.withLock { $0.ingester.cache.count }
        #expect(entries == 8)
        for _ in 0..<5 {
            f.clock.now += 15_000
            let report = f.ingest(Self.page.replacingOccurrences(of: "1027", with: "\(f.clock.now)"))
            #expect(report.up && report.seriesAdded == 0)
        }
        #expect(f.loop.state.withLock { $0.ingester.cache.count } == entries)
        #expect(f.value(#"requests_total{code="200", \#(labels)}"#) == Double(f.clock.now))
    }

    @Test func aPageThatKeepsFailingAtItsEndKeepsItsSeriesCached() {
        let f = ScrapeFixture(target: Self.node)
        let good = (0..<100).map { "s\($0) 1\n" }.joined()
        #expect(f.ingest(good).up)
        for _ in 0..<3 {
            f.clock.now += 15_000
            let report = f.ingest(good + "broken{\n")
            #expect(report.error?.kind == .parse)
            #expect(f.loop.state.withLock { $0.ingester.cache.count } == 100)
        }
        #expect(f.loop.failures == [.parse: 3])
        f.clock.now += 15_000
        let recovered = f.ingest(good)
        #expect(recovered.up && recovered.seriesAdded == 0, "the series stayed in the store and the cache")
    }

    @Test func theCacheForgetsVanishedSeries() {
        let f = ScrapeFixture(target: Self.node)
        for round in 0..<20 {
            f.clock.now += 15_000
            let page = (0..<50).map { "churn_\(round)_\($0) 1\n" }.joined()
            #expect(f.ingest(page).up)
        }
        #expect(f.loop.state.withLock { $0.ingester.cache.count } <= 2 * 50 + 64)
    }

    @Test func anExpiredSeriesIsRecreatedFromTheCachedKey() {
        var config = StoreConfig()
        config.expireAfter = 60_000
        let f = ScrapeFixture(target: Self.node, storeConfig: config)
        f.ingest(#"m{a="x\"y"} 1"# + "\nkeep 1\n")
        f.clock.now += 15_000
        f.ingest("keep 2\n")
        f.clock.now += 120_000
        #expect(f.store.expireSilentSeries() > 0)
        f.ingest(#"m{a="x\"y"} 2"# + "\n")
        #expect(f.value(#"m{a="x\"y", \#(labels)}"#) == 2)
    }

    @Test func removingATargetMarksItsSeriesStale() {
        let f = ScrapeFixture(target: Self.node)
        f.ingest("a 1\nb 2\n")
        f.clock.now += 1000
        #expect(f.loop.markStale(at: f.clock.now) == 2)
        #expect(f.latest()["a{\(labels)}"]!.value.isStaleMarker)
    }

    @Test func theInstanceDefaultsToTheURLsHostAndPort() {
        #expect(ScrapeTarget.defaultInstance(of: "http://127.0.0.1:9100/metrics") == "127.0.0.1:9100")
        #expect(ScrapeTarget.defaultInstance(of: "https://example.org/metrics") == "example.org")
        #expect(ScrapeTarget.defaultInstance(of: "http://[::1]:8080/x") == "[::1]:8080")
        #expect(ScrapeTarget(url: "http://h:1/", job: "j", instance: "custom").instance == "custom")
    }
}
