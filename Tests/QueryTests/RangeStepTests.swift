import Testing
import Query
import TimeSeries

/// A range query reads each series of an instant selector once for all its steps (a cursor over
/// the series' samples); it must answer exactly what an instant query at each step answers.
@Suite struct RangeStepTests {
    struct Shape: CustomTestStringConvertible, Sendable {
        var config: StoreConfig
        var series: Int
        var lookback: Milliseconds
        /// Steps on whole seconds (where samples often are) and off them.
        var steps: [Milliseconds]
        var testDescription: String
    }

    static let now: Timestamp = 10_000_000

    static let shapes: [Shape] = [
        // 1 s × 400 slots: sealed blocks of 32 and the two raw blocks.
        Shape(config: StoreConfig(resolution: 1_000, retention: 400_000), series: 12, lookback: 300_000, steps: [1_000, 2_500, 17_000], testDescription: "sealed 400×1s"),
        Shape(config: StoreConfig(resolution: 1_000, retention: 400_000), series: 12, lookback: 7_000, steps: [1_000, 3_000, 60_000], testDescription: "sealed 400×1s, 7s lookback"),
        // (At 60 s steps, the 7 s windows are far apart: each step is looked up alone.)
        // Short rings stay raw.
        Shape(config: StoreConfig(resolution: 1_000, retention: 200_000), series: 12, lookback: 9_000, steps: [1_000, 2_500], testDescription: "raw 200×1s"),
        // A tier: early steps read the coarse ring, later ones the fine one.
        Shape(config: StoreConfig(resolution: 1_000, retention: 300_000, tiers: [.init(resolution: 5_000, retention: 1_500_000)]),
              series: 12, lookback: 60_000, steps: [3_000, 5_000, 60_000], testDescription: "300×1s + tier 5s"),
        // Enough series × steps for several batches (each under its own lock).
        Shape(config: StoreConfig(resolution: 1_000, retention: 400_000), series: 45, lookback: 20_000, steps: [1_000], testDescription: "45 series, batches"),
    ]

    /// Gauges and counters with gaps (some longer than the lookback), several samples in a slot,
    /// stale markers, samples on whole seconds (where steps fall) and between them, series that
    /// start late or stop early; and one distribution, read as `d_count` and `d_sum`.
    static func store(_ shape: Shape, seed: UInt64) -> SeriesStore {
        var config = shape.config
        config.seriesLimit = 1_000
        let store = SeriesStore(config: config, clock: { now })
        var rng = SplitMix(seed: seed)
        let span = config.tiers.last?.retention ?? config.retention
        store.write { w in
            for i in 0..<shape.series {
                let kind: SeriesKind = i % 3 == 0 ? .counter : .gauge
                let ref = w.ref(for: Labels(name: "m", ["i": "\(i)", "k": kind == .counter ? "c" : "g"]), kind: kind)!
                var t = now - span - 20_000 + rng.below(span / 3)
                let stop = now - rng.below(span / 4)
                var v = Double(rng.below(100))
                while t <= stop {
                    v = kind == .counter ? v + Double(rng.below(5)) : Double(rng.below(1_000)) / 8
                    let value = rng.below(25) == 0 ? Double.staleMarker : v
                    _ = w.append(ref, value: value, at: t)
                    switch rng.below(10) {
                    case 0: t += 1 + rng.below(400)                                // same slot, or the next
                    case 1: t += 10_000 + rng.below(3 * 60_000)                    // a gap
                    case 2: t += 1_000 * (1 + rng.below(6))                        // whole seconds
                    default: t = (t / 1_000 + 1 + rng.below(3)) * 1_000 + (rng.below(2) == 0 ? 0 : rng.below(1_000))
                    }
                }
            }
            let d = w.ref(for: Labels(name: "d", ["i": "0"]), kind: .distribution)!
            var t = now - span + rng.below(span / 2)
            while t <= now {
                _ = w.observe(d, value: Double(rng.below(500)), at: t)
                t += 1 + rng.below(rng.below(8) == 0 ? 90_000 : 4_000)
            }
        }
        return store
    }

