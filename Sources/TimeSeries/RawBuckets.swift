#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Bucket counts of one sign in raw memory: bucket `offset + k` is `storage[start + k]`.
///
/// The dense form of the ring's slot buckets (`SlotBuckets`) and its running window total live
/// in these rather than in Swift arrays: no reference counting, uniqueness or exclusivity checks on the insert path, and the
/// span can grow at either end without moving (the storage keeps slack on both sides). The owner
/// frees the storage with `deallocate()`; a value copy shares the storage, so only the owner may
/// keep one. Spans grow and collapse exactly as `BucketCounts` does, so a slot answers the same
/// whichever layout holds it.
struct RawBuckets<Count: FixedWidthInteger & UnsignedInteger> {
    var storage: UnsafeMutablePointer<Count>? = nil
    var capacity: Int32 = 0
    /// Storage index of bucket `offset`.
    var start: Int32 = 0
    /// Index of the lowest bucket (0 when empty).
    var offset: Int32 = 0
    /// Number of buckets in the span; 0 when empty.
    var length: Int32 = 0

    @inline(__always) var isEmpty: Bool { length == 0 }
    /// Index of the highest bucket (only when not empty).
    @inline(__always) var maxIndex: Int32 { offset &+ length &- 1 }

    /// The counts of the span, lowest bucket first.
    @inline(__always) var counts: UnsafeMutableBufferPointer<Count> {
        UnsafeMutableBufferPointer(start: storage.map { $0 + Int(start) }, count: Int(length))
    }

    /// Frees the storage; the value is empty afterwards.
    mutating func deallocate() {
        storage?.deallocate()
        self = RawBuckets()
    }

    /// Empties the span, keeping the storage so that reuse does not allocate.
    @inline(__always) mutating func removeAll() {
        length = 0
        offset = 0
    }

    /// Heap bytes of the storage.
    var heapBytes: Int { Int(capacity) * MemoryLayout<Count>.stride }

    /// Adds `n` to bucket `index`; past `maxBuckets` the lowest buckets are folded into one
    /// (`collapsed`), and a count that would overflow stays at its maximum (`saturated`).
    @inline(__always)
    mutating func add(_ n: Count, at index: Int32, maxBuckets: Int) -> (collapsed: Bool, saturated: Bool) {
        let k = Int(index) &- Int(offset)
        if k >= 0 && k < Int(length) {
            let p = storage.unsafelyUnwrapped + (Int(start) &+ k)
            let (sum, overflow) = p.pointee.addingReportingOverflow(n)
            p.pointee = overflow ? Count.max : sum
            return (false, overflow)
        }
        return addOutsideSpan(n, at: index, maxBuckets: maxBuckets)
    }

    /// `add` when the bucket is outside the span: grow (or collapse) first, as `BucketCounts.add`.
    @inline(never)
    mutating func addOutsideSpan(_ n: Count, at index: Int32, maxBuckets: Int) -> (collapsed: Bool, saturated: Bool) {
        if length == 0 {
            widen(to: index, index)
            storage.unsafelyUnwrapped[Int(start)] = n
            return (false, false)
        }
        var collapsed = false
        var k = Int(index) - Int(offset)
        if k < 0 {
            // Grow downwards, or fold into the lowest bucket when that would pass the cap.
            let room = maxBuckets - Int(length)
            if room <= 0 {
                k = 0
                collapsed = true
            } else {
                let grow = Swift.min(-k, room)
                widen(to: offset - Int32(grow), maxIndex)
                k = Int(index) - Int(offset)
                if k < 0 {
                    k = 0
                    collapsed = true
                }
            }
        } else {
            let need = k + 1
            if need > maxBuckets {
                collapsed = true
                collapseLowest(keeping: maxBuckets, newMax: index)
            } else {
                widen(to: offset, index)
            }
            k = Int(index) - Int(offset)
        }
        let p = storage.unsafelyUnwrapped + (Int(start) + k)
        let (sum, overflow) = p.pointee.addingReportingOverflow(n)
        p.pointee = overflow ? Count.max : sum
        return (collapsed, overflow)
    }

    /// Makes room so that `newMax` fits with at most `keeping` buckets, folding the lowest into one.
    mutating func collapseLowest(keeping: Int, newMax: Int32) {
        let newOffset = newMax - Int32(keeping - 1)
        var kept = [Count](repeating: 0, count: keeping)
        let old = counts
        for k in 0..<old.count {
            let idx = Int(offset) + k
            if idx <= Int(newOffset) {
                let (s, o) = kept[0].addingReportingOverflow(old[k])
                kept[0] = o ? Count.max : s
            } else if idx <= Int(newMax) {
                kept[idx - Int(newOffset)] = old[k]
            }
        }
        if Int(capacity) < keeping {
            storage?.deallocate()
            let cap = RawBuckets.roundedCapacity(keeping)
            storage = .allocate(capacity: cap)
            capacity = Int32(cap)
        }
        start = 0
        offset = newOffset
        length = Int32(keeping)
        kept.withUnsafeBufferPointer { storage.unsafelyUnwrapped.initialize(from: $0.baseAddress!, count: keeping) }
    }

