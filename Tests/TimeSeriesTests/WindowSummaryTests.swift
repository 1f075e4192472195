import Testing
import Foundation
@testable import TimeSeries

/// The faster window reads (direct union sum, running total minus the slots outside) against the
/// reference: merging the window's slot sketches one by one, as the store always did.
@Suite struct WindowSummaryTests {
    /// Everything a summary answers, compared exactly (sum and quantiles bit for bit).
    static func expectSame(_ fast: (sketch: Sketch, collapses: Int), _ plain: Sketch, plainCollapses: Int,
                           mapping: SketchMapping, _ context: @autoclosure () -> String) {
        let got = fast.sketch
        #expect(got.count == plain.count, "count, \(context())")
        #expect(got.sum.bitPattern == plain.sum.bitPattern, "sum, \(context())")
        #expect(got.min.bitPattern == plain.min.bitPattern && got.max.bitPattern == plain.max.bitPattern, "min/max, \(context())")
        #expect(got.zeroCount == plain.zeroCount, "zero count, \(context())")
        #expect(nonZero(got.positive) == nonZero(plain.positive), "positive buckets, \(context())")
        #expect(nonZero(got.negative) == nonZero(plain.negative), "negative buckets, \(context())")
        #expect(fast.collapses == plainCollapses, "collapses, \(context())")
        for q in [0, 0.001, 0.1, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1] {
            #expect(got.quantile(q, mapping: mapping).bitPattern == plain.quantile(q, mapping: mapping).bitPattern, "q\(q), \(context())")
        }
    }

    static func nonZero(_ b: BucketCounts<UInt64>) -> [Int32: UInt64] {
        var out: [Int32: UInt64] = [:]
        for (k, c) in b.counts.enumerated() where c != 0 { out[b.offset + Int32(k)] = c }
        return out
    }

    enum Values: CaseIterable {
        /// Latencies: positive, a few zeros.
        case latencies
        /// Both signs and zeros.
        case signed
        /// Twelve decades: slots and windows span more buckets than a cap of 64, so they collapse.
        case wide
    }

    static func value(_ kind: Values, _ rng: inout SeededGenerator) -> Double {
        switch kind {
        case .latencies: return rng.unit() < 0.02 ? 0 : exp(3 + rng.normal())
        case .signed: return rng.unit() < 0.1 ? 0 : (rng.unit() < 0.3 ? -1 : 1) * exp(2 + 2 * rng.normal())
        case .wide: return pow(10, rng.unit() * 12 - 6)
        }
    }

