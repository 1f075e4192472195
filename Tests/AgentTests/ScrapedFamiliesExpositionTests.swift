import Foundation
import Ingest
import Testing
import TimeSeries
@testable import AgentDaemon

/// `expose: all` with scraped histograms and summaries: each is one family again, as its target
/// wrote it, with the target's HELP, so that promtool and a central Prometheus read it as such.
@Suite struct ScrapedFamiliesExpositionTests {
    static let now: Timestamp = 1_700_000_000_000
    static let page = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("IngestTests/Scrape/Fixtures/pages/histograms.prom")

    /// A store holding one scrape of `body` and the target's metadata.
    static func scraped(_ body: String, contentType: String = "text/plain; version=0.0.4") -> (SeriesStore, [String: MetricMetadata]) {
        let store = SeriesStore(config: StoreConfig(), clock: { now })
        let loop = ScrapeLoop(target: ScrapeTarget(url: "http://127.0.0.1:9100/metrics", job: "web"), store: store, client: testHTTPClient)
        let report = loop.ingest(Array(body.utf8), contentType: contentType, at: now - 1_000)
        #expect(report.up, "\(String(describing: report.error))")
        var metadata: [String: MetricMetadata] = [:]
        for m in loop.metadata { metadata[m.family] = m }
        return (store, metadata)
    }

    static func render(_ store: SeriesStore, _ metadata: [String: MetricMetadata]) -> (text: String, skipped: Int) {
        var exposition = StoreExposition(store: store, externalLabels: Labels(["host": "api-1"]))
        exposition.metadata = metadata
        let (families, skipped) = exposition.families { _, _ in false }
        var w = ExpositionWriter()
        let more = exposition.write(families, now: now, into: &w)
        return (String(decoding: w.bytes, as: UTF8.self), skipped + more)
    }

    @Test func aScrapedHistogramIsOneFamilyWithBucketsInOrderThenSumAndCountPerLabelSet() throws {
        let (store, metadata) = Self.scraped(try String(contentsOf: Self.page, encoding: .utf8))
        let (text, skipped) = Self.render(store, metadata)
        #expect(skipped == 0)
        let lines = text.split(separator: "\n").map(String.init)
        let start = try #require(lines.firstIndex(of: "# HELP http_request_duration_seconds How long the service took to answer, by route."))
        #expect(lines[start + 1] == "# TYPE http_request_duration_seconds histogram")
        let family = lines[(start + 2)...].prefix { !$0.hasPrefix("#") }
        let names = family.map { String($0.prefix { $0 != "{" }) }
        let perRoute = Array(repeating: "http_request_duration_seconds_bucket", count: 6) + ["http_request_duration_seconds_sum", "http_request_duration_seconds_count"]
        #expect(names == perRoute + perRoute, "\(family)")
        let les = family.prefix(6).map { line in line.components(separatedBy: "le=\"")[1].prefix { $0 != "\"" } }
        #expect(les == ["0.05", "0.1", "0.25", "0.5", "1", "+Inf"])
        #expect(family.first == #"http_request_duration_seconds_bucket{instance="127.0.0.1:9100",job="web",le="0.05",route="/api",host="api-1"} 24054 \#(Self.now - 1_000)"#)
        #expect(!text.contains("TYPE http_request_duration_seconds_bucket"), "no family of its own for the buckets")
        #expect(!text.contains("Stored by the agent: the newest total.\n# TYPE http_request_duration_seconds"))
    }

    @Test func aScrapedSummaryIsOneFamilyWithItsQuantilesSumAndCount() throws {
        let (store, metadata) = Self.scraped(try String(contentsOf: Self.page, encoding: .utf8))
        let (text, _) = Self.render(store, metadata)
        let expected = """
            # HELP rpc_duration_seconds RPC latency, as the client library summarises it.
            # TYPE rpc_duration_seconds summary
            rpc_duration_seconds{instance="127.0.0.1:9100",job="web",quantile="0.01",host="api-1"} 3102 1699999999000
            rpc_duration_seconds{instance="127.0.0.1:9100",job="web",quantile="0.05",host="api-1"} 3272 1699999999000
            rpc_duration_seconds{instance="127.0.0.1:9100",job="web",quantile="0.5",host="api-1"} 4773 1699999999000
            rpc_duration_seconds{instance="127.0.0.1:9100",job="web",quantile="0.9",host="api-1"} 9001 1699999999000
            rpc_duration_seconds{instance="127.0.0.1:9100",job="web",quantile="0.99",host="api-1"} 76656 1699999999000
            rpc_duration_seconds_sum{instance="127.0.0.1:9100",job="web",host="api-1"} 17560473 1699999999000
            rpc_duration_seconds_count{instance="127.0.0.1:9100",job="web",host="api-1"} 2693 1699999999000

            """
        #expect(text.contains(expected), "\(text)")
        #expect(text.contains("# HELP http_requests_total Requests answered, by status code.\n# TYPE http_requests_total counter\n"))
        #expect(text.contains("# HELP temperature_celsius The room's temperature.\n# TYPE temperature_celsius gauge\n"))
    }