    /// Widens the span to `lo...hi` (which contains the current span), new buckets at zero.
    /// Moves or reallocates only when the storage's slack on that side is used up.
    mutating func widen(to lo: Int32, _ hi: Int32) {
        let newLength = Int(hi) - Int(lo) + 1
        guard length > 0 else {
            if newLength > Int(capacity) { reallocate(minimum: newLength) }
            start = Int32((Int(capacity) - newLength) / 2)
            offset = lo
            length = Int32(newLength)
            (storage.unsafelyUnwrapped + Int(start)).initialize(repeating: 0, count: newLength)
            return
        }
        let below = Int(offset) - Int(lo)
        let above = Int(hi) - Int(maxIndex)
        guard below > 0 || above > 0 else { return }
        if below <= Int(start) && Int(start) + Int(length) + above <= Int(capacity) {
            let base = storage.unsafelyUnwrapped
            (base + (Int(start) - below)).initialize(repeating: 0, count: below)
            (base + (Int(start) + Int(length))).initialize(repeating: 0, count: above)
            start -= Int32(below)
        } else {
            let old = storage.unsafelyUnwrapped + Int(start)
            let oldLength = Int(length)
            var target = storage.unsafelyUnwrapped
            var newCapacity = Int(capacity)
            let fresh = newLength > newCapacity
            if fresh {
                newCapacity = RawBuckets.roundedCapacity(newLength + Swift.max(4, newLength / 4))
                target = .allocate(capacity: newCapacity)
            }
            // Slack goes mostly to the side that grew: the next growth is likely there again.
            let slack = newCapacity - newLength
            let newStart = above == 0 ? slack - slack / 4 : below == 0 ? slack / 4 : slack / 2
            memmove(target + (newStart + below), old, oldLength * MemoryLayout<Count>.stride)
            (target + newStart).initialize(repeating: 0, count: below)
            (target + (newStart + below + oldLength)).initialize(repeating: 0, count: above)
            if fresh {
                storage.unsafelyUnwrapped.deallocate()
                storage = target
                capacity = Int32(newCapacity)
            }
            start = Int32(newStart)
        }
        offset = lo
        length = Int32(newLength)
    }

    /// Replaces empty storage by at least `minimum` buckets (nothing to keep).
    private mutating func reallocate(minimum: Int) {
        storage?.deallocate()
        let cap = RawBuckets.roundedCapacity(minimum)
        storage = .allocate(capacity: cap)
        capacity = Int32(cap)
    }

    /// The smallest capacity ≥ `n` whose allocation fills a malloc chunk (16-byte granules plus an
    /// 8-byte header), so the slack costs nothing.
    static func roundedCapacity(_ n: Int) -> Int {
        let stride = MemoryLayout<Count>.stride
        let bytes = ((Swift.max(n * stride, 24) + 8 + 15) & ~15) - 8
        return bytes / stride
    }

    /// Drops zero buckets at both ends of the span.
    mutating func trimZeros() {
        guard length > 0 else { return }
        let c = counts
        var lo = 0, hi = c.count - 1
        while lo <= hi && c[lo] == 0 { lo += 1 }
        while hi >= lo && c[hi] == 0 { hi -= 1 }
        if lo > hi {
            removeAll()
            return
        }
        start += Int32(lo)
        offset += Int32(lo)
        length = Int32(hi - lo + 1)
    }
}

extension RawBuckets where Count == UInt64 {
    /// Makes the span cover `lo...hi`; false when it would pass `limit` buckets.
    mutating func cover(_ lo: Int32, _ hi: Int32, limit: Int) -> Bool {
        if isEmpty {
            guard Int(hi) - Int(lo) + 1 <= limit else { return false }
            widen(to: lo, hi)
            return true
        }
        if lo >= offset && hi <= maxIndex { return true }
        var newLo = Swift.min(lo, offset), newHi = Swift.max(hi, maxIndex)
        if Int(newHi) - Int(newLo) + 1 > limit {
            trimZeros()
            if isEmpty { return cover(lo, hi, limit: limit) }
            newLo = Swift.min(lo, offset)
            newHi = Swift.max(hi, maxIndex)
            guard Int(newHi) - Int(newLo) + 1 <= limit else { return false }
        }
        widen(to: newLo, newHi)
        return true
    }
}
