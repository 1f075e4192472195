import TextRendering
import Alerting
import Testing
import TimeSeries
@testable import Notify

private let nan = Double.nan

@Suite struct SparklineTests {
    @Test(arguments: [
        // values, bars, min, max, last
        ([1, 2, 3, 4, 5, 6, 7, 8], "▁▂▃▄▅▆▇█", 1.0, 8.0, 8.0),
        ([0, 7], "▁█", 0, 7, 7),
        ([8, 1], "█▁", 1, 8, 1),
        ([5, 5, 5], "▄▄▄", 5, 5, 5),
        ([42], "▄", 42, 42, 42),
        ([1, nan, 3], "▁ █", 1, 3, 3),
        ([nan, 2, 4, nan], " ▁█ ", 2, 4, 4),
        ([1, .infinity, 2, -.infinity], "▁ █ ", 1, 2, 2),
        ([-10, 0, 10], "▁▅█", -10, 10, 10),
        ([0, 0.49, 0.5, 1], "▁▄▅█", 0, 1, 1),
        ([-1e308, 1e308], "▁█", -1e308, 1e308, 1e308),
        ([-1e308, 0, 1e308], "▁▅█", -1e308, 1e308, 1e308),
    ] as [([Double], String, Double, Double, Double)])
    func valuesAreScaledBetweenTheirMinAndMax(values: [Double], bars: String, min: Double, max: Double, last: Double) throws {
        let line = try #require(Sparkline(values))
        #expect(line.bars == bars)
        #expect(line.min == min && line.max == max && line.last == last)
    }

    @Test(arguments: [[], [nan], [nan, nan], [.infinity, -.infinity]] as [[Double]])
    func aSeriesWithoutAFiniteValueHasNoSparkline(values: [Double]) {
        #expect(Sparkline(values) == nil)
    }

    @Test func aLongSeriesIsAveragedIntoAtMostMaxWidthCharacters() throws {
        let line = try #require(Sparkline((0..<60).map(Double.init), maxWidth: 30))
        #expect(line.bars.count == 30)
        #expect(line.bars.first == "▁" && line.bars.last == "█")
        #expect(line.min == 0 && line.max == 59 && line.last == 59, "min, max and last come from every value")
        let odd = try #require(Sparkline((0..<31).map(Double.init), maxWidth: 30))
        #expect(odd.bars.count == 30)
        let gaps = try #require(Sparkline([1, 1, nan, nan, 3, 3], maxWidth: 3))
        #expect(gaps.bars == "▁ █", "a bucket without a value is a gap")
        let short = try #require(Sparkline([1, 2, 3], maxWidth: 30))
        #expect(short.bars == "▁▅█", "shorter series are drawn as they are")
        #expect(try #require(Sparkline([1, nan, 3], gap: "·")).bars == "▁·█")
    }

    /// The CLI's renderer before it moved here: the bars must stay what `agent query --range` printed.
    static func previousCLIBars(_ values: [Double]) -> String? {
        let finite = values.filter(\.isFinite)
        guard let lo = finite.min(), let hi = finite.max() else { return nil }
        let bars = Array("▁▂▃▄▅▆▇█")
        return String(values.map { v -> Character in
            guard v.isFinite else { return " " }
            if hi == lo { return bars[3] }
            return bars[min(bars.count - 1, Int((v - lo) / (hi - lo) * Double(bars.count - 1) + 0.5))]
        })
    }

    @Test func theBarsAreWhatTheCLIPrintedBeforeForRandomSeries() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let count = Int.random(in: 1...90, using: &rng)
            let scale = [1e-6, 1, 1000, 1e12].randomElement(using: &rng)!
            let values = (0..<count).map { _ -> Double in
                Int.random(in: 0..<15, using: &rng) == 0 ? .nan : Double.random(in: -1...1, using: &rng) * scale
            }
            #expect(Sparkline(values)?.bars == Self.previousCLIBars(values), "\(values)")
        }
    }

    static func firing(_ history: ValueHistory?, status: NotifiedAlert.Status = .firing) -> NotifiedAlert {
        NotifiedAlert(
            status: status, labels: Labels(["alertname": "Slow"]), annotations: [:], severity: "high", startsAt: 0, endsAt: nil, value: 640,
            fingerprint: 1, source: "", history: history)
    }

    static func history(_ values: [Double], end: Timestamp = 1_800_000, step: Milliseconds = 60_000) -> ValueHistory {
        let start = end - Int64(values.count - 1) * step
        return ValueHistory(
            end: end, step: step, steps: values.count,
            points: values.enumerated().filter { $0.element.isFinite }.map { Sample(timestamp: start + Int64($0.offset) * step, value: $0.element) })
    }

    @Test func aFiringAlertsHistoryIsOneLineWithMinMaxLastAndItsWindow() throws {
        let values: [Double] = [120, 180, 320, 560, 800, 870, 800, 640]
        let alert = Self.firing(Self.history(values))
        #expect(MessageText.historyLine(alert) == "`▁▂▃▅▇█▇▆` min 120 max 870 last 640 (8m)")
        #expect(MessageText.historyLine(alert, code: false) == "▁▂▃▅▇█▇▆ min 120 max 870 last 640 (8m)")
        let thirty = Self.firing(Self.history([.nan, .nan] + (0..<28).map { 0.5 + Double($0) / 100 }))
        let line = try #require(MessageText.historyLine(thirty))
        #expect(line.hasPrefix("`  ▁"), "minutes without data are gaps")
        #expect(line.hasSuffix(" min 0.5 max 0.77 last 0.77 (30m)"))
        #expect(try #require(MessageText.historyLine(thirty, code: false)).hasPrefix("\u{00A0}\u{00A0}▁"), "no-break spaces outside code")
    }

    @Test func noLineWithoutAHistoryAValueOrAFiringAlert() {
        #expect(MessageText.historyLine(Self.firing(nil)) == nil)
        #expect(MessageText.historyLine(Self.firing(Self.history([.nan, .nan]))) == nil)
        #expect(MessageText.historyLine(Self.firing(Self.history([1, 2]), status: .resolved)) == nil)
    }

    @Test(arguments: [(1_800_000, "30m"), (3_600_000, "1h"), (90_000, "90s"), (7_200_000, "2h"), (1500, "1500ms")] as [(Int64, String)])
    func windowsReadAsPeopleWriteThem(ms: Int64, text: String) {
        #expect(MessageText.duration(ms) == text)
    }
}
