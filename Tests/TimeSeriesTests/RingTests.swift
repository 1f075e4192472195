import Testing
import Foundation
@testable import TimeSeries

/// The rings against plain-array models, over every capacity × starting slot × wrap-around layout.
@Suite struct RingTests {
    /// What a scalar ring must answer: the last sample of each held slot.
    struct ScalarModel {
        var samples: [Sample] = []
        func expected(capacity: Int, resolution: Int64, from: Int64, through: Int64) -> [Sample] {
            guard let newest = samples.last else { return [] }
            let head = floorDiv(newest.timestamp, resolution)
            var lastPerSlot: [Int64: Sample] = [:]
            for s in samples { lastPerSlot[floorDiv(s.timestamp, resolution)] = s }
            return lastPerSlot
                .filter { $0.key > head - Int64(capacity) && $0.value.timestamp > from && $0.value.timestamp <= through }
                .map(\.value).sorted { $0.timestamp < $1.timestamp }
        }
    }

    @Test(arguments: 1...9)
    func scalarRingMatchesTheModelInEveryLayout(capacity: Int) {
        let resolution: Int64 = 10
        for startSlot in Int64(-capacity - 2)...Int64(2 * capacity + 2) {
            var rng = SeededGenerator(seed: UInt64(capacity * 1000) &+ UInt64(bitPattern: startSlot))
            let ring = ScalarRing(capacity: capacity, resolution: resolution)
            var model = ScalarModel()
            var t = startSlot * resolution + Int64(rng.next() % 10)
            var overflow = 0
            let gaps: [Int64] = [0, 0, 1, 1, 2, Int64(capacity) - 1, Int64(capacity), Int64(capacity) + 1, 2 * Int64(capacity)]
            for step in 0..<(4 * capacity + 6) {
                let v = Double(step) * 1.5
                ring.append(v, at: t, counter: false, hiddenOverflow: &overflow)
                model.samples.append(Sample(timestamp: t, value: v))
                // The whole ring, and a few random windows.
                var got: [Sample] = []
                ring.samples(from: Int64.min / 2, through: Int64.max / 2, into: &got)
                #expect(got == model.expected(capacity: capacity, resolution: resolution, from: Int64.min / 2, through: Int64.max / 2),
                        "capacity \(capacity) start \(startSlot) step \(step)")
                for _ in 0..<3 {
                    let from = t - Int64(rng.next() % UInt64(resolution * Int64(capacity + 2)))
                    let through = from + Int64(rng.next() % UInt64(resolution * Int64(capacity + 2)))
                    got.removeAll()
                    ring.samples(from: from, through: through, into: &got)
                    #expect(got == model.expected(capacity: capacity, resolution: resolution, from: from, through: through))
                }
                let latest = ring.latest(atOrBefore: t, after: t - resolution * Int64(capacity))
                #expect(latest == Sample(timestamp: t, value: v))
                // Move on: same slot, next slot, or a gap up to twice the ring.
                let gap = gaps[Int(rng.next() % UInt64(gaps.count))]
                let nextSlot = floorDiv(t, resolution) + gap
                let minT = gap == 0 ? t + 1 : nextSlot * resolution
                let maxT = nextSlot * resolution + resolution - 1
                if minT > maxT { t = (nextSlot + 1) * resolution } else { t = minT + Int64(rng.next() % UInt64(maxT - minT + 1)) }
            }
            #expect(ring.occupiedSlots <= capacity)
        }
    }

    @Test(arguments: 1...7)
    func distributionRingMatchesTheModelWithLateObservations(capacity: Int) {
        let resolution: Int64 = 100
        let mapping = SketchMapping()
        for startSlot in Int64(-2)...Int64(capacity + 3) {
            var rng = SeededGenerator(seed: UInt64(capacity * 77) &+ UInt64(bitPattern: startSlot))
            let ring = DistributionRing(capacity: capacity, resolution: resolution)
            var accepted: [(Int64, Double)] = []
            var head = startSlot
            var empty = true
            var total = 0.0, totalCount = 0
            for step in 0..<(6 * capacity + 4) {
                // Mostly forward, sometimes late by up to two ring lengths.
                let r = rng.next() % 10
                let slot = r < 6 ? head + Int64(rng.next() % 3) : head - Int64(rng.next() % UInt64(2 * capacity + 1))
                let t = slot * resolution + Int64(rng.next() % UInt64(resolution))
                let v = Double(step % 13) + 0.5
                let (ok, _) = ring.observe(v, at: t, mapping: mapping, maxBuckets: 2048)
                let held = slot > head - Int64(capacity)
                #expect(ok == (empty || held), "late observation acceptance")
                if ok {
                    head = empty ? slot : max(head, slot)
                    empty = false
                    accepted.append((t, v))
                    total += v
                    totalCount += 1
                }
                // Per held slot: exact count and sum.
                for s in (head - Int64(capacity) + 1)...head {
                    let inSlot = accepted.filter { floorDiv($0.0, resolution) == s }
                    let p = ring.clock.position(of: s)
                    #expect(ring.counts[p] == UInt64(inSlot.count))
                    #expect(abs(ring.sums[p] - inSlot.reduce(0) { $0 + $1.1 }) < 1e-9)
                }
                let totals = ring.totals
                #expect(totals.count == UInt64(totalCount))
                #expect(abs(totals.sum - total) < 1e-6)
            }
        }
    }

    @Test func counterResetsInsideASlotAreAddedBackToTheIncrease() {
        // Four samples per 10 s slot, with resets at arbitrary points, some inside slots.
        let ring = ScalarRing(capacity: 60, resolution: 10_000)
        var raw: [Sample] = []
        var value = 0.0
        var rng = SeededGenerator(seed: 3)
        var overflow = 0
        for i in 0..<200 {
            let t = Int64(i) * 2_500
            if rng.next() % 9 == 0 { value = Double(rng.next() % 5) } else { value += Double(rng.next() % 7) }
            raw.append(Sample(timestamp: t, value: value))
            ring.append(value, at: t, counter: true, hiddenOverflow: &overflow)
        }
        func promIncrease(_ s: [Sample]) -> Double {
            var inc = 0.0
            for i in 1..<s.count { inc += s[i].value >= s[i - 1].value ? s[i].value - s[i - 1].value : s[i].value }
            return inc
        }
        for windowSlots in [2, 5, 17, 60] {
            let through = raw.last!.timestamp
            let from = (floorDiv(through, 10_000) - Int64(windowSlots) + 1) * 10_000 - 1
            var view: [Sample] = []
            ring.samples(from: from, through: through, into: &view)
            // The truth: every raw sample from the first slot's last one onwards.
            let firstKept = view.first!.timestamp
            let truth = promIncrease(raw.filter { $0.timestamp >= firstKept && $0.timestamp <= through })
            let got = promIncrease(view) + ring.hiddenIncrease(from: from, through: through)
            #expect(abs(got - truth) < 1e-9, "window of \(windowSlots) slots")
        }
        #expect(overflow == 0)
    }
}
