import Testing
import Foundation
@testable import TimeSeries

/// The sketch's guarantee, end to end through the store: for 1 000 000 values spread over 360
/// slots, p50…p99.9 of every window from one slot to the whole ring are within α of the exact
/// quantile — from the fine ring, after a checkpoint round trip, and from a coarser tier.
@Suite struct AccuracyTests {
    enum Shape: String, CaseIterable, Sendable {
        case uniform, lognormal, pareto, bimodal, constant, zeroHeavy

        func sample(_ rng: inout SeededGenerator) -> Double {
            switch self {
            case .uniform: return rng.unit() * 1000
            case .lognormal: return exp(3 + rng.normal())
            case .pareto: return 1 / pow(max(rng.unit(), 1e-12), 1 / 1.2)  // α = 1.2: heavy tail
            case .bimodal: return rng.unit() < 0.5 ? 50 + 5 * rng.normal() : 500 + 50 * rng.normal()
            case .constant: return 42
            case .zeroHeavy: return rng.unit() < 0.7 ? 0 : exp(2 + rng.normal())
            }
        }
    }

    static let quantiles = [0.5, 0.9, 0.95, 0.99, 0.999]
    static let valueCount = 1_000_000
    static let t0: Timestamp = 1_699_999_980_000  // a multiple of 60 s, so fine and coarse slots align

    /// Exact order statistics of growing sets of values, by a Fenwick tree over their global ranks.
    struct OrderStatistics {
        let sorted: [Double]
        var tree: [Int32]
        var count = 0
        let top: Int

        init(sorted: [Double]) {
            self.sorted = sorted
            tree = Array(repeating: 0, count: sorted.count + 1)
            var t = 1
            while t * 2 <= sorted.count { t *= 2 }
            top = t
        }
        mutating func insert(rank: Int) {
            var i = rank + 1
            while i < tree.count { tree[i] += 1; i += i & -i }
            count += 1
        }
        /// The k-th smallest (0-based) value inserted so far.
        func kth(_ k: Int) -> Double {
            var position = 0
            var remaining = Int32(k + 1)
            var step = top
            while step > 0 {
                let next = position + step
                if next < tree.count && tree[next] < remaining {
                    position = next
                    remaining -= tree[next]
                }
                step /= 2
            }
            return sorted[position]
        }
        func quantile(_ q: Double) -> Double { kth(Int((q * Double(count - 1)).rounded(.down))) }
    }

    @Test(arguments: Shape.allCases)
    func quantilesOfEveryWindowAreWithinTheRelativeAccuracy(shape: Shape) throws {
        let alpha = 0.01
        var config = StoreConfig(resolution: 10_000, retention: 3_600_000, tiers: [.init(resolution: 60_000, retention: 21_600_000)])
        config.sketchAccuracy = alpha
        let clock = TestClock(Self.t0 + 3_600_000)
        let store = SeriesStore(config: config, clock: clock.function)
        let labels = Labels(name: "latency_ms", ["shape": shape.rawValue])

        // 1 000 000 values at random times over the hour (so most arrive out of order).
        var rng = SeededGenerator(seed: UInt64(shape.rawValue.hashValue & 0xFFFF) &+ 99)
        var values = [Double](repeating: 0, count: Self.valueCount)
        var slots = [Int32](repeating: 0, count: Self.valueCount)
        let ref = store.write { w in w.ref(for: labels, kind: .distribution)! }
        // The first value sits in the newest slot, so that every random time after it is inside the ring.
        values[0] = shape.sample(&rng)
        slots[0] = 359
        store.write { w in _ = w.observe(ref, value: values[0], at: Self.t0 + 3_599_999) }
        store.write { w in
            for i in 1..<Self.valueCount {
                let v = shape.sample(&rng)
                let offset = Int64(rng.next() % 3_600_000)
                values[i] = v
                slots[i] = Int32(offset / 10_000)
                #expect(w.observe(ref, value: v, at: Self.t0 + offset) == .ok)
            }
        }
        #expect(store.stats.sketchCollapses == 0)

        // Ranks of every value in the sorted whole, and the values grouped by slot.
        let order = (0..<Self.valueCount).sorted { values[$0] < values[$1] }
        var rank = [Int32](repeating: 0, count: Self.valueCount)
        for (r, i) in order.enumerated() { rank[i] = Int32(r) }
        let sorted = order.map { values[$0] }
        var bySlot = [[Int32]](repeating: [], count: 360)
        for i in 0..<Self.valueCount { bySlot[Int(slots[i])].append(rank[i]) }

        let restored = SeriesStore(config: config, clock: clock.function)
        try restored.restore(fromEncodedState: try Checkpoint(decoding: Checkpoint(sections: ["series": store.encodedState()]).encoded()).sections["series"]!)

        // Every window ending at the newest slot, from 1 slot to all 360: fine ring and restored copy.
        var exact = OrderStatistics(sorted: sorted)
        var failures = 0
        for length in 1...360 {
            for r in bySlot[360 - length] { exact.insert(rank: Int(r)) }
            let from = Self.t0 + Int64(360 - length) * 10_000 - 1
            let through = Self.t0 + 3_599_999
            for candidate in [store, restored] {
                let summary = try #require(candidate.read { $0.summary(of: ref, from: from, through: through, ring: 0) })
                #expect(summary.count == UInt64(exact.count))
                for q in Self.quantiles where !withinRelativeError(summary.quantile(q), exact.quantile(q), alpha) {
                    failures += 1
                    if failures < 10 { Issue.record("\(shape) window \(length) slots q\(q): \(summary.quantile(q)) vs exact \(exact.quantile(q))") }
                }
            }
        }
        // The same through the 1-minute tier: windows of 1 to 60 coarse slots.
        var coarse = OrderStatistics(sorted: sorted)
        for length in 1...60 {
            for fine in (360 - length * 6)..<(360 - (length - 1) * 6) { for r in bySlot[fine] { coarse.insert(rank: Int(r)) } }
            let from = Self.t0 + Int64(60 - length) * 60_000 - 1
            let summary = try #require(store.read { $0.summary(of: ref, from: from, through: Self.t0 + 3_599_999, ring: 1) })
            #expect(summary.count == UInt64(coarse.count))
            for q in Self.quantiles where !withinRelativeError(summary.quantile(q), coarse.quantile(q), alpha) {
                failures += 1
                if failures < 10 { Issue.record("\(shape) tier window \(length) q\(q): \(summary.quantile(q)) vs exact \(coarse.quantile(q))") }
            }
        }
        #expect(failures == 0)
    }
}
