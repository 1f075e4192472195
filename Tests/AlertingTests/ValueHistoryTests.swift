import Query
import Testing
import TimeSeries
@testable import Alerting

@Suite("Value history of firing alerts")
struct ValueHistoryTests {
    static let minute: Milliseconds = 60_000

    /// `latency_ms` per route, one sample per minute from minute 0 (NaN: no sample that minute).
    func store(_ values: [String: [Double]]) -> SeriesStore {
        let store = SeriesStore(config: StoreConfig(resolution: 15_000, retention: 7_200_000), clock: { 7_200_000 })
        store.write { w in
            for (route, series) in values {
                let ref = w.ref(for: Labels(name: "latency_ms", ["route": route]), kind: .gauge)!
                for (i, v) in series.enumerated() where !v.isNaN { _ = w.append(ref, value: v, at: Int64(i) * Self.minute) }
            }
        }
        return store
    }

    func group(_ yaml: String, _ store: SeriesStore, lookback: Milliseconds = 300_000) throws -> RuleGroup {
        let file = try RuleFile.parse(yaml, path: "h.yaml")
        return RuleGroup(file.groups[0], file: "h.yaml", engine: Engine(store: store, lookback: lookback), externalLabels: Labels(["host": "h1"]))
    }

    func firing(_ g: RuleGroup) -> [Alert] { g.alerts().filter { $0.state == .firing } }

    static let ramp = (0..<40).map { Double(100 + 10 * $0) }

    @Test(arguments: [
        ("x > 0.05", "x"),
        ("0.7 > x", "x"),
        ("(x >= 1)", "x"),
        ("sum by (job) (rate(x[5m])) / sum by (job) (rate(y[5m])) > 0.05", "sum by (job) (rate(x[5m])) / sum by (job) (rate(y[5m]))"),
        ("x > bool 1", "x > bool 1"),
        ("x > y", "x > y"),
        ("x > 1 and y", "x > 1 and y"),
        ("absent(x)", "absent(x)"),
        ("x + 1 > scalar(y)", "x + 1"),
    ])
    func theValueOfAThresholdRuleIsTheVectorSideOfItsComparison(expr: String, value: String) throws {
        let file = try RuleFile.parse("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: '\(expr)'\n", path: "v.yaml")
        let rule = file.groups[0].rules[0]
        #expect("\(rule.valueExpression)" == "\(try PromQL.parse(value))")
    }

    @Test func aTieredRulesExpressionIsItsValue() throws {
        let file = try RuleFile.parse("""
            groups:
              - name: g
                rules:
                  - alert: A
                    expr: latency_ms
                    tiers:
                      - {severity: critical, above: 300}
            """, path: "v.yaml")
        #expect("\(file.groups[0].rules[0].valueExpression)" == "latency_ms")
    }

    @Test func aTieredAlertsHistoryIsItsExpressionEveryMinuteForThirtyMinutesEndingAtItsValue() throws {
        let s = store(["/a": Self.ramp, "/b": Array(repeating: 50, count: 40)])
        let g = try group("""
            groups:
              - name: api
                labels: {team: core}
                rules:
                  - alert: Slow
                    expr: latency_ms
                    labels: {page: "{{ $labels.route }}"}
                    tiers:
                      - {severity: critical, above: 400}
                      - {severity: high, above: 300}
            """, s)
        let t = 39 * Self.minute
        g.evaluate(at: t)
        let alert = try #require(firing(g).first)
        #expect(firing(g).count == 1)
        #expect(alert.evaluatedAt == t)
        #expect(alert.severity == "critical")
        let histories = try g.valueHistory(rule: "Slow", alerts: [alert.labels: alert.value], evaluatedAt: t)
        let h = try #require(histories[alert.labels])
        #expect(h.end == t && h.step == Self.minute && h.steps == 30 && h.window == 30 * Self.minute)
        #expect(h.points.map(\.timestamp) == (10...39).map { Int64($0) * Self.minute })
        #expect(h.points.map(\.value) == Array(Self.ramp[10...39]))
        #expect(h.points.last?.value == alert.value)
        #expect(h.values == Array(Self.ramp[10...39]))
    }

