import Foundation
import Testing
import TimeSeries

@testable import Ingest

/// TYPE, HELP and UNIT of a target's families, as its last successful scrape gave them.
@Suite struct MetricMetadataTests {
    static let page = """
        # HELP http_requests_total Requests, by code.\\nSecond line with a \\\\ backslash.
        # TYPE http_requests_total counter
        http_requests_total{code="200"} 3
        # HELP temperature_celsius The room.
        # TYPE temperature_celsius gauge
        temperature_celsius 21.5
        # TYPE rpc_seconds summary
        rpc_seconds_sum 1
        rpc_seconds_count 2
        # HELP only_help_but_no_samples Described, never sampled.

        """

    func fixture(limit: Int? = nil) -> ScrapeFixture {
        var target = ScrapeTarget(url: "http://127.0.0.1:9100/metrics", job: "node")
        if let limit { target.limits.metadataLimit = limit }
        return ScrapeFixture(target: target)
    }

    @Test func familiesAreKeptInPageOrderWithTheirHelpUnescaped() {
        let f = fixture()
        #expect(f.ingest(Self.page).up)
        #expect(f.loop.metadata == [
            MetricMetadata(family: "http_requests_total", type: .counter, help: "Requests, by code.\nSecond line with a \\ backslash.", unit: ""),
            MetricMetadata(family: "temperature_celsius", type: .gauge, help: "The room.", unit: ""),
            MetricMetadata(family: "rpc_seconds", type: .summary, help: "", unit: ""),
            MetricMetadata(family: "only_help_but_no_samples", type: .unknown, help: "Described, never sampled.", unit: ""),
        ])
    }

    @Test func openMetricsUnitsAndTypesAreKept() {
        let f = fixture()
        let om = """
            # TYPE queue_wait_seconds histogram
            # UNIT queue_wait_seconds seconds
            # HELP queue_wait_seconds Time queued.
            queue_wait_seconds_bucket{le="+Inf"} 3
            queue_wait_seconds_sum 2.5
            queue_wait_seconds_count 3
            # TYPE up_info info
            up_info_info 1
            # EOF

            """
        #expect(f.ingest(om, contentType: "application/openmetrics-text; version=1.0.0").up)
        #expect(f.loop.metadata == [
            MetricMetadata(family: "queue_wait_seconds", type: .histogram, help: "Time queued.", unit: "seconds"),
            MetricMetadata(family: "up_info", type: .info, help: "", unit: ""),
        ])
    }

    @Test func aFamilyGoneFromTheNextScrapeIsForgottenAndNewOnesAreAddedInPageOrder() {
        let f = fixture()
        #expect(f.ingest(Self.page).up)
        f.clock.now += 15_000
        let next = """
            # HELP fresh_total New.
            # TYPE fresh_total counter
            fresh_total 1
            # HELP temperature_celsius The room, again.
            # TYPE temperature_celsius gauge
            temperature_celsius 21
            # TYPE http_requests_total counter
            http_requests_total{code="200"} 4

            """
        #expect(f.ingest(next).up)
        #expect(f.loop.metadata == [
            MetricMetadata(family: "fresh_total", type: .counter, help: "New.", unit: ""),
            MetricMetadata(family: "temperature_celsius", type: .gauge, help: "The room, again.", unit: ""),
            // Its HELP line is gone: so is its help.
            MetricMetadata(family: "http_requests_total", type: .counter, help: "", unit: ""),
        ])
        // The same page again: nothing changes (the steady state takes no slow path).
        f.clock.now += 15_000
        #expect(f.ingest(next).up)
        #expect(f.loop.metadata.map(\.family) == ["fresh_total", "temperature_celsius", "http_requests_total"])
    }

    @Test func aFailedScrapeKeepsTheMetadataOfTheLastGoodOne() {
        let f = fixture()
        #expect(f.ingest(Self.page).up)
        f.clock.now += 15_000
        #expect(!f.ingest("# HELP broken Broken.\nbroken{ 1\n").up)
        #expect(f.loop.metadata.map(\.family) == ["http_requests_total", "temperature_celsius", "rpc_seconds", "only_help_but_no_samples"])
    }

    @Test func familiesBeyondTheLimitAreCountedNotKept() {
        let f = fixture(limit: 3)
        var page = ""
        for i in 0..<10 { page += "# HELP m\(i) Metric \(i).\n# TYPE m\(i) gauge\nm\(i) \(i)\n" }
        #expect(f.ingest(page).up, "the scrape itself succeeds")
        #expect(f.loop.metadata.map(\.family) == ["m0", "m1", "m2"])
        #expect(f.loop.metadataRefusals.familiesDropped == 7, "once per family, not per line")
        #expect(f.store.stats.series >= 10, "the samples are all stored")
    }

    @Test func aHugeHelpIsCutAtACharacterBoundaryAndCounted() {
        let f = fixture()
        // "é" is two bytes: 1023 bytes of "a" then "é" crosses the 1 KiB bound.
        let help = String(repeating: "a", count: 1023) + String(repeating: "é", count: 50_000)
        #expect(f.ingest("# HELP big \(help)\n# TYPE big gauge\nbig 1\n").up)
        let kept = f.loop.metadata.first?.help ?? ""
        #expect(kept == String(repeating: "a", count: 1023))
        #expect(f.loop.metadataRefusals.helpTruncated == 1)
        // The same huge page again is not counted again (nothing changed).
        f.clock.now += 15_000
        #expect(f.ingest("# HELP big \(help)\n# TYPE big gauge\nbig 1\n").up)
        #expect(f.loop.metadataRefusals.helpTruncated == 1)
    }

    @Test(arguments: [
        ("invalid UTF-8", "# HELP bad \u{FFFD}\u{FFFD} x\n# TYPE bad gauge\nbad 1\n"),
        ("an escape at the end", "# HELP bad trailing \\\n# TYPE bad gauge\nbad 1\n"),
        ("an empty help", "# HELP bad\n# TYPE bad gauge\nbad 1\n"),
        ("a TYPE before its HELP", "# TYPE bad gauge\n# HELP bad later\nbad 1\n"),
        ("two HELP lines", "# HELP bad one\n# HELP bad two\nbad 1\n"),
    ])
    func oddMetadataLinesAreKeptAsWritten(_ what: String, _ page: String) {
        let f = fixture()
        #expect(f.ingest(page).up, "\(what)")
        #expect(f.loop.metadata.count == 1, "\(what): \(f.loop.metadata)")
        #expect(f.loop.metadata.first?.family == "bad")
    }

    @Test func invalidUTF8InAHelpLineIsReplacedNotFatal() {
        let f = fixture()
        var bytes = Array("# HELP raw ".utf8)
        bytes += [0xFF, 0xFE, 0x41]
        bytes += Array("\n# TYPE raw gauge\nraw 1\n".utf8)
        let report = f.loop.ingest(bytes, contentType: "text/plain; version=0.0.4", at: f.clock.now)
        #expect(report.up)
        #expect(f.loop.metadata.first?.help == "\u{FFFD}\u{FFFD}A")
    }
}