    /// Random observations (mostly forward, some late, some gaps longer than the ring), and after
    /// each batch random windows: aligned and not, partly or wholly outside what the ring holds,
    /// from one slot to more than the ring. Long windows build the running total early, so the
    /// rest of the run checks that it follows head moves, evictions and late observations.
    @Test(arguments: Values.allCases, [1, 5, 36])
    func fasterWindowReadsAnswerExactlyWhatMergingSlotBySlotDoes(values: Values, capacity: Int) {
        let resolution: Int64 = 1_000
        let maxBuckets = values == .wide ? 64 : 2048
        let mapping = SketchMapping(relativeAccuracy: 0.01)
        var rng = SeededGenerator(seed: UInt64(capacity) &* 7919 &+ UInt64(values.hashValue & 0xFF))
        let ring = DistributionRing(capacity: capacity, resolution: resolution)
        var t: Timestamp = -5 * resolution + 123  // slots on both sides of 0
        var usedTotal = false
        for batch in 0..<150 {
            for _ in 0..<Int(rng.next() % 40) {
                let r = rng.next() % 1000
                var at = t
                if r < 700 { at = t + Int64(rng.next() % UInt64(resolution)) }
                else if r < 997 { at = t - Int64(rng.next() % UInt64(resolution * Int64(capacity + 2))) }  // late, maybe too late
                else { at = t + resolution * Int64(1 + rng.next() % UInt64(2 * capacity + 1)) }  // a gap, sometimes past the ring
                _ = ring.observe(Self.value(values, &rng), at: at, mapping: mapping, maxBuckets: maxBuckets)
                t = max(t, at)
            }
            t += Int64(rng.next() % UInt64(resolution * 2))
            guard let head = ring.clock.head else { continue }
            let end = (head + 1) * resolution
            var windows: [(Timestamp, Timestamp)] = [
                (end - resolution * Int64(capacity) - 1, end),  // the whole ring, aligned
                (Int64.min / 2, Int64.max / 2),  // everything
                (end - resolution * Int64(capacity) * 3, end - resolution * Int64(capacity) - 5),  // before the ring
                (end + 10, end + 10_000),  // after it
            ]
            for _ in 0..<6 {
                let through = end + resolution - Int64(rng.next() % UInt64(resolution * Int64(capacity + 3)))
                let length = Int64(rng.next() % UInt64(resolution * Int64(capacity + 3))) + 1
                windows.append((through - length, through))
                // Aligned to slot edges, ending at the head or shortly before.
                let k = Int64(rng.next() % UInt64(capacity + 1))
                let last = head - Int64(rng.next() % 3)
                windows.append(((last - k) * resolution - 1, last * resolution + resolution - 1))
            }
            for (from, through) in windows {
                var plain = Sketch()
                let plainCollapses = ring.mergeSlotBySlot(from: from, through: through, into: &plain, maxBuckets: maxBuckets)
                let fast = ring.summary(from: from, through: through, maxBuckets: maxBuckets)
                Self.expectSame(fast, plain, plainCollapses: plainCollapses, mapping: mapping,
                                "\(values) capacity \(capacity) batch \(batch) window (\(from), \(through)] head \(head)")
                usedTotal = usedTotal || ring.totalValid
            }
        }
        // Only a ring of at least 16 occupied slots reads through the total.
        if capacity >= 16 && values != .wide { #expect(usedTotal) }
    }

    /// A store read (fine ring and tier) answers the same before and after a checkpoint round
    /// trip, and the total rebuilt after the restore keeps answering the same as writes go on.
    @Test func summariesThroughTheStoreMatchTheReferenceAcrossARestore() throws {
        let config = StoreConfig(resolution: 10_000, retention: 3_600_000, tiers: [.init(resolution: 60_000, retention: 21_600_000)])
        let t0: Timestamp = 1_699_999_980_000
        let clock = TestClock(t0)
        let store = SeriesStore(config: config, clock: clock.function)
        var rng = SeededGenerator(seed: 5)
        let labels = Labels(name: "latency_ms")
        func feed(minutes: Int, into stores: [SeriesStore]) {
            for _ in 0..<minutes {
                clock.now += 60_000
                var batch: [(Double, Timestamp)] = []
                for _ in 0..<50 {
                    let late = rng.unit() < 0.1 ? Int64(rng.next() % 1_800_000) : 0
                    batch.append((exp(3 + rng.normal()), clock.now - Int64(rng.next() % 60_000) - late))
                }
                for s in stores {
                    s.write { w in for (v, at) in batch { #expect(w.append(labels, kind: .distribution, value: v, at: at) == .ok) } }
                }
            }
        }
        func check(_ s: SeriesStore, _ context: String) {
            s.read { r in
                let ref = r.ref(for: labels)!
                let series = r.state.lookup(ref)!
                for (i, ring) in series.distribution.enumerated() {
                    // Windows aligned to the tier's minutes and not (ends inside a slot, or a
                    // second before the newest data), up to past the tier's retention.
                    let windows = [Int64(300_000), 1_800_000, 3_600_000, 7_200_000, 21_600_000, 30_000_000]
                    for (window, shift) in windows.flatMap({ w in [Int64(0), 12_345, 59_999].map { (w, $0) } }) {
                        let from = clock.now - window - shift, through = clock.now - shift / 2
                        var plain = Sketch()
                        let collapses = ring.mergeSlotBySlot(from: from, through: through, into: &plain, maxBuckets: config.sketchMaxBuckets)
                        let fast = r.summary(of: ref, from: from, through: through, ring: i)!
                        Self.expectSame((fast.sketch, 0), plain, plainCollapses: collapses, mapping: s.mapping, "\(context) ring \(i) window \(window) shifted \(shift)")
                    }
                }
            }
        }
        feed(minutes: 90, into: [store])
        check(store, "before")
        let restored = SeriesStore(config: config, clock: clock.function)
        try restored.restore(fromEncodedState: store.encodedState())
        check(restored, "restored")
        #expect(restored.encodedState() == store.encodedState())
        feed(minutes: 20, into: [store, restored])
        check(store, "later")
        check(restored, "restored, later")
        #expect(restored.encodedState() == store.encodedState())
    }
}