    @Test func promtoolFindsNoProblemOnAPageWithScrapedHistogramsAndSummaries() throws {
        let (store, metadata) = Self.scraped(try String(contentsOf: Self.page, encoding: .utf8))
        let (text, _) = Self.render(store, metadata)
        let result = try promtoolCheckMetrics(text)
        #expect(result.status == 0, "promtool check metrics: exit \(result.status)\n\(result.output)\n\(text)")
        // The same page without the targets' metadata is what the agent wrote before: split
        // families with new HELP texts, which promtool's linter faults.
        let (bare, _) = Self.render(store, [:])
        #expect(try promtoolCheckMetrics(bare).status != 0)
    }

    @Test func anOpenMetricsCounterAndInfoTakeTheirFamilysHelpAndUnitsAreKept() {
        let body = """
            # TYPE jobs counter
            # HELP jobs Jobs run.
            jobs_total 3
            # TYPE build info
            # HELP build Build information.
            build_info{version="1.2"} 1
            # TYPE queue_wait_seconds histogram
            # UNIT queue_wait_seconds seconds
            # HELP queue_wait_seconds Time spent queued.
            queue_wait_seconds_bucket{le="1"} 2
            queue_wait_seconds_bucket{le="+Inf"} 3
            queue_wait_seconds_sum 2.5
            queue_wait_seconds_count 3
            queue_wait_seconds_created 1699990000
            # EOF

            """
        let (store, metadata) = Self.scraped(body, contentType: "application/openmetrics-text; version=1.0.0")
        #expect(metadata["queue_wait_seconds"] == MetricMetadata(family: "queue_wait_seconds", type: .histogram, help: "Time spent queued.", unit: "seconds"))
        let (text, skipped) = Self.render(store, metadata)
        #expect(skipped == 0)
        #expect(text.contains("# HELP jobs_total Jobs run.\n# TYPE jobs_total counter\n"), "\(text)")
        #expect(text.contains("# HELP build_info Build information.\n# TYPE build_info gauge\n"), "\(text)")
        #expect(text.contains("# TYPE queue_wait_seconds histogram\n"), "\(text)")
        #expect(text.contains("# TYPE queue_wait_seconds_created gauge\n"), "_created stays a series of its own: \(text)")
    }

    @Test func aBucketWithoutANumericLeIsLeftOutAndCounted() {
        let body = """
            # HELP h A histogram with a broken bucket.
            # TYPE h histogram
            h_bucket{le="0.5"} 1
            h_bucket{le="half"} 2
            h_bucket{le="+Inf"} 3
            h_sum 1
            h_count 3

            """
        let (store, metadata) = Self.scraped(body)
        let (text, skipped) = Self.render(store, metadata)
        #expect(skipped == 1)
        #expect(!text.contains("half"))
        #expect(text.contains(#"h_bucket{instance="127.0.0.1:9100",job="web",le="+Inf",host="api-1"} 3"#))
    }

    @Test func federationWritesAnEmptyInstanceOnSeriesWithoutOne() {
        var w = ExpositionWriter()
        w.sample("x", Labels(["job": "a"]), adding: Labels(["host": "h"]), blank: "instance", value: 1, timestamp: 5)
        w.sample("x", Labels(["job": "a", "instance": "i"]), adding: Labels(["host": "h"]), blank: "instance", value: 1, timestamp: 5)
        w.sample("x", Labels(["job": "a"]), adding: Labels(["instance": "from-external"]), blank: "instance", value: 1, timestamp: 5)
        #expect(String(decoding: w.bytes, as: UTF8.self) == """
            x{job="a",host="h",instance=""} 1 5
            x{instance="i",job="a",host="h"} 1 5
            x{job="a",instance="from-external"} 1 5

            """)
    }
}
