/// A mergeable quantile sketch with a relative-error guarantee (DDSketch-style logarithmic buckets).
///
/// Any quantile it returns is within `relativeAccuracy` of the exact value at that rank, for any
/// data and after any number of merges, as long as no bucket was collapsed (the cap on the bucket
/// span folds the lowest buckets together; collapses are counted by the store). Positive and
/// negative values have their own buckets; magnitudes below `mapping.minIndexableValue` count as
/// zero. `Count` is the width of a bucket count: `UInt32` keeps the ring's slot sketches compact,
/// `UInt64` is used when merging over windows.
///
/// A rank `q·(n−1)` (rounded down) picks the element; the answer is that element's bucket value,
/// clamped to the exact `min`/`max` of what was inserted.
public struct QuantileSketch<Count: FixedWidthInteger & UnsignedInteger & Sendable>: Sendable {
    // Stored as @usableFromInline so the inlinable insert can update them from other modules.
    @usableFromInline var _count: UInt64 = 0
    @usableFromInline var _sum: Double = 0
    @usableFromInline var _min: Double = .infinity
    @usableFromInline var _max: Double = -.infinity
    /// Number of values inserted.
    @inlinable public var count: UInt64 { _count }
    /// Sum of the values inserted (exact up to floating-point addition).
    @inlinable public var sum: Double { _sum }
    /// Smallest value inserted (+∞ when empty).
    @inlinable public var min: Double { _min }
    /// Largest value inserted (−∞ when empty).
    @inlinable public var max: Double { _max }
    @usableFromInline var zeroCount: UInt64 = 0
    @usableFromInline var positive = BucketCounts<Count>()
    @usableFromInline var negative = BucketCounts<Count>()

    /// An empty sketch.
    @inlinable public init() {}

    /// True when nothing was inserted.
    @inlinable public var isEmpty: Bool { count == 0 }

    /// Number of buckets in use, over both signs.
    public var bucketCount: Int { positive.counts.count + negative.counts.count }

    /// Empties the sketch, keeping its storage so that reuse does not allocate.
    @inlinable
    public mutating func removeAll() {
        _count = 0
        _sum = 0
        _min = .infinity
        _max = -.infinity
        zeroCount = 0
        positive.removeAll()
        negative.removeAll()
    }

    /// Inserts one value; NaN is ignored and reported as `.ignored`.
    /// - Complexity: O(1) amortized; no allocation once the bucket span is established.
    @inlinable
    @discardableResult
    public mutating func insert(_ v: Double, mapping: SketchMapping, maxBuckets: Int) -> SketchInsertOutcome {
        if v.isNaN { return .ignored }
        _count &+= 1
        _sum += v
        if v < _min { _min = v }
        if v > _max { _max = v }
        let magnitude = Swift.abs(v)
        let flags: (collapsed: Bool, saturated: Bool)
        if magnitude < mapping.minIndexableValue {
            zeroCount &+= 1
            return .inserted
        } else if v > 0 {
            flags = positive.add(1, at: mapping.index(of: magnitude), maxBuckets: maxBuckets)
        } else {
            flags = negative.add(1, at: mapping.index(of: magnitude), maxBuckets: maxBuckets)
        }
        if flags.saturated { return .saturated }
        return flags.collapsed ? .collapsed : .inserted
    }

    /// Adds every value of `other` (which must use the same mapping); reports a collapse if one happened.
    @inlinable
    @discardableResult
    public mutating func merge<Other>(_ other: QuantileSketch<Other>, maxBuckets: Int) -> SketchInsertOutcome {
        guard other.count > 0 else { return .inserted }
        _count &+= other.count
        _sum += other.sum
        if other.min < _min { _min = other.min }
        if other.max > _max { _max = other.max }
        zeroCount &+= other.zeroCount
        var outcome = SketchInsertOutcome.inserted
        func fold(_ source: BucketCounts<Other>, into target: inout BucketCounts<Count>) {
            guard !source.isEmpty else { return }
            // Pre-size to the union span so the adds below do not regrow one bucket at a time.
            if !target.isEmpty {
                let lo = Swift.min(target.offset, source.offset)
                let hi = Swift.max(target.maxIndex, source.maxIndex)
                let span = Int(hi) - Int(lo) + 1
                if span <= maxBuckets {
                    if lo < target.offset {
                        target.counts.insert(contentsOf: repeatElement(0, count: Int(target.offset - lo)), at: 0)
                        target.offset = lo
                    }
                    if hi > target.maxIndex {
                        target.counts.append(contentsOf: repeatElement(0, count: Int(hi - target.maxIndex)))
                    }
                    for (k, c) in source.counts.enumerated() where c != 0 {
                        let t = Int(source.offset) + k - Int(target.offset)
                        let (s, o) = target.counts[t].addingReportingOverflow(Count(clamping: c))
                        target.counts[t] = o ? Count.max : s
                        if o || c > Count.max { outcome = .saturated }
                    }
                    return
                }
            }
            // Highest first, so a collapse folds the lowest buckets as the cap intends.
            for k in stride(from: source.counts.count - 1, through: 0, by: -1) where source.counts[k] != 0 {
                let flags = target.add(Count(clamping: source.counts[k]), at: source.offset + Int32(k), maxBuckets: maxBuckets)
                if flags.saturated || source.counts[k] > Count.max { outcome = .saturated }
                else if flags.collapsed, outcome == .inserted { outcome = .collapsed }
            }
        }
        fold(other.positive, into: &positive)
        fold(other.negative, into: &negative)
        return outcome
    }

    /// The value at quantile `q` (0…1) of what was inserted; NaN when empty or `q` is outside 0…1.
    public func quantile(_ q: Double, mapping: SketchMapping) -> Double {
        guard count > 0, q >= 0, q <= 1 else { return .nan }
        if q == 0 { return min }
        if q == 1 { return max }
        let rank = UInt64((q * Double(count - 1)).rounded(.down))
        var seen: UInt64 = 0
        var result = Double.nan
        // Negative values, most negative (highest magnitude index) first.
        if !negative.isEmpty {
            for k in stride(from: negative.counts.count - 1, through: 0, by: -1) {
                seen &+= UInt64(negative.counts[k])
                if seen > rank {
                    result = -mapping.value(at: negative.offset + Int32(k))
                    return clamp(result)
                }
            }
        }
        seen &+= zeroCount
        if seen > rank { return clamp(0) }
        for k in 0..<positive.counts.count {
            seen &+= UInt64(positive.counts[k])
            if seen > rank {
                result = mapping.value(at: positive.offset + Int32(k))
                return clamp(result)
            }
        }
        // Saturated counts can leave the walk short: the answer is then the top of the data.
        return max
    }

    @inlinable func clamp(_ v: Double) -> Double {
        Swift.min(Swift.max(v, min), max)
    }

    /// The mean of what was inserted; NaN when empty.
    public var mean: Double { count == 0 ? .nan : sum / Double(count) }
}

/// What an insert or merge did beyond counting the value.
public enum SketchInsertOutcome: Sendable, Equatable {
    /// The value was counted in its own bucket.
    case inserted
    /// The value was counted, but the bucket cap folded the lowest buckets together.
    case collapsed
    /// A bucket count reached its maximum and stopped growing.
    case saturated
    /// NaN: not counted.
    case ignored
}

/// The sketch used for results and merges over windows (64-bit counts).
public typealias Sketch = QuantileSketch<UInt64>

/// The sketch kept in each ring slot (32-bit counts, half the memory).
public typealias SlotSketch = QuantileSketch<UInt32>