    @Test func aThresholdRulesHistoryShowsTheMinutesItsConditionDidNotHold() throws {
        let s = store(["/a": Self.ramp])
        let g = try group("""
            groups:
              - name: api
                rules:
                  - alert: Slow
                    expr: latency_ms > 450
                    labels: {severity: high}
            """, s)
        let t = 39 * Self.minute
        g.evaluate(at: t)
        let alert = try #require(firing(g).first)
        let h = try #require(try g.valueHistory(rule: "Slow", alerts: [alert.labels: alert.value], evaluatedAt: t)[alert.labels])
        #expect(h.points.count == 30)
        #expect(h.points.first?.value == 200, "below the threshold, still shown")
        #expect(h.points.last?.value == 490)
    }

    @Test func anAlertSentWithTheExternalLabelsFindsItsHistory() throws {
        let s = store(["/a": Self.ramp])
        let g = try group("""
            groups:
              - name: api
                rules:
                  - alert: Slow
                    expr: latency_ms > 450
                    labels: {severity: high}
            """, s)
        let t = 39 * Self.minute
        g.evaluate(at: t)
        let sent = try #require(firing(g).first).addingExternalLabels(Labels(["host": "h1"]))
        #expect(sent.labels["host"] == "h1")
        let h = try #require(try g.valueHistory(rule: "Slow", alerts: [sent.labels: sent.value], evaluatedAt: t)[sent.labels])
        #expect(h.points.last?.value == 490)
    }

    @Test func onlyTheAlertsAskedForAreReturnedAndEachGetsItsOwnSeries() throws {
        let s = store(["/a": Self.ramp, "/b": Self.ramp.map { $0 * 2 }, "/c": Self.ramp.map { $0 * 3 }])
        let g = try group("""
            groups:
              - name: api
                rules:
                  - alert: Slow
                    expr: latency_ms > 100
            """, s)
        let t = 39 * Self.minute
        g.evaluate(at: t)
        let alerts = firing(g).filter { $0.identity["route"] != "/c" }
        #expect(alerts.count == 2)
        let histories = try g.valueHistory(rule: "Slow", alerts: Dictionary(uniqueKeysWithValues: alerts.map { ($0.labels, $0.value) }), evaluatedAt: t)
        #expect(histories.count == 2)
        for a in alerts {
            let h = try #require(histories[a.labels])
            let factor = a.identity["route"] == "/a" ? 1.0 : 2.0
            #expect(h.points.map(\.value) == Self.ramp[10...39].map { $0 * factor })
        }
    }

    @Test func minutesWithoutDataAreGapsAndTheGridStillEndsAtTheEvaluation() throws {
        // Data from minute 20 only, and nothing in minutes 30–33 (a 1-minute lookback makes those gaps).
        var values = Self.ramp
        for i in 0..<20 { values[i] = .nan }
        for i in 30...33 { values[i] = .nan }
        let s = store(["/a": values])
        let g = try group("""
            groups:
              - name: api
                rules:
                  - alert: Slow
                    expr: latency_ms > 100
            """, s, lookback: 30_000)
        let t = 39 * Self.minute
        g.evaluate(at: t)
        let alert = try #require(firing(g).first)
        let h = try #require(try g.valueHistory(rule: "Slow", alerts: [alert.labels: alert.value], evaluatedAt: t)[alert.labels])
        let expected = (10...39).filter { $0 >= 20 && !(30...33).contains($0) }
        #expect(h.points.map(\.timestamp) == expected.map { Int64($0) * Self.minute })
        let grid = h.values
        #expect(grid.count == 30)
        #expect(grid[0].isNaN && grid[9].isNaN && !grid[10].isNaN && grid[20].isNaN && grid[23].isNaN && grid[29] == 490)
    }

