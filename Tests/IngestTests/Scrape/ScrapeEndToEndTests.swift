import Foundation
import Testing
import TimeSeries

@testable import Ingest

/// Whole scrapes through libcurl against the Python test server on 127.0.0.1.
@Suite(.serialized) struct ScrapeEndToEndTests {
    let server: TestServer
    let client = HTTPClient()

    init() throws {
        server = try TestServer()
    }

    func fixture(_ path: String, configure: (inout ScrapeTarget) -> Void = { _ in }) -> ScrapeFixture {
        var target = ScrapeTarget(url: server.url(path), job: "test", instance: "i")
        configure(&target)
        return ScrapeFixture(target: target, client: client)
    }

    @Test func everyEdgeCaseOfTheTextPageIsStored() async throws {
        let f = fixture("/pages/edge-cases.prom")
        let report = await f.loop.scrape()
        #expect(report.up, "\(String(describing: report.error))")
        #expect(report.format == .prometheusText)
        #expect(report.httpStatus == 200)
        let l = #"instance="i", job="test""#
        let latest = f.latest()
        #expect(latest[#"http_requests_total{code="400", \#(l), method="post"}"#]?.value == 3)
        #expect(latest[#"msdos_file_access_time_seconds{error="Cannot find file:\n\"FILE.TXT\"", \#(l), path="C:\\DIR\\FILE.TXT"}"#]?.value == 1.458255915e9)
        #expect(latest[#"untouched_escape{\#(l), v="a\\tb"}"#]?.value == 1)
        #expect(latest["indented_metric{\(l)}"]?.value == 5)
        #expect(latest[#"rpc_duration_seconds{\#(l), quantile="0.99"}"#]?.value.isNaN == true)
        #expect(latest["negative_infinity{\(l)}"]?.value == -.infinity)
        #expect(latest["no_final_newline{\(l)}"]?.value == 42)
        #expect(report.samplesScraped == 16)
        #expect(latest.count == 16 + 5)
    }

    @Test func everyEdgeCaseOfTheOpenMetricsPageIsStored() async throws {
        let f = fixture("/pages/edge-cases.om")
        let report = await f.loop.scrape()
        #expect(report.up, "\(String(describing: report.error))")
        #expect(report.format == .openMetrics)
        let l = #"instance="i", job="test""#
        let latest = f.latest()
        #expect(latest["process_cpu_seconds_total{\(l)}"]?.value == 4.20072246e+06)
        #expect(f.kind("process_cpu_seconds_total{\(l)}") == .counter)
        #expect(latest[#"rpc_latency_seconds_bucket{\#(l), le="+Inf"}"#]?.value == 17)
        #expect(latest[#"escapes{error="Cannot find file:\n\"FILE.TXT\"", \#(l), path="C:\\DIR\\FILE.TXT", unicode="ünïcödé ✓"}"#]?.value == -.infinity)
        #expect(latest[#"build_info{\#(l), revision="abc", version="1.2.3"}"#]?.value == 1)
        #expect(latest[#"feature{feature="b", \#(l)}"#]?.value == 0)
        #expect(latest[#"acme_http_router_request_seconds_created{\#(l), method="GET", path="/api/v1"}"#]?.value == 1_605_281_325)
        #expect(report.samplesScraped == 14)
    }

    @Test func aGzippedPageIsTheSamePage() async throws {
        let plain = fixture("/pages/edge-cases.om")
        let zipped = fixture("/pages/edge-cases.om?gzip=1")
        let a = await plain.loop.scrape()
        let b = await zipped.loop.scrape()
        #expect(a.up && b.up)
        #expect(a.bodyBytes == b.bodyBytes, "the body is counted decompressed")
        let left = plain.latest().filter { !$0.key.hasPrefix("scrape_duration") }
        let right = zipped.latest().filter { !$0.key.hasPrefix("scrape_duration") }
        #expect(left.count == right.count)
        for (series, sample) in left {
            #expect(right[series]?.value.bitPattern == sample.value.bitPattern, "\(series)")
        }
    }

    @Test func aMalformedPageFailsWithItsLineAndWritesNothingOfIt() async throws {
        let f = fixture("/pages/malformed.prom")
        let report = await f.loop.scrape()
        #expect(report.error?.description == "line 2: expected \",\" or \"}\" after a label value, got \"2\"")
        #expect(report.error?.kind == .parse)
        #expect(f.value(#"good_metric{instance="i", job="test"}"#) == nil)
        #expect(f.value(#"up{instance="i", job="test"}"#) == 0)
        #expect(f.loop.lastReport?.error == report.error)
    }

