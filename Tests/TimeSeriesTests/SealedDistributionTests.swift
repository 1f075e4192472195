import Testing
import Foundation
@testable import TimeSeries

/// Sealed distribution slots (`SlotBuckets.seal`, `DistributionRing.rawSlots`) against rings that
/// never seal: every read bit-identical, the running total consistent, late writes into sealed slots.
@Suite struct SealedDistributionTests {
    typealias Values = WindowSummaryTests.Values

    /// Two rings fed the same observations: one seals all but its newest `rawSlots`, the other
    /// keeps every slot raw. After each batch they must answer exactly the same: every observe
    /// result, every window summary (both the fast read and the slot-by-slot reference), the
    /// cumulative counters, totals, each slot's sketch, and the running total when both hold it.
    @Test(arguments: Values.allCases, [(36, 1), (36, 3), (12, 8), (5, 2)])
    func sealedRingsAnswerExactlyWhatUnsealedRingsDo(values: Values, shape: (capacity: Int, rawSlots: Int)) {
        let (capacity, rawSlots) = shape
        let resolution: Int64 = 1_000
        let maxBuckets = values == .wide ? 64 : 2048
        let mapping = SketchMapping(relativeAccuracy: 0.01)
        var rng = SeededGenerator(seed: UInt64(capacity * 31 + rawSlots) &* 8 &+ UInt64(Values.allCases.firstIndex(of: values)!))
        let sealed = DistributionRing(capacity: capacity, resolution: resolution, rawSlots: rawSlots)
        let plain = DistributionRing(capacity: capacity, resolution: resolution, rawSlots: capacity)
        var t: Timestamp = -5 * resolution + 123
        var lateIntoSealed = 0
        for batch in 0..<120 {
            for _ in 0..<Int(rng.next() % 60) {
                let r = rng.next() % 1000
                var at = t
                if r < 600 { at = t + Int64(rng.next() % UInt64(resolution)) }
                else if r < 990 { at = t - Int64(rng.next() % UInt64(resolution * Int64(capacity + 2))) }  // late: raw, sealed or too old
                else { at = t + resolution * Int64(1 + rng.next() % UInt64(2 * capacity + 1)) }  // a gap, sometimes past the ring
                let v = WindowSummaryTests.value(values, &rng)
                if let head = sealed.clock.head, sealed.clock.holds(sealed.clock.slot(of: at)),
                   sealed.clock.slot(of: at) <= head - Int64(rawSlots) { lateIntoSealed += 1 }
                let a = sealed.observe(v, at: at, mapping: mapping, maxBuckets: maxBuckets)
                let b = plain.observe(v, at: at, mapping: mapping, maxBuckets: maxBuckets)
                #expect(a.accepted == b.accepted && a.outcome == b.outcome, "observe at \(at), batch \(batch)")
                t = max(t, at)
            }
            t += Int64(rng.next() % UInt64(resolution * 2))
            guard let head = plain.clock.head else { continue }
            #expect(sealed.clock.head == head)
            Self.expectSealedOutsideRawWindow(sealed)
            let end = (head + 1) * resolution
            var windows: [(Timestamp, Timestamp)] = [(end - resolution * Int64(capacity) - 1, end), (Int64.min / 2, Int64.max / 2)]
            for _ in 0..<4 {
                let through = end + resolution - Int64(rng.next() % UInt64(resolution * Int64(capacity + 3)))
                windows.append((through - Int64(rng.next() % UInt64(resolution * Int64(capacity + 3))) - 1, through))
            }
            for (from, through) in windows {
                let context = "\(values) \(capacity)/\(rawSlots) batch \(batch) window (\(from), \(through)]"
                var reference = Sketch()
                let collapses = plain.mergeSlotBySlot(from: from, through: through, into: &reference, maxBuckets: maxBuckets)
                var sealedReference = Sketch()
                let sealedCollapses = sealed.mergeSlotBySlot(from: from, through: through, into: &sealedReference, maxBuckets: maxBuckets)
                WindowSummaryTests.expectSame((sealedReference, sealedCollapses), reference, plainCollapses: collapses, mapping: mapping, "slot by slot, " + context)
                WindowSummaryTests.expectSame(sealed.summary(from: from, through: through, maxBuckets: maxBuckets), reference,
                                              plainCollapses: collapses, mapping: mapping, "summary, " + context)
                _ = plain.summary(from: from, through: through, maxBuckets: maxBuckets)  // builds its total as the sealed ring does
                var a: [CumulativeSample] = [], b: [CumulativeSample] = []
                sealed.cumulative(from: from, through: through, into: &a)
                plain.cumulative(from: from, through: through, into: &b)
                #expect(a.map(\.timestamp) == b.map(\.timestamp) && a.map(\.count) == b.map(\.count)
                        && a.map(\.sum.bitPattern) == b.map(\.sum.bitPattern), "cumulative, \(context)")
            }
            #expect(sealed.totals.count == plain.totals.count && sealed.totals.sum.bitPattern == plain.totals.sum.bitPattern)
            #expect(sealed.occupiedSlots == plain.occupiedSlots)
            for p in 0..<capacity {
                let a = sealed.slotSketch(at: p), b = plain.slotSketch(at: p)
                #expect(a.count == b.count && a.sum.bitPattern == b.sum.bitPattern && a.zeroCount == b.zeroCount
                        && a.positive.offset == b.positive.offset && a.positive.counts == b.positive.counts
                        && a.negative.offset == b.negative.offset && a.negative.counts == b.negative.counts, "slot \(p), batch \(batch)")
            }
            #expect(sealed.totalValid == plain.totalValid)
            if sealed.totalValid && plain.totalValid {
                #expect(WindowSummaryTests.nonZero(Self.dense(sealed.total.positive)) == WindowSummaryTests.nonZero(Self.dense(plain.total.positive)))
                #expect(WindowSummaryTests.nonZero(Self.dense(sealed.total.negative)) == WindowSummaryTests.nonZero(Self.dense(plain.total.negative)))
            }
        }
        // (No heap comparison here: slots reopened by late writes are raw, sized otherwise than
        // the never-sealed ring's; the store test below compares a day's memory.)
        #expect(lateIntoSealed > 0, "no observation reached a sealed slot")
    }

    /// A slot sealed now and then (and written while sealed: each write unseals and seals again)
    /// counts exactly what the dense model counts: the same flags after every insert, the same
    /// span (zero ends included) and counts, sparse or dense underneath.
    @Test(arguments: SlotBucketsTests.Pattern.allCases)
    func sealedSlotBucketsCountExactlyWhatTheDenseModelCounts(pattern: SlotBucketsTests.Pattern) {
        let maxBuckets = pattern == .farApart ? 100_000 : pattern == .spread ? 4096 : 128
        let steps = pattern == .oneHotBucket ? 70_000 : pattern == .spread ? 200 : 3_000
        var rng = SeededGenerator(seed: 23)
        var slot = SlotBuckets()
        var model = BucketCounts<UInt32>()
        var sealedWrites = 0
        for step in 0..<steps {
            let i = SlotBucketsTests().index(pattern, &rng, step: step)
            if slot.isSealed { sealedWrites += 1 }
            #expect(slot.increment(at: i, maxBuckets: maxBuckets) == model.add(1, at: i, maxBuckets: maxBuckets), "\(pattern) step \(step)")
            if rng.next() % 50 == 0 { slot.seal() } else if rng.next() % 100 == 0 { slot.unseal() }
            if step % 97 == 0 || step == steps - 1 {
                let (offset, counts) = slot.denseCounts()
                #expect(offset == model.offset && counts == model.counts, "\(pattern) step \(step)")
                #expect(slot.lowest == model.offset && slot.highest == model.maxIndex)
            }
        }
        #expect(sealedWrites > 0)
        slot.seal()
        #expect(slot.denseCounts().counts == model.counts && slot.denseCounts().offset == model.offset)
        slot.removeAll()
        #expect(slot.isEmpty && slot.isSparse)
        _ = slot.increment(at: 3, maxBuckets: maxBuckets)
        #expect(slot.denseCounts().offset == 3 && slot.denseCounts().counts == [1])
        slot.deallocate()
    }

    /// Sealing keeps the exact shape of every span a slot can hold, and writes into it behave as
    /// into the raw slot: saturation at the count's maximum, a zero end kept, gaps past 16 bits.
    @Test func sealedSpansKeepTheirShapeAndSaturate() {
        let cases: [(Int32, [UInt32])] = [
            (5, [1, 0, 0, 2]), (-3, [0, 4, 1]), (0, [7, 0]), (10, Array(repeating: 3, count: 40)),
            (0, [70_000, 1]), (-1_000, [1] + Array(repeating: 0, count: 70_000) + [2]),
            (Int32.min + 1, [UInt32.max, 0, UInt32.max - 1]), (Int32.max - 2, [1, 2, 3]),
        ]
        for (offset, counts) in cases {
            var slot = SlotBuckets(), model = SlotBuckets()
            slot.restore(offset: offset, counts: counts)
            model.restore(offset: offset, counts: counts)
            let rawBytes = slot.heapBytes
            slot.seal()
            #expect(slot.isSealed)
            #expect(slot.denseCounts().offset == offset && slot.denseCounts().counts == counts, "\(offset) \(counts.prefix(4))")
            #expect(slot.lowest == model.lowest && slot.highest == model.highest)
            if counts.count > 8 { #expect(slot.heapBytes < rawBytes) }
            // Both forms: a byte per bucket for a full span of small counts, gaps otherwise.
            let form = UnsafeRawPointer(slot.raw.storage!).load(as: UInt8.self) & 1
            #expect(form == (counts == Array(repeating: 3, count: 40) || counts == [1, 2, 3] ? 1 : 0), "form of \(offset) \(counts.prefix(4))")
            // The same writes into the sealed slot and into the raw one: the same flags and content.
            for index in [offset, offset &+ 2, offset, offset &+ Int32(counts.count - 1)] {
                #expect(slot.increment(at: index, maxBuckets: 100_000) == model.increment(at: index, maxBuckets: 100_000), "\(offset) +\(index)")
                #expect(slot.isSealed)
            }
            #expect(slot.denseCounts().offset == model.denseCounts().offset && slot.denseCounts().counts == model.denseCounts().counts)
            slot.deallocate()
            model.deallocate()
        }
        // An empty slot seals to nothing: its storage is freed.
        var empty = SlotBuckets()
        _ = empty.increment(at: 4, maxBuckets: 10)
        empty.removeAll()
        empty.seal()
        #expect(empty.heapBytes == 0 && empty.isEmpty && !empty.isSealed)
    }

    /// Stores whose distribution rings seal (the default) and never seal (`Int.max` raw slots: what
    /// main's code did) write byte-identical checkpoints; a checkpoint of the never-sealing store
    /// (the on-disk form is unchanged) restores into a sealing store, which seals what it restored
    /// and then answers every read exactly as the original does, through more writes (late ones into
    /// sealed slots included). Restoring into other ring sizes (a reload that changes a tier is a
    /// restart that reads the checkpoint back) is refused and leaves the store as it was.
    @Test func checkpointsOfSealedStoresAreTheSameBytesAndRestoreIntoSealedRings() throws {
        let config = StoreConfig(resolution: 10_000, retention: 600_000, tiers: [.init(resolution: 60_000, retention: 7_200_000)])
        let t0: Timestamp = 1_699_999_980_000
        let clock = TestClock(t0)
        let sealed = SeriesStore(config: config, clock: clock.function)
        let plain = SeriesStore(config: config, clock: clock.function)
        plain.write { $0.state.distributionRawSlots = .max }
        var rng = SeededGenerator(seed: 99)
        let names = [Labels(name: "latency_ms", ["route": "a"]), Labels(name: "latency_ms", ["route": "b"]), Labels(name: "delta")]
        func feed(minutes: Int, into stores: [SeriesStore]) {
            for _ in 0..<minutes {
                clock.now += 60_000
                var batch: [(Labels, Double, Timestamp)] = []
                for k in 0..<40 {
                    // Late by up to 90 min: into raw and sealed slots of both rings, and past the fine ring.
                    let late = rng.unit() < 0.15 ? Int64(rng.next() % 5_400_000) : 0
                    let v = k % 3 == 2 ? (rng.unit() < 0.2 ? 0 : (rng.unit() < 0.5 ? -1 : 1) * exp(rng.normal())) : exp(3 + rng.normal())
                    batch.append((names[k % 3], v, clock.now - Int64(rng.next() % 60_000) - late))
                }
                for s in stores {
                    s.write { w in for (l, v, at) in batch { _ = w.append(l, kind: .distribution, value: v, at: at) } }
                }
            }
        }
        func expectSameReads(_ a: SeriesStore, _ b: SeriesStore, _ context: String) {
            for labels in names {
                for ring in 0..<2 {
                    for window in [Int64(60_000), 600_000, 3_600_000, 7_200_000, 9_000_000] {
                        let from = clock.now - window - 7_000, through = clock.now - 3_000
                        let x = a.read { r in r.summary(of: r.ref(for: labels)!, from: from, through: through, ring: ring)! }
                        let y = b.read { r in r.summary(of: r.ref(for: labels)!, from: from, through: through, ring: ring)! }
                        WindowSummaryTests.expectSame((x.sketch, 0), y.sketch, plainCollapses: 0, mapping: a.mapping, "\(context) \(labels) ring \(ring) window \(window)")
                    }
                }
                var x: [CumulativeSample] = [], y: [CumulativeSample] = []
                a.read { r in r.cumulative(of: r.ref(for: labels)!, from: t0, through: clock.now, into: &x) }
                b.read { r in r.cumulative(of: r.ref(for: labels)!, from: t0, through: clock.now, into: &y) }
                #expect(x == y, "cumulative \(context) \(labels)")
            }
        }
        func expectAllSealed(_ store: SeriesStore) {
            store.read { r in
                for ref in r.allSeries() { for ring in r.state.lookup(ref)!.distribution { Self.expectSealedOutsideRawWindow(ring) } }
            }
        }
        feed(minutes: 150, into: [sealed, plain])
        expectAllSealed(sealed)
        #expect(sealed.encodedState() == plain.encodedState())
        #expect(sealed.heapBytes < plain.heapBytes)
        expectSameReads(sealed, plain, "before the checkpoint")

        // What main's code wrote (rings that never seal) restores into sealed rings.
        let restored = SeriesStore(config: config, clock: clock.function)
        try restored.restore(fromEncodedState: plain.encodedState())
        expectAllSealed(restored)
        #expect(restored.encodedState() == plain.encodedState())
        expectSameReads(restored, plain, "restored")
        feed(minutes: 40, into: [restored, plain])
        expectAllSealed(restored)
        #expect(restored.encodedState() == plain.encodedState())
        expectSameReads(restored, plain, "restored, then written")

        // Other ring sizes: refused, nothing changed.
        let before = restored.encodedState()
        for other in [StoreConfig(resolution: 10_000, retention: 600_000, tiers: [.init(resolution: 60_000, retention: 3_600_000)]),
                      StoreConfig(resolution: 10_000, retention: 600_000)] {
            let resized = SeriesStore(config: other, clock: clock.function)
            #expect(throws: CheckpointError.self) { try resized.restore(fromEncodedState: before) }
            #expect(throws: CheckpointError.self) { try restored.restore(fromEncodedState: resized.encodedState()) }
        }
        #expect(restored.encodedState() == before)
    }

    /// Late writes into a sealed slot make it raw until the head next moves (a burst costs one
    /// decode and one encode), and then it is sealed again with everything they added.
    @Test func aSealedSlotWrittenLateStaysRawUntilTheHeadMoves() {
        let mapping = SketchMapping(relativeAccuracy: 0.01)
        let ring = DistributionRing(capacity: 20, resolution: 1_000, rawSlots: 2)
        for t in stride(from: Int64(0), to: 10_000, by: 100) { _ = ring.observe(Double(t % 700) + 1, at: t, mapping: mapping, maxBuckets: 2048) }
        let old = ring.clock.position(of: 3)
        #expect(ring.positive[old].isSealed && ring.negative[old].isEmpty && ring.negative[old].heapBytes == 0)
        for k in 0..<50 { #expect(ring.observe(Double(k) - 20, at: 3_500, mapping: mapping, maxBuckets: 2048).accepted) }
        #expect(!ring.positive[old].isSealed && !ring.negative[old].isSealed && ring.reopened == [3, 3])
        let before = ring.slotSketch(at: old)
        _ = ring.observe(5, at: 10_000, mapping: mapping, maxBuckets: 2048)  // the head moves
        #expect(ring.positive[old].isSealed && ring.negative[old].isSealed && ring.reopened.isEmpty)
        let after = ring.slotSketch(at: old)
        #expect(after.count == before.count && after.positive.counts == before.positive.counts && after.negative.counts == before.negative.counts)
        #expect(after.count == 60 && after.zeroCount == 1)
    }

    /// Held slots at or before `head - rawSlots` are sealed, or empty without storage.
    static func expectSealedOutsideRawWindow(_ ring: DistributionRing, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let head = ring.clock.head, let oldest = ring.clock.oldest, oldest <= head - Int64(ring.rawSlots) else { return }
        var slot = oldest
        ring.forEachPosition(oldest...(head - Int64(ring.rawSlots))) { p in
            defer { slot += 1 }
            guard !ring.reopened.contains(slot) else { return }
            for side in [ring.positive[p], ring.negative[p]] {
                #expect(side.isSealed || (side.isEmpty && side.heapBytes == 0), "position \(p)", sourceLocation: sourceLocation)
            }
        }
    }

    static func dense(_ raw: RawBuckets<UInt64>) -> BucketCounts<UInt64> {
        var b = BucketCounts<UInt64>()
        b.offset = raw.offset
        b.counts = Array(raw.counts)
        return b
    }
}
