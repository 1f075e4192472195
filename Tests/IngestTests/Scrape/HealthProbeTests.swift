import JSON
import Foundation
import Testing
import TimeSeries

@testable import Ingest

/// Health targets: conditions on status, response time and JSON body, written as `probe_*` series.
@Suite(.serialized) struct HealthProbeTests {
    let server: TestServer
    let client = HTTPClient()
    let l = #"instance="svc", job="api-health""#

    init() throws {
        server = try TestServer()
    }

    static let expectations = HealthExpectations(
        statusCodes: [200], maxResponseTime: 2000,
        body: [
            BodyCondition(.json(path: "status", .equals("ok"))),
            BodyCondition(.json(path: "checks.db.latency_ms", .lessThan(100))),
            BodyCondition(.json(path: "checks.cache.hit_rate", .greaterOrEqual(0.7))),
            BodyCondition(.contains("\"version\"")),
        ])

    func fixture(_ url: String, _ expectations: HealthExpectations = HealthProbeTests.expectations, timeout: Milliseconds = 5000) -> ScrapeFixture {
        var target = ScrapeTarget(url: url, job: "api-health", instance: "svc", format: .health, timeout: timeout)
        target.health = expectations
        return ScrapeFixture(target: target, client: client)
    }

    func failed(_ f: ScrapeFixture, _ condition: String) -> Double? {
        f.value("probe_failed_condition{condition=\(quoted(condition)), \(l)}")
    }

    @Test func aHealthyEndpointPassesEveryCondition() async throws {
        let f = fixture(server.url("/pages/health.1"))
        let report = await f.loop.scrape()
        #expect(report.up, "\(String(describing: report.error))")
        #expect(f.value("probe_success{\(l)}") == 1)
        #expect(f.value("up{\(l)}") == 1)
        #expect(f.value("probe_http_status_code{\(l)}") == 200)
        let size = try Data(contentsOf: fixturesDirectory.appendingPathComponent("pages/health.1")).count
        #expect(f.value("probe_http_content_length{\(l)}") == Double(size))
        #expect((f.value("probe_duration_seconds{\(l)}") ?? 0) > 0)
        #expect(f.value("probe_consecutive_failures{\(l)}") == 0)
        for condition in [
            "response received", "status == 200", "response_time < 2s", #"body.status == "ok""#, "body.checks.db.latency_ms < 100",
            "body.checks.cache.hit_rate >= 0.7", #"body contains "\"version\"""#,
        ] {
            #expect(failed(f, condition) == 0, "\(condition): \(f.seriesNames())")
        }
    }

    @Test func failedConditionsAreNamedAndConsecutiveFailuresCounted() async throws {
        let f = fixture(server.url("/sequence/health"))
        #expect(await f.loop.scrape().up)
        f.clock.now += 10_000
        let degraded = await f.loop.scrape()
        #expect(degraded.error?.description == #"body.status == "ok" failed: got "degraded""#)
        #expect(f.value("probe_success{\(l)}") == 0)
        #expect(f.value("up{\(l)}") == 0)
        #expect(failed(f, #"body.status == "ok""#) == 1)
        #expect(failed(f, "body.checks.db.latency_ms < 100") == 1)
        #expect(failed(f, "body.checks.cache.hit_rate >= 0.7") == 1)
        #expect(failed(f, "status == 200") == 0)
        #expect(f.value("probe_consecutive_failures{\(l)}") == 1)
        f.clock.now += 10_000
        _ = await f.loop.scrape()
        #expect(f.value("probe_consecutive_failures{\(l)}") == 2)
        #expect(f.loop.consecutiveFailures == 2)
        f.clock.now += 10_000
        #expect(await f.loop.scrape().up)
        #expect(f.value("probe_consecutive_failures{\(l)}") == 0)
        #expect(failed(f, #"body.status == "ok""#) == 0)
    }

    @Test(arguments: [(503, [Int]()), (503, [200]), (404, [200, 204])])
    func anUnexpectedStatusFails(status: Int, expected: [Int]) async throws {
        let f = fixture(server.url("/status/\(status)"), HealthExpectations(statusCodes: expected))
        let report = await f.loop.scrape()
        let name = HealthExpectations(statusCodes: expected).statusConditionName
        #expect(report.error?.description == "\(name) failed: got \(HTTPResponse.statusText(status))")
        #expect(f.value("probe_http_status_code{\(l)}") == Double(status))
        #expect(failed(f, name) == 1)
        #expect(failed(f, "response received") == 0)
    }

    @Test func anExpectedNonSuccessStatusPasses() async throws {
        let f = fixture(server.url("/status/418"), HealthExpectations(statusCodes: [418]))
        #expect(await f.loop.scrape().up)
    }

    @Test func noResponseFailsEveryConditionAndWritesNoStatus() async throws {
        let f = fixture("http://127.0.0.1:\(unusedLoopbackPort())/health")
        let report = await f.loop.scrape()
        #expect(report.error?.description.hasPrefix("response received failed: connection failed") == true, "\(String(describing: report.error))")
        #expect(f.value("probe_http_status_code{\(l)}") == 0)
        #expect(f.value("probe_http_content_length{\(l)}") == -1)
        #expect(failed(f, "response received") == 1)
        #expect(failed(f, "status == 200") == 1)
        #expect(failed(f, #"body.status == "ok""#) == 1)
    }

