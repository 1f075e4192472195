/// Contiguous bucket counts for one sign of a sketch: `counts[k]` is the count of bucket `offset + k`.
///
/// The array spans only the indices seen. When the span would exceed `maxBuckets`, the lowest
/// buckets are collapsed into one (the highest quantiles keep their accuracy; the lowest lose it),
/// and the collapse is reported to the caller so it can be counted.
@usableFromInline
struct BucketCounts<Count: FixedWidthInteger & UnsignedInteger & Sendable>: Sendable {
    @usableFromInline var offset: Int32 = 0
    @usableFromInline var counts: [Count] = []

    @inlinable init() {}

    @inlinable var isEmpty: Bool { counts.isEmpty }

    /// Index of the highest bucket (only when not empty).
    @inlinable var maxIndex: Int32 { offset + Int32(counts.count - 1) }

    @inlinable
    mutating func removeAll() {
        counts.removeAll(keepingCapacity: true)
        offset = 0
    }

    /// Adds `n` to bucket `index`; returns (collapsed, saturated) flags.
    @inlinable
    @discardableResult
    mutating func add(_ n: Count, at index: Int32, maxBuckets: Int) -> (collapsed: Bool, saturated: Bool) {
        if counts.isEmpty {
            offset = index
            counts.append(n)
            return (false, false)
        }
        var collapsed = false
        var k = Int(index) - Int(offset)
        if k < 0 {
            // Grow downwards, or fold into the lowest bucket when that would pass the cap.
            let room = maxBuckets - counts.count
            if room <= 0 {
                k = 0
                collapsed = true
            } else {
                let grow = min(-k, room)
                counts.insert(contentsOf: repeatElement(0, count: grow), at: 0)
                offset -= Int32(grow)
                k = Int(index) - Int(offset)
                if k < 0 {
                    k = 0
                    collapsed = true
                }
            }
        } else if k >= counts.count {
            let need = k + 1
            if need > maxBuckets {
                collapsed = true
                collapseLowest(keeping: maxBuckets, newMax: index)
                k = Int(index) - Int(offset)
            } else {
                counts.append(contentsOf: repeatElement(0, count: need - counts.count))
            }
        }
        let (sum, overflow) = counts[k].addingReportingOverflow(n)
        counts[k] = overflow ? Count.max : sum
        return (collapsed, overflow)
    }

    /// Makes room so that `newMax` fits with at most `keeping` buckets, folding the lowest into one.
    @usableFromInline
    mutating func collapseLowest(keeping: Int, newMax: Int32) {
        let newOffset = newMax - Int32(keeping - 1)
        var folded: Count = 0
        var kept: [Count] = []
        kept.reserveCapacity(keeping)
        for (k, c) in counts.enumerated() {
            let idx = offset + Int32(k)
            if idx <= newOffset {
                let (s, o) = folded.addingReportingOverflow(c)
                folded = o ? Count.max : s
            }
        }
        kept.append(folded)
        let firstKept = newOffset + 1
        for idx in firstKept...newMax {
            let k = Int(idx) - Int(offset)
            kept.append(k >= 0 && k < counts.count ? counts[k] : 0)
        }
        counts = kept
        offset = newOffset
    }
}
