import Testing
import Query
import TimeSeries

@Suite("Test runner")
struct TestRunnerTests {
    static let expansions: [(String, [SeriesValue])] = [
        ("1 2 3", [.value(1), .value(2), .value(3)]),
        ("0+10x3", [.value(0), .value(10), .value(20), .value(30)]),
        ("10-2x2", [.value(10), .value(8), .value(6)]),
        ("-1+1x2", [.value(-1), .value(0), .value(1)]),
        ("1e3+1e3x1", [.value(1000), .value(2000)]),
        ("5x2", [.value(5), .value(5), .value(5)]),
        ("_ 1 _x3 2", [.missing, .value(1), .missing, .missing, .missing, .value(2)]),
        ("1 stale 2", [.value(1), .stale, .value(2)]),
        ("Inf -Inf", [.value(.infinity), .value(-.infinity)]),
        // No hexadecimal in series values (Prometheus's lexer disallows it): `0x3` is 0 repeated.
        ("0x3", [.value(0), .value(0), .value(0), .value(0)]),
        ("1x4 0x3", Array(repeating: .value(1), count: 5) + Array(repeating: .value(0), count: 4)),
        ("-0x1 +0x1", [.value(-0.0), .value(-0.0), .value(0), .value(0)]),
        ("0+0x2", [.value(0), .value(0), .value(0)]),
        ("  1\t2  ", [.value(1), .value(2)]),
        ("", []),
    ]

    @Test("values expand as in promtool", arguments: expansions)
    func expansion(_ text: String, _ expected: [SeriesValue]) throws {
        #expect(try SeriesNotation.parseValues(text) == expected)
    }

    @Test func nanValuesAreKept() throws {
        let v = try SeriesNotation.parseValues("NaN")
        guard case .value(let x) = v.first else { Issue.record("\(v)"); return }
        #expect(x.isNaN)
    }

    static let badValues = ["1+", "abc", "1+1", "stalex2", "1x99999999999", "0+1x2000000", "--1", "1+1xa", "0x1f", "0X10", "0x"]

    @Test("malformed values are errors", arguments: badValues)
    func badValue(_ text: String) {
        #expect(throws: QueryError.self) { try SeriesNotation.parseValues(text) }
    }

    @Test func seriesDescriptionsGiveLabelSets() throws {
        #expect(try SeriesNotation.parseSeries("up{job=\"api\", instance=\"a:1\"}") == Labels(name: "up", ["job": "api", "instance": "a:1"]))
        #expect(try SeriesNotation.parseSeries("{__name__=\"up\"}") == Labels(name: "up"))
        #expect(throws: QueryError.self) { try SeriesNotation.parseSeries("up{job=~\"a.*\"}") }
        #expect(throws: QueryError.self) { try SeriesNotation.parseSeries("rate(up[5m])") }
    }

    @Test func failuresReadLikePromtool() throws {
        let store = try TestStore.make([try InputSeries(series: "up{job=\"api\"}", values: "1 1 0")], interval: 60_000)
        let engine = Engine(store: store)
        let passing = ExpressionTestCase(expr: "up == 0", evalTime: 120_000, expected: [try ExpectedSample(labels: "up{job=\"api\"}", value: 0)])
        #expect(ExpressionTester.run(passing, engine: engine) == nil)
        let failing = ExpressionTestCase(expr: "up", evalTime: 60_000, expected: [try ExpectedSample(labels: "up{job=\"api\"}", value: 0)])
        #expect(ExpressionTester.run(failing, engine: engine)
            == "    expr: \"up\", time: 1m0s,\n        exp: {__name__=\"up\", job=\"api\"} 0E+00\n        got: {__name__=\"up\", job=\"api\"} 1E+00")
        let empty = ExpressionTestCase(expr: "up > 5", evalTime: 90_000, expected: [try ExpectedSample(labels: "up", value: 1.5)])
        #expect(ExpressionTester.run(empty, engine: engine)?.hasSuffix("exp: {__name__=\"up\"} 1.5E+00\n        got: nil") == true)
        let broken = ExpressionTestCase(expr: "rate(up)", evalTime: 0, expected: [])
        #expect(ExpressionTester.run(broken, engine: engine) == "    expr: \"rate(up)\", time: 0s, err: 1:6: expected type range vector in call to function \"rate\", got instant vector")
        let scalar = ExpressionTestCase(expr: "scalar(up)", evalTime: 0, expected: [try ExpectedSample(labels: "{}", value: 1)])
        #expect(ExpressionTester.run(scalar, engine: engine) == nil)
    }

    @Test func durationsPrintAsGoDoes() {
        let cases: [(Milliseconds, String)] = [(0, "0s"), (500, "500ms"), (1000, "1s"), (60_000, "1m0s"), (90_000, "1m30s"), (5_400_000, "1h30m0s"), (1_500, "1.5s"), (86_400_000, "24h0m0s")]
        for (ms, text) in cases { #expect(ExpressionTester.goDuration(ms) == text) }
    }

    @Test func testStoreRefusesInputItCannotHold() {
        #expect(throws: QueryError.self) { try TestStore.make([try InputSeries(series: "x", values: "0+1x1500000")], interval: 1000) }
        #expect(throws: QueryError.self) { try TestStore.make([], interval: 0) }
    }
}