    @Test func aSlowAnswerFailsTheResponseTimeCondition() async throws {
        let f = fixture(server.url("/respond?delay_ms=400&body=%7B%7D"), HealthExpectations(maxResponseTime: 100))
        let report = await f.loop.scrape()
        #expect(report.error?.description.hasPrefix("response_time < 100ms failed: took") == true, "\(String(describing: report.error))")
        #expect(failed(f, "response_time < 100ms") == 1)
        #expect(failed(f, "status == 2xx") == 0)
    }

    @Test func aTimeoutIsNoResponse() async throws {
        let f = fixture(server.url("/slow?ms=3000"), HealthExpectations(), timeout: 200)
        let report = await f.loop.scrape()
        #expect(report.error?.description.hasPrefix("response received failed: timed out after 200ms") == true, "\(String(describing: report.error))")
    }

    @Test func removingAHealthTargetMarksItsSeriesStale() async throws {
        let f = fixture(server.url("/pages/health.1"))
        _ = await f.loop.scrape()
        #expect(f.loop.markStale(at: f.clock.now + 1) == 6 + 7)
        #expect(f.latest()["probe_success{\(l)}"]?.value.isStaleMarker == true)
    }

}

/// Health conditions evaluated on responses made up in the test (no server).
@Suite struct HealthConditionTests {
    static let document: [UInt8] = Array(
        #"{"status":"ok","code":200,"ratio":"0.5","up":true,"none":null,"items":[{"name":"a"},{"name":"b"}],"nested":{"deep":{"x":[1,2,3]}}}"#.utf8)

    func check(_ path: String, _ condition: JSONCondition, body: [UInt8] = HealthConditionTests.document) -> String? {
        var target = ScrapeTarget(url: "http://x/", format: .health)
        target.health = HealthExpectations(body: [BodyCondition(.json(path: path, condition))])
        let probe = HealthProbe(target: target)
        let outcome = probe.evaluate(.success(HTTPResponse(status: 200, body: body)), responseTime: .milliseconds(1))
        return outcome.conditions.last!.failure
    }

    @Test(arguments: [
        ("status", JSONCondition.equals("ok"), nil),
        ("$.status", .equals("ok"), nil),
        ("status", .equals("OK"), #"got "ok""#),
        ("status", .notEquals("down"), nil),
        ("status", .notEquals("ok"), #"got "ok""#),
        ("status", .matches("o."), nil),
        ("status", .matches("o"), #"got "ok""#),
        ("code", .equals("200"), nil),
        ("code", .equals("200.0"), nil),
        ("code", .lessThan(300), nil),
        ("code", .greaterThan(300), "got 200"),
        ("ratio", .lessOrEqual(0.5), nil),
        ("status", .lessThan(1), #"got "ok", not a number"#),
        ("up", .equals("true"), nil),
        ("up", .equals("1"), #"got "true""#),
        ("none", .exists, "null"),
        ("none", .notEquals("x"), nil),
        ("missing", .exists, "missing is missing"),
        ("items[1].name", .equals("b"), nil),
        ("items[2].name", .equals("b"), "items[2] is out of range (2 elements)"),
        ("items.name", .equals("b"), "items is not an object"),
        ("status[0]", .exists, "status is not an array"),
        ("nested.deep.x[2]", .greaterOrEqual(3), nil),
        ("nested.deep", .equals(#"{"x":[1,2,3]}"#), nil),
        ("items[x]", .exists, #"invalid path "items[x]""#),
    ] as [(String, JSONCondition, String?)])
    func jsonConditionsCompareLikeAPersonWouldExpect(path: String, condition: JSONCondition, failure: String?) {
        #expect(check(path, condition) == failure)
    }

    @Test func aBodyThatIsNotJSONFailsJSONConditions() {
        #expect(check("status", .exists, body: Array("<html>".utf8)) == "the body is not JSON")
        #expect(check("status", .exists, body: []) == "the body is not JSON")
    }

    @Test func anInvalidPatternFailsItsConditionAndSaysSo() {
        #expect(check("status", .matches("(")) == #"invalid regular expression "(": missing closing ): `(`"#)
        #expect(check("status", .matches("(?=ok)")) == #"invalid regular expression "(?=ok)": invalid or unsupported Perl syntax: `(?=`"#)
    }

    @Test func aPatternIsCheckedBeforeAnyProbeWithGoReasons() {
        #expect(JSONCondition.problem(withPattern: #"ok|degraded \(\d+\)"#) == nil)
        #expect(JSONCondition.problem(withPattern: "(") == #"invalid regular expression "(": missing closing ): `(`"#)
        #expect(JSONCondition.problem(withPattern: #"(ok)\1"#) == #"invalid regular expression "(ok)\\1": invalid escape sequence: `\1`"#)
    }

    @Test func aPatternMatchesTheWholeValueAndItsDotMatchesANewline() {
        let body = Array(#"{"status": "ok\nfine"}"#.utf8)
        #expect(check("status", .matches("ok.fine"), body: body) == nil)
        #expect(check("status", .matches("fine"), body: body) != nil)
        #expect(check("status", .matches("(?-s:ok.fine)"), body: body) != nil)
    }

    @Test func conditionNamesReadLikeTheConfiguration() {
        #expect(BodyCondition(.json(path: "a.b", .equals("ok"))).name == #"body.a.b == "ok""#)
        #expect(BodyCondition(.json(path: "p", .lessThan(99.5))).name == "body.p < 99.5")
        #expect(BodyCondition(.contains("x\"y")).name == #"body contains "x\"y""#)
        #expect(BodyCondition(.notContains("error")).name == #"body does not contain "error""#)
        #expect(HealthExpectations(statusCodes: [200, 204]).statusConditionName == "status in [200, 204]")
    }
}
