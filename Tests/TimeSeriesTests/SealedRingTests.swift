import Testing
@testable import TimeSeries

/// Long scalar rings seal their older blocks: they must answer exactly as a raw ring does.
@Suite struct SealedRingTests {
    @Test func blocksRoundTripEveryValueAndOffsetBitForBit() {
        var rng = SeededGenerator(seed: 11)
        let specials: [Double] = [0, -0.0, 1, -1, .infinity, -.infinity, .nan, .staleMarker, .greatestFiniteMagnitude,
                                  .leastNonzeroMagnitude, 1e300, 12_345, 12_346, 0.1, 0.2]
        for round in 0..<2_000 {
            let count = 1 + Int(rng.next() % UInt64(ScalarBlockCodec.maxSlots))
            var values = [Double](repeating: 0, count: count)
            var offsets = [UInt16](repeating: ScalarBlockCodec.empty, count: count)
            for i in 0..<count where rng.next() % 4 != 0 {
                let previous = i > 0 ? values[i - 1] : 7
                switch rng.next() % 7 {
                case 0: values[i] = specials[Int(rng.next() % UInt64(specials.count))]
                case 1: values[i] = Double(bitPattern: rng.next())
                case 2: values[i] = previous
                case 3: values[i] = Double(round * 100 + i) * 2.5
                // Integers: steady and unsteady steps, huge ones, and the edges of exactness.
                case 4: values[i] = previous.rounded() + 148
                case 5: values[i] = previous.rounded() + Double(Int(rng.next() % 2_001) - 1_000)
                default: values[i] = [9.0e15 - 1, -9.0e15 + 1, 9.0e15, 4.5e15, -1, 0][Int(rng.next() % 6)]
                }
                switch rng.next() % 4 {
                case 0: offsets[i] = 0
                case 1: offsets[i] = 0xFFFE
                case 2: offsets[i] = i > 0 && offsets[i - 1] != ScalarBlockCodec.empty ? offsets[i - 1] &+ UInt16(rng.next() % 3) : 5
                default: offsets[i] = UInt16(rng.next() % 0xFFFF)
                }
            }
            var bytes: [UInt8] = [9]  // a block need not start at 0
            ScalarBlockCodec.append(values: values, offsets: offsets, count: count, to: &bytes)
            var decoded: [(Int, UInt64, UInt16)] = []
            bytes.withUnsafeBufferPointer { buffer in
                #expect(ScalarBlockCodec.end(of: buffer, at: 1) == bytes.count)
                ScalarBlockCodec.decode(buffer, at: 1) { decoded.append(($0, $1.bitPattern, $2)) }
            }
            let expected = (0..<count).filter { offsets[$0] != ScalarBlockCodec.empty }.map { ($0, values[$0].bitPattern, offsets[$0]) }
            #expect(decoded.count == expected.count, "round \(round)")
            for (d, e) in zip(decoded, expected) { #expect(d == e, "round \(round)") }
        }
    }

    /// Random writes (in order, in the same slot, late into held slots, across gaps of up to twice
    /// the ring) into a sealed ring and a raw one: every read must agree, and so must a restore.
    @Test(arguments: [(9, 1), (9, 2), (10, 3), (16, 4), (40, 4), (100, 32), (600, 32)])
    func sealedRingAnswersExactlyAsARawRing(capacity: Int, blockSlots: Int) {
        let resolution: Int64 = 1_000
        for seed in UInt64(0)..<12 {
            var rng = SeededGenerator(seed: seed &* 7919 &+ UInt64(capacity))
            let counter = seed % 2 == 0
            let sealed = ScalarRing(capacity: capacity, resolution: resolution, blockSlots: blockSlots)
            let raw = ScalarRing(capacity: capacity, resolution: resolution, blockSlots: 0)
            var t = Int64(rng.next() % 100_000) - 50_000
            var value = 100.0
            var overflowSealed = 0, overflowRaw = 0
            for step in 0..<(6 * capacity + 40) {
                let r = rng.next() % 20
                var at = t
                if r < 11 {
                    t += Int64(rng.next() % UInt64(2 * resolution))
                    at = t
                } else if r < 14 {
                    at = t - Int64(rng.next() % UInt64(resolution * Int64(capacity + 3)))  // late, maybe too late
                } else if r < 15 {
                    t += resolution * Int64(rng.next() % UInt64(2 * capacity + 2))  // a gap
                    at = t
                }
                if r % 7 == 0 { value = Double(rng.next() % 50) } else { value += Double(rng.next() % 9) * 0.25 }
                let v = rng.next() % 97 == 0 ? Double.staleMarker : value
                let a = sealed.append(v, at: at, counter: counter, hiddenOverflow: &overflowSealed)
                let b = raw.append(v, at: at, counter: counter, hiddenOverflow: &overflowRaw)
                #expect(a == b, "accepted, step \(step)")
                compare(sealed, raw, around: t, resolution: resolution, capacity: capacity, rng: &rng, "step \(step) seed \(seed)")
            }
            #expect(overflowSealed == overflowRaw)
            // A checkpoint of either restores into either.
            for (source, target) in [(sealed, ScalarRing(capacity: capacity, resolution: resolution, blockSlots: blockSlots)),
                                     (raw, ScalarRing(capacity: capacity, resolution: resolution, blockSlots: blockSlots)),
                                     (sealed, ScalarRing(capacity: capacity, resolution: resolution, blockSlots: 0))] {
                var slots: [(Int64, Double, UInt16)] = []
                source.forEachSlot { slots.append(($0, $1, $2)) }
                let state = source.counterState
                target.restore(head: source.clock.head, slots: slots.shuffled(using: &rng), previousSlotLast: state.previousSlotLast,
                               headTrueIncrease: state.headTrueIncrease, hidden: source.hidden)
                compare(target, raw, around: t, resolution: resolution, capacity: capacity, rng: &rng, "restored, seed \(seed)")
            }
        }
    }

    private func compare(_ a: ScalarRing, _ b: ScalarRing, around t: Int64, resolution: Int64, capacity: Int,
                         rng: inout SeededGenerator, _ note: String) {
        #expect(a.clock.head == b.clock.head, "\(note)")
        #expect(a.occupiedSlots == b.occupiedSlots, "\(note)")
        var slotsA: [String] = [], slotsB: [String] = []
        a.forEachSlot { slotsA.append("\($0) \($1.bitPattern) \($2)") }
        b.forEachSlot { slotsB.append("\($0) \($1.bitPattern) \($2)") }
        #expect(slotsA == slotsB, "\(note)")
        let span = resolution * Int64(capacity + 4)
        for _ in 0..<3 {
            let from = t - Int64(rng.next() % UInt64(span))
            let through = from + Int64(rng.next() % UInt64(span))
            var gotA: [Sample] = [], gotB: [Sample] = []
            a.samples(from: from, through: through, into: &gotA)
            b.samples(from: from, through: through, into: &gotB)
            #expect(gotA == gotB, "\(note) window (\(from), \(through)]")
            #expect(a.latest(atOrBefore: through, after: from) == b.latest(atOrBefore: through, after: from), "\(note)")
            // A query's lookback: a window of a few slots to a block and a half, anywhere.
            let lookback = resolution * Int64(1 + rng.next() % 48)
            #expect(a.latest(atOrBefore: through, after: through - lookback) == b.latest(atOrBefore: through, after: through - lookback),
                    "\(note) lookback \(lookback) at \(through)")
            #expect(a.hiddenIncrease(from: from, through: through) == b.hiddenIncrease(from: from, through: through), "\(note)")
        }
    }