    @Test func queryOffsetShiftsTheGridAsItShiftsTheEvaluation() throws {
        let s = store(["/a": Self.ramp])
        let g = try group("""
            groups:
              - name: api
                query_offset: 2m
                rules:
                  - alert: Slow
                    expr: latency_ms > 100
            """, s)
        let t = 39 * Self.minute
        g.evaluate(at: t)
        let alert = try #require(firing(g).first)
        #expect(alert.value == 470, "evaluated at minute 37")
        let h = try #require(try g.valueHistory(rule: "Slow", alerts: [alert.labels: alert.value], evaluatedAt: t)[alert.labels])
        #expect(h.end == 37 * Self.minute)
        #expect(h.points.map(\.value) == Array(Self.ramp[8...37]))
    }

    @Test func aShorterGridAndTheUnknownRule() throws {
        let s = store(["/a": Self.ramp])
        let g = try group("""
            groups:
              - name: api
                rules:
                  - alert: Slow
                    expr: latency_ms > 100
            """, s)
        let t = 39 * Self.minute
        g.evaluate(at: t)
        let alert = try #require(firing(g).first)
        let five = try #require(try g.valueHistory(rule: "Slow", alerts: [alert.labels: alert.value], evaluatedAt: t, step: 2 * Self.minute, steps: 5)[alert.labels])
        #expect(five.points.map(\.timestamp) == [31, 33, 35, 37, 39].map { Int64($0) * Self.minute })
        let one = try #require(try g.valueHistory(rule: "Slow", alerts: [alert.labels: alert.value], evaluatedAt: t, steps: 1)[alert.labels])
        #expect(one.points == [Sample(timestamp: t, value: 490)])
        #expect(try g.valueHistory(rule: "Other", alerts: [alert.labels: alert.value], evaluatedAt: t).isEmpty)
        let nan = try #require(try g.valueHistory(rule: "Slow", alerts: [alert.labels: .nan], evaluatedAt: t)[alert.labels])
        #expect(nan.points.count == 29, "a NaN value is a gap, not a point")
    }

    @Test(arguments: [
        ("critical", false), ("{{ $labels.route }}", false), ("{{ $externalLabels.host }}-{{ $labels.job }}", false),
        ("{{ $value }}", true), ("{{ .Value }}", true), ("{{ if gt $value 300.0 }}hot{{ end }}", true),
        ("{{ . }}", true), ("{{ .Labels.route }}", true), ("{{ printf \"%.1f\" 1.5 }}", false),
    ])
    func labelTemplatesThatMayReadTheValueAreRecognised(source: String, reads: Bool) {
        #expect(RuleFile.Rule.mayReadValue(source) == reads)
    }

    @Test func aRuleLabelThatReadsTheValueKeepsOnlyTheStepsWithTheAlertsIdentity() throws {
        // A plateau at 500 from minute 25: the label `level="500"` names the alert only there.
        let s = store(["/a": Self.ramp.enumerated().map { $0.offset >= 25 ? 500 : $0.element }])
        let g = try group("""
            groups:
              - name: api
                rules:
                  - alert: Slow
                    expr: latency_ms > 100
                    labels: {level: "{{ $value }}"}
            """, s)
        let t = 39 * Self.minute
        g.evaluate(at: t)
        let alert = try #require(firing(g).first)
        #expect(alert.identity["level"] == "500")
        let h = try #require(try g.valueHistory(rule: "Slow", alerts: [alert.labels: alert.value], evaluatedAt: t)[alert.labels])
        #expect(h.points.map(\.timestamp) == (25...39).map { Int64($0) * Self.minute }, "minutes 10–24 had other identities")
    }

    @Test func theGridPlacesOnlyPointsOnIt() {
        let h = ValueHistory(end: 600_000, step: 60_000, steps: 4, points: [
            Sample(timestamp: 420_000, value: 1), Sample(timestamp: 450_000, value: 9), Sample(timestamp: 600_000, value: 3),
            Sample(timestamp: 660_000, value: 7), Sample(timestamp: 0, value: 5),
        ])
        #expect(h.start == 420_000)
        let v = h.values
        #expect(v.count == 4 && v[0] == 1 && v[1].isNaN && v[2].isNaN && v[3] == 3)
    }
}
