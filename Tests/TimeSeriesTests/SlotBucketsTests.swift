import Testing
@testable import TimeSeries

/// The ring's slot buckets (sparse, then dense) against `BucketCounts`, the plain dense model:
/// the same counts over the same span and the same collapse and saturation flags after every insert.
@Suite struct SlotBucketsTests {
    enum Pattern: CaseIterable {
        /// Few values spread wide: stays sparse.
        case spread
        /// Many values in a narrow range: turns dense after 16 distinct buckets.
        case narrow
        /// A span past the cap: collapses (from sparse or dense).
        case pastTheCap
        /// One bucket counted past 16 bits.
        case oneHotBucket
        /// Indices further apart than 16 bits of key.
        case farApart
    }

    func index(_ pattern: Pattern, _ rng: inout SeededGenerator, step: Int) -> Int32 {
        switch pattern {
        case .spread: return Int32(rng.next() % 2000) - 1000
        case .narrow: return 500 + Int32(rng.next() % 40)
        case .pastTheCap: return Int32(rng.next() % 300) - Int32(step / 10)
        case .oneHotBucket: return step % 1000 == 0 ? Int32(rng.next() % 50) : 7
        case .farApart: return rng.next() % 2 == 0 ? -40_000 + Int32(rng.next() % 10) : 40_000 + Int32(rng.next() % 10)
        }
    }

    @Test(arguments: Pattern.allCases)
    func slotBucketsCountExactlyWhatTheDenseModelCounts(pattern: Pattern) {
        let maxBuckets = pattern == .farApart ? 100_000 : pattern == .spread ? 4096 : 128
        let steps = pattern == .oneHotBucket ? 70_000 : pattern == .spread ? 200 : 3_000
        var rng = SeededGenerator(seed: 17)
        var slot = SlotBuckets()
        var model = BucketCounts<UInt32>()
        var sawDense = false
        for step in 0..<steps {
            let i = index(pattern, &rng, step: step)
            let got = slot.increment(at: i, maxBuckets: maxBuckets)
            let expected = model.add(1, at: i, maxBuckets: maxBuckets)
            #expect(got == expected, "\(pattern) step \(step)")
            sawDense = sawDense || !slot.isSparse
            if step % 97 == 0 || step == steps - 1 {
                let (offset, counts) = slot.denseCounts()
                #expect(offset == model.offset && counts == model.counts, "\(pattern) step \(step)")
                #expect(slot.lowest == model.offset && slot.highest == model.maxIndex)
            }
        }
        #expect(sawDense == (pattern != .spread), "\(pattern) turned dense: \(sawDense)")
        // Cleared, the storage is kept and the slot starts sparse again.
        slot.removeAll()
        #expect(slot.isEmpty && slot.isSparse)
        _ = slot.increment(at: 3, maxBuckets: maxBuckets)
        #expect(slot.denseCounts().offset == 3 && slot.denseCounts().counts == [1])
        slot.deallocate()
    }

    @Test func restoredSpansKeepTheirExactShape() {
        let cases: [(Int32, [UInt32])] = [
            (5, [1, 0, 0, 2]),  // sparse
            (-3, [0, 4, 1]),  // a zero end (left by a collapse): stays dense, span unchanged
            (10, Array(repeating: 3, count: 40)),  // full: dense
            (0, [70_000]),  // a count past 16 bits: dense
            (7, []),
        ]
        for (offset, counts) in cases {
            var slot = SlotBuckets()
            slot.restore(offset: offset, counts: counts)
            let back = slot.denseCounts()
            #expect(back.counts == counts && (counts.isEmpty || back.offset == offset), "\(offset) \(counts)")
            slot.deallocate()
        }
    }
}
