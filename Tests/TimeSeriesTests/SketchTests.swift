import Testing
import Foundation
@testable import TimeSeries

@Suite struct SketchTests {
    let mapping = SketchMapping(relativeAccuracy: 0.01)

    func exactQuantile(_ sorted: [Double], _ q: Double) -> Double {
        sorted[Int((q * Double(sorted.count - 1)).rounded(.down))]
    }

    @Test(arguments: [0.001, 0.01, 0.05])
    func everyQuantileIsWithinTheRelativeAccuracy(alpha: Double) {
        let mapping = SketchMapping(relativeAccuracy: alpha)
        var rng = SeededGenerator(seed: 7)
        var sketch = Sketch()
        var values: [Double] = []
        for _ in 0..<20_000 {
            let v = exp(rng.normal() * 2) * (rng.unit() < 0.2 ? -1 : 1)
            values.append(v)
            sketch.insert(v, mapping: mapping, maxBuckets: 100_000)
        }
        values.sort()
        for q in stride(from: 0.0, through: 1.0, by: 0.01) {
            let exact = exactQuantile(values, q)
            #expect(withinRelativeError(sketch.quantile(q, mapping: mapping), exact, alpha), "q=\(q)")
        }
    }

    @Test func zerosNegativesAndTinyValuesAreOrderedCorrectly() {
        var sketch = Sketch()
        for v in [-5.0, -1, 0, 0, 0x1p-1063 /* ≈ 1e-320, subnormal */, 2, 3] { sketch.insert(v, mapping: mapping, maxBuckets: 2048) }
        #expect(sketch.count == 7)
        #expect(sketch.quantile(0, mapping: mapping) == -5)
        #expect(withinRelativeError(sketch.quantile(1.0 / 6, mapping: mapping), -1, 0.01))
        #expect(sketch.quantile(2.0 / 6, mapping: mapping) == 0)
        #expect(sketch.quantile(4.0 / 6, mapping: mapping) == 0)  // 1e-320 is below the indexable range
        #expect(sketch.quantile(1, mapping: mapping) == 3)
    }

    @Test func nanIsIgnoredAndInfinityDoesNotTrap() {
        var sketch = Sketch()
        #expect(sketch.insert(.nan, mapping: mapping, maxBuckets: 2048) == .ignored)
        #expect(sketch.insert(.infinity, mapping: mapping, maxBuckets: 2048) == .inserted)
        #expect(sketch.insert(.greatestFiniteMagnitude, mapping: mapping, maxBuckets: 2048) != .ignored)
        #expect(sketch.count == 2)
        #expect(sketch.quantile(1, mapping: mapping) == .infinity)
    }

    @Test func emptySketchAndOutOfRangeQuantilesAreNaN() {
        let sketch = Sketch()
        #expect(sketch.quantile(0.5, mapping: mapping).isNaN)
        var one = Sketch()
        one.insert(4, mapping: mapping, maxBuckets: 2048)
        #expect(one.quantile(-0.1, mapping: mapping).isNaN)
        #expect(one.quantile(1.1, mapping: mapping).isNaN)
        #expect(one.quantile(0.5, mapping: mapping) == 4)  // clamped to the exact min/max
    }

    @Test func mergingEqualsInsertingEverything() {
        var rng = SeededGenerator(seed: 11)
        var all = Sketch()
        var parts = Array(repeating: SlotSketch(), count: 30)
        for _ in 0..<30_000 {
            let v = rng.unit() * 1000 - 100
            all.insert(v, mapping: mapping, maxBuckets: 4096)
            parts[Int(rng.next() % 30)].insert(v, mapping: mapping, maxBuckets: 4096)
        }
        var merged = Sketch()
        for part in parts { merged.merge(part, maxBuckets: 4096) }
        #expect(merged.count == all.count)
        #expect(merged.positive.offset == all.positive.offset)
        #expect(merged.positive.counts == all.positive.counts)
        #expect(merged.negative.counts == all.negative.counts)
        for q in [0.0, 0.1, 0.5, 0.99, 1.0] {
            #expect(merged.quantile(q, mapping: mapping) == all.quantile(q, mapping: mapping))
        }
    }

    @Test func theBucketCapCollapsesTheLowestBucketsAndSaysSo() {
        var sketch = Sketch()
        var collapsed = false
        // 1e-6 … 1e6 spans ~1400 buckets at 1 %; a cap of 100 must fold the low end.
        var values: [Double] = []
        var v = 1e-6
        while v < 1e6 {
            values.append(v)
            if sketch.insert(v, mapping: mapping, maxBuckets: 100) == .collapsed { collapsed = true }
            v *= 1.05
        }
        #expect(collapsed)
        #expect(sketch.bucketCount <= 100)
        // The top quantiles keep their accuracy; the bottom ones do not.
        #expect(withinRelativeError(sketch.quantile(0.99, mapping: mapping), exactQuantile(values, 0.99), 0.01))
        #expect(!withinRelativeError(sketch.quantile(0.1, mapping: mapping), exactQuantile(values, 0.1), 0.01))
    }

    @Test func slotSketchCountsSaturateInsteadOfTrapping() {
        var counts = BucketCounts<UInt32>()
        counts.add(UInt32.max - 1, at: 5, maxBuckets: 10)
        let flags = counts.add(5, at: 5, maxBuckets: 10)
        #expect(flags.saturated)
        #expect(counts.counts == [UInt32.max])
    }

    @Test func bucketIndicesAreTheCeilingOfTheScaledLogarithm() {
        var rng = SeededGenerator(seed: 3)
        for alpha in [0.001, 0.01, 0.05] {
            let m = SketchMapping(relativeAccuracy: alpha)
            var values = (0..<20_000).map { _ in exp((rng.unit() - 0.5) * 200) }
            // Bucket bounds themselves (where the scaled logarithm is whole), and their neighbours.
            for i in -2_000...2_000 {
                let bound = exp(Double(i) / m.multiplier)
                values += [bound, bound.nextUp, bound.nextDown]
            }
            values += [m.minIndexableValue, 1, Double.greatestFiniteMagnitude]
            for v in values {
                let x = log(v) * m.multiplier
                let expected = x >= Double(Int32.max) ? Int32.max : Int32(x.rounded(.up))
                #expect(m.index(of: v) == expected, "α \(alpha) value \(v)")
            }
        }
        #expect(mapping.index(of: .infinity) == Int32.max)
    }
}