    /// The matrix a step-by-step evaluation gives: an instant query at each step.
    static func stepByStep(_ engine: Engine, _ expr: Expr, start: Timestamp, end: Timestamp, step: Milliseconds) throws -> [SeriesSamples] {
        var index: [Labels: Int] = [:]
        var out: [SeriesSamples] = []
        var t = start
        while t <= end {
            switch try engine.instant(expr, at: t) {
            case .vector(let samples, _):
                for s in samples {
                    if index[s.labels] == nil {
                        index[s.labels] = out.count
                        out.append(SeriesSamples(labels: s.labels, samples: []))
                    }
                    out[index[s.labels]!].samples.append(Sample(timestamp: t, value: s.value))
                }
            case .scalar(let v, _):
                if out.isEmpty { out.append(SeriesSamples(labels: Labels(), samples: [])) }
                out[0].samples.append(Sample(timestamp: t, value: v))
            default: Issue.record("unexpected result type")
            }
            t += step
        }
        return out.sorted { $0.labels.encoded.lexicographicallyPrecedes($1.labels.encoded) }
    }

    @Test(arguments: shapes)
    func rangeQueriesAnswerAsInstantQueriesAtEachStep(shape: Shape) throws {
        let expressions = [
            "m", "m offset 3s", "m offset -2s", "m offset 1m30s", "timestamp(m)", "sum(m)", "m{k=\"c\"} - m{k=\"c\"} offset 10s",
            "topk(3, m)", "count(m) + count(m offset 45s)", "d_count", "d_sum offset 7s", "timestamp(d_count)",
            "m @ \(Double(RangeStepTests.now - 100_000) / 1000)", "m @ \(Double(RangeStepTests.now - 250_321) / 1000) offset 5s",
            "absent(m{i=\"99\"})", "max_over_time(m[30s:2s])", "sum(m) / count(m)",
        ]
        let span = shape.config.tiers.last?.retention ?? shape.config.retention
        for seed in UInt64(1)...3 {
            let store = RangeStepTests.store(shape, seed: seed &* 977 &+ UInt64(shape.series))
            let engine = Engine(store: store, lookback: shape.lookback)
            var rng = SplitMix(seed: seed)
            // Ranges reaching before the first sample and past the last.
            for step in shape.steps {
                let start = RangeStepTests.now - span - 30_000 + rng.below(span / 4) / 1_000 * 1_000 + (step == 2_500 ? 317 : 0)
                let end = RangeStepTests.now + 5_000 - rng.below(span / 3)
                for text in expressions {
                    let expr = try PromQL.parse(text)
                    let range = try engine.range(expr, start: start, end: end, step: step)
                    let expected = try RangeStepTests.stepByStep(engine, expr, start: start, end: end, step: step)
                    guard case .matrix(let got) = range else { Issue.record("not a matrix"); continue }
                    // Bit for bit: same series, same steps, same values (stale markers never leak out).
                    let same = got.count == expected.count && zip(got, expected).allSatisfy { g, e in
                        g.labels == e.labels && g.samples == e.samples
                    }
                    #expect(same, "\(text) seed \(seed) step \(step): \(got.count) vs \(expected.count) series")
                    if !same { return }
                }
            }
        }
    }

    /// A series removed between two steps (expired) is not counted from the next step on, as a
    /// step-by-step evaluation would (EngineInterruptTests checks series created mid-query).
    @Test func seriesRemovedDuringARangeQueryStopAtTheNextStep() throws {
        var config = StoreConfig(resolution: 1_000, retention: 400_000)
        config.expireAfter = 100_000
        let clock = ManualClock(50_000)
        let store = SeriesStore(config: config, clock: { clock.now })
        // Series 2 is last written at 50 s (the store's clock), the others at 200 s.
        for i in [2, 0, 1] {
            if i == 0 { clock.now = 200_000 }
            store.write { w in
                for t in stride(from: Int64(0), through: i == 2 ? 50_000 : 200_000, by: 1_000) {
                    _ = w.append(Labels(name: "m", ["i": "\(i)"]), kind: .gauge, value: Double(i), at: t)
                }
            }
        }
        var engine = Engine(store: store)
        let asked = Count()
        engine.interrupt = {
            // Before step 2: the series without a write for 100 s expires.
            if asked.next() == 3 { clock.now = 200_001; _ = store.expireSilentSeries() }
            return nil
        }
        let value = try engine.range(PromQL.parse("count(m)"), start: 100_000, end: 104_000, step: 1_000)
        guard case .matrix(let series) = value else { Issue.record("\(value)"); return }
        // Steps 100-104 s: series 2's last sample (50 s) is within the 5 m lookback until it expires.
        #expect(series.first?.samples.map(\.value) == [3, 3, 2, 2, 2])
    }
}

/// A clock tests move by hand.
final class ManualClock: @unchecked Sendable {
    var now: Timestamp
    init(_ now: Timestamp) { self.now = now }
}

extension SplitMix {
    /// A value in `0..<n`.
    mutating func below(_ n: Int64) -> Int64 { Int64(next() % UInt64(n)) }
}