    @Test func longRingsAreSealedAndShortOnesAreNot() {
        let series = Series(labels: Labels(name: "m", [:]), kind: .counter,
                            rings: [(10_000, 360), (300_000, 312), (60_000, 1_560), (3_600_000, 24), (1_000, 255)], now: 0)
        let b = ScalarRing.sealedBlockSlots
        #expect(series.scalar.map(\.blockSlots) == [b, b, b, 0, 0])
    }

    /// What sealing is for: a 1 m × 26 h tier after a day of 15 s scrapes, against 15.6 KB raw
    /// (measured: 4.6 KB for a steady counter or a constant, 5.5 KB for a moving gauge).
    @Test func aDayOfATierTakesUnder40PercentOfItsRawSize() {
        let capacity = 26 * 60
        for (name, shape) in [("steady counter", { (i: Int) in Double(1_000 + i * 37) }),
                              ("constant gauge", { (_: Int) in 1_024.0 }),
                              ("moving gauge", { (i: Int) in Double(48_000_000 + Int(1_000_000 * sin(Double(i) / 240)) / 4_096 * 4_096) })] {
            let ring = ScalarRing(capacity: capacity, resolution: 60_000, blockSlots: ScalarRing.sealedBlockSlots)
            var overflow = 0
            for i in 0..<(26 * 60 * 4) {
                let jitter = Int64((i * 7_919) % 5)  // a timer's few milliseconds
                ring.append(shape(i), at: Int64(i) * 15_000 + jitter, counter: name.hasSuffix("counter"), hiddenOverflow: &overflow)
            }
            #expect(ring.occupiedSlots == capacity)
            let limit = capacity * 10 * 40 / 100
            #expect(ring.heapBytes <= limit, "\(name): \(ring.heapBytes) bytes")
            print("\(name): \(ring.heapBytes) bytes after 26 h")
        }
    }
}

private func sin(_ x: Double) -> Double {
    // A few Taylor terms after range reduction are plenty for a test signal (no Foundation here).
    var y = x.truncatingRemainder(dividingBy: 2 * .pi)
    if y > .pi { y -= 2 * .pi } else if y < -.pi { y += 2 * .pi }
    var term = y, sum = y
    for n in stride(from: 3, through: 19, by: 2) {
        term *= -y * y / Double((n - 1) * n)
        sum += term
    }
    return sum
}