    @Test(arguments: [500, 503, 404])
    func anErrorStatusIsADownTarget(status: Int) async throws {
        let f = fixture("/status/\(status)")
        let report = await f.loop.scrape()
        #expect(report.error?.description == "server returned HTTP status \(HTTPResponse.statusText(status))")
        #expect(report.httpStatus == status)
        #expect(f.value(#"up{instance="i", job="test"}"#) == 0)
    }

    @Test func aRefusedConnectionIsADownTarget() async throws {
        var target = ScrapeTarget(url: "http://127.0.0.1:\(unusedLoopbackPort())/metrics", job: "test", instance: "i")
        target.timeout = 2000
        let f = ScrapeFixture(target: target, client: client)
        let report = await f.loop.scrape()
        #expect(report.error?.kind == .http)
        #expect(report.error?.message.hasPrefix("connection failed") == true, "\(String(describing: report.error))")
        #expect(f.value(#"up{instance="i", job="test"}"#) == 0)
    }

    @Test func aSlowTargetTimesOutAtItsScrapeTimeout() async throws {
        let f = fixture("/slow?ms=5000") { $0.timeout = 300 }
        let started = ContinuousClock.now
        let report = await f.loop.scrape()
        #expect(report.error?.message.hasPrefix("timed out after 300ms") == true, "\(String(describing: report.error))")
        #expect(ContinuousClock.now - started < .seconds(3))
    }

    @Test func aBodyPastTheLimitFailsTheScrape() async throws {
        let f = fixture("/endless") { $0.limits.bodySizeLimit = 1 << 20 }
        let report = await f.loop.scrape()
        #expect(report.error?.message.hasPrefix("response body exceeds the limit of 1 MiB") == true, "\(String(describing: report.error))")
    }

    @Test func aTickDuringARunningScrapeIsSkipped() async throws {
        let f = fixture("/slow?ms=600")
        let done = AsyncStreamBox()
        #expect(f.loop.scrapeOnce { _ in done.finish() })
        #expect(!f.loop.scrapeOnce())
        #expect(f.loop.overlaps == 1)
        await done.wait()
        #expect(f.loop.scrapeOnce())
    }

    @Test func seriesThatVanishBetweenScrapesAreMarkedStale() async throws {
        let f = fixture("/sequence/churn")
        #expect(await f.loop.scrape().up)
        f.clock.now += 15_000
        let second = await f.loop.scrape()
        #expect(second.staleMarkers == 1)
        #expect(f.latest()[#"seq_b{instance="i", job="test"}"#]?.value.isStaleMarker == true)
        #expect(f.value(#"seq_a{instance="i", job="test"}"#) == 2)
    }

    @Test func theScrapeAsksForOpenMetricsAndSendsTheTargetsHeaders() async throws {
        let dir = try makeTemporaryDirectory("scrape-secret")
        try "the-token\n".write(toFile: dir + "/token", atomically: true, encoding: .utf8)
        let f = fixture("/echo") {
            $0.http.headers = [HTTPHeader("X-Tenant", "a")]
            $0.http.authorization = .bearer(tokenFile: dir + "/token")
            $0.timeout = 7000
        }
        let request = f.loop.request(bodySizeHint: 0)
        let response = try await client.send(request)
        let echo = try #require(JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        let headers = try #require(echo["headers"] as? [String: String])
        #expect(headers["accept"] == ExpositionFormat.acceptHeader)
        #expect(headers["x-prometheus-scrape-timeout-seconds"] == "7.0")
        #expect(headers["x-tenant"] == "a")
        #expect(headers["authorization"] == "Bearer the-token")
        #expect(headers["accept-encoding"] == "gzip")
    }

    @Test func tlsTargetsVerifyAgainstTheirCAFile() async throws {
        let tls = try TLSFixture()
        let secure = try TestServer(tls: tls)
        let untrusted = ScrapeFixture(target: ScrapeTarget(url: secure.url("/pages/simple.prom")), client: client)
        let failed = await untrusted.loop.scrape()
        #expect(failed.error?.message.contains("TLS certificate verification failed") == true, "\(String(describing: failed.error))")
        var target = ScrapeTarget(url: secure.url("/pages/simple.prom"))
        target.http.tls = TLSOptions(caFile: tls.caCert)
        let trusted = ScrapeFixture(target: target, client: client)
        #expect(await trusted.loop.scrape().up)
    }
}
