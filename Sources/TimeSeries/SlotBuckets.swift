/// The bucket counts of one sign of a ring slot: sparse while the slot has few distinct buckets
/// for its span, dense once it fills up.
///
/// A slot holding 100 latencies spans ~250 buckets of 1 % but uses ~60 of them; merging and
/// storing the dense span costs 4× what the used buckets do. So a slot starts **sparse**: sorted
/// entries `key << 16 | count` (key = index − `base`, count < 65 536), found by binary search.
/// It turns **dense** (`RawBuckets` semantics: a `UInt32` per bucket of the span) when that is at
/// most twice the memory of the entries (≥ 16 entries filling half the span or more), when it
/// holds 256 entries (inserts would move too much), when a count or key outgrows 16 bits, or when
/// a new bucket would stretch the span past `maxBuckets` (the dense span then collapses exactly as
/// `BucketCounts` does). Both modes hold the same counts over the same span — a sparse slot's span
/// is that of a dense one built by the same inserts — so every read answers the same either way.
///
/// Both modes use the same storage (4-byte elements), kept when the slot is cleared: `raw.start`
/// is −1 in sparse mode, where `raw.offset` is the base and `raw.length` the number of entries.
///
/// A third mode, **sealed**, holds a slot the ring no longer writes to (see `DistributionRing`) in
/// a few bytes per used bucket: `raw.start` is `Int32.min`, `raw.offset` and `raw.length` keep the
/// exact span (zero ends included), and the storage holds `SealedBuckets`' bytes. Every read
/// answers the same as before sealing; a write (a late observation) unseals the slot first.
struct SlotBuckets {
    var raw = RawBuckets<UInt32>(storage: nil, capacity: 0, start: -1, offset: 0, length: 0)

    static let denseMinimumEntries = 16
    static let sparseMaximumEntries = 256

    static let sealedMark = Int32.min

    @inline(__always) var isSparse: Bool { raw.start == -1 }
    @inline(__always) var isSealed: Bool { raw.start == Self.sealedMark }
    @inline(__always) var isEmpty: Bool { raw.length == 0 }

    /// Index of the lowest bucket of the span (only when not empty).
    @inline(__always) var lowest: Int32 {
        isSparse ? raw.offset &+ Int32(raw.storage.unsafelyUnwrapped[0] >> 16) : raw.offset
    }

    /// Index of the highest bucket of the span (only when not empty).
    @inline(__always) var highest: Int32 {
        isSparse ? raw.offset &+ Int32(raw.storage.unsafelyUnwrapped[Int(raw.length) - 1] >> 16) : raw.maxIndex
    }

    var heapBytes: Int { raw.heapBytes }

    mutating func deallocate() {
        raw.deallocate()
        raw.start = -1
    }

    /// Empties the buckets, keeping the storage; the slot starts sparse again.
    @inline(__always) mutating func removeAll() {
        raw.start = -1
        raw.offset = 0
        raw.length = 0
    }

    /// Adds 1 to bucket `index`; flags as `BucketCounts.add`.
    @inline(__always)
    mutating func increment(at index: Int32, maxBuckets: Int) -> (collapsed: Bool, saturated: Bool) {
        if raw.start >= 0 { return raw.add(1, at: index, maxBuckets: maxBuckets) }
        if raw.start == -1 { return incrementSparse(at: index, maxBuckets: maxBuckets) }
        return incrementSealed(at: index, maxBuckets: maxBuckets)
    }

    /// A late write into a sealed slot: unsealed, incremented as the raw slot would be, sealed again.
    @inline(never)
    private mutating func incrementSealed(at index: Int32, maxBuckets: Int) -> (collapsed: Bool, saturated: Bool) {
        unseal()
        let flags = increment(at: index, maxBuckets: maxBuckets)
        seal()
        return flags
    }

    private mutating func incrementSparse(at index: Int32, maxBuckets: Int) -> (collapsed: Bool, saturated: Bool) {
        let n = Int(raw.length)
        if n == 0 {
            if raw.capacity == 0 { reallocateSparse(minimum: 1) }
            raw.offset = index &- 0x8000
            raw.storage.unsafelyUnwrapped[0] = 0x8000_0001
            raw.length = 1
            return (false, false)
        }
        let rel = Int(index) - Int(raw.offset)
        guard rel >= 0 && rel <= 0xFFFF else { return denseThenIncrement(at: index, maxBuckets: maxBuckets) }
        let key = UInt32(rel) << 16
        let entries = raw.storage.unsafelyUnwrapped
        // Lower bound of key among the entries (their low 16 bits are counts, never ≥ 1 << 16).
        var lo = 0, hi = n
        while lo < hi {
            let mid = (lo &+ hi) >> 1
            if entries[mid] < key { lo = mid &+ 1 } else { hi = mid }
        }
        if lo < n && entries[lo] & 0xFFFF_0000 == key {
            if entries[lo] & 0xFFFF == 0xFFFF { return denseThenIncrement(at: index, maxBuckets: maxBuckets) }
            entries[lo] &+= 1
            return (false, false)
        }
        // A new bucket: it may stretch the span past the cap (the dense form collapses it).
        let newLowest = lo == 0 ? index : lowest
        let newHighest = lo == n ? index : highest
        if Int(newHighest) - Int(newLowest) + 1 > maxBuckets { return denseThenIncrement(at: index, maxBuckets: maxBuckets) }
        if n == Int(raw.capacity) { growSparse() }
        let at = raw.storage.unsafelyUnwrapped + lo
        if lo < n { (at + 1).update(from: at, count: n - lo) }
        at.pointee = key | 1
        raw.length = Int32(n + 1)
        let span = Int(newHighest) - Int(newLowest) + 1
        if (n + 1 >= Self.denseMinimumEntries && span <= 2 * (n + 1)) || n + 1 >= Self.sparseMaximumEntries { makeDense() }
        return (false, false)
    }

    private mutating func denseThenIncrement(at index: Int32, maxBuckets: Int) -> (collapsed: Bool, saturated: Bool) {
        makeDense()
        return raw.add(1, at: index, maxBuckets: maxBuckets)
    }

    private mutating func reallocateSparse(minimum: Int) {
        raw.storage?.deallocate()
        let cap = RawBuckets<UInt32>.roundedCapacity(minimum)
        raw.storage = .allocate(capacity: cap)
        raw.capacity = Int32(cap)
    }

    private mutating func growSparse() {
        let n = Int(raw.length)
        let cap = RawBuckets<UInt32>.roundedCapacity(n + Swift.max(4, n / 2))
        let bigger = UnsafeMutablePointer<UInt32>.allocate(capacity: cap)
        bigger.initialize(from: raw.storage.unsafelyUnwrapped, count: n)
        raw.storage.unsafelyUnwrapped.deallocate()
        raw.storage = bigger
        raw.capacity = Int32(cap)
    }

    /// Turns a sparse slot dense, over the same span.
    mutating func makeDense() {
        guard isSparse else { return }
        let n = Int(raw.length)
        guard n > 0 else {
            raw.start = 0
            return
        }
        let entries = raw.storage.unsafelyUnwrapped
        let base = raw.offset
        let lo = lowest, hi = highest
        let span = Int(hi) - Int(lo) + 1
        // Fresh storage with slack on both sides: the dense span grows from here.
        let cap = RawBuckets<UInt32>.roundedCapacity(span + Swift.max(4, span / 4))
        let dense = UnsafeMutablePointer<UInt32>.allocate(capacity: cap)
        let start = (cap - span) / 2
        (dense + start).initialize(repeating: 0, count: span)
        for k in 0..<n {
            let e = entries[k]
            dense[start + Int(base &+ Int32(e >> 16) &- lo)] = e & 0xFFFF
        }
        entries.deallocate()
        raw = RawBuckets(storage: dense, capacity: Int32(cap), start: Int32(start), offset: lo, length: Int32(span))
    }

    /// Calls `body` with each bucket index and count (dense mode includes zero counts), lowest first.
    @inline(__always)
    func forEach(_ body: (Int32, UInt32) -> Void) {
        guard let storage = raw.storage, raw.length > 0 else { return }
        if isSealed {
            SealedBuckets.forEach(UnsafeRawPointer(storage), first: raw.offset) { index, c in body(index, UInt32(truncatingIfNeeded: c)) }
        } else if isSparse {
            let base = raw.offset
            for k in 0..<Int(raw.length) {
                let e = storage[k]
                body(base &+ Int32(e >> 16), e & 0xFFFF)
            }
        } else {
            let counts = storage + Int(raw.start)
            for k in 0..<Int(raw.length) { body(raw.offset &+ Int32(k), counts[k]) }
        }
    }

    /// Adds every count into `out`, whose element 0 is bucket `first` and which covers the span.
    @inline(__always)
    func add(into out: UnsafeMutablePointer<UInt64>, first: Int32) {
        guard let storage = raw.storage, raw.length > 0 else { return }
        if isSealed {
            SealedBuckets.accumulate(UnsafeRawPointer(storage), first: raw.offset, into: out, outFirst: first,
                                     clip: raw.offset, raw.maxIndex, negate: false)
        } else if isSparse {
            let target = out + (Int(raw.offset) - Int(first))
            for k in 0..<Int(raw.length) {
                let e = storage[k]
                target[Int(e >> 16)] &+= UInt64(e & 0xFFFF)
            }
        } else {
            let target = out + (Int(raw.offset) - Int(first))
            let source = storage + Int(raw.start)
            for k in 0..<Int(raw.length) { target[k] &+= UInt64(source[k]) }
        }
    }

    /// Subtracts the counts of buckets `first...last` from `out` (element 0 is bucket `first`).
    @inline(__always)
    func subtract(from out: UnsafeMutablePointer<UInt64>, first: Int32, last: Int32) {
        guard let storage = raw.storage, raw.length > 0 else { return }
        if isSealed {
            SealedBuckets.accumulate(UnsafeRawPointer(storage), first: raw.offset, into: out, outFirst: first,
                                     clip: first, last, negate: true)
        } else if isSparse {
            let base = Int(raw.offset)
            for k in 0..<Int(raw.length) {
                let e = storage[k]
                let index = base + Int(e >> 16)
                if index >= Int(first) && index <= Int(last) { out[index - Int(first)] &-= UInt64(e & 0xFFFF) }
            }
        } else {
            let lo = Swift.max(Int(raw.offset), Int(first)), hi = Swift.min(Int(raw.maxIndex), Int(last))
            guard lo <= hi else { return }
            let source = storage + (Int(raw.start) + lo - Int(raw.offset))
            let target = out + (lo - Int(first))
            for k in 0..<(hi - lo + 1) { target[k] &-= UInt64(source[k]) }
        }
    }

    /// The dense form: the lowest index and a count per bucket of the span.
    func denseCounts() -> (offset: Int32, counts: [UInt32]) {
        guard !isEmpty else { return (0, []) }
        let lo = lowest
        var counts = [UInt32](repeating: 0, count: Int(highest) - Int(lo) + 1)
        forEach { index, c in counts[Int(index) - Int(lo)] = c }
        return (lo, counts)
    }

    /// Encodes the buckets into their sealed form and frees the raw storage (an empty slot just
    /// frees it: an idle slot costs nothing).
    mutating func seal() {
        guard !isSealed else { return }
        guard !isEmpty else { return deallocate() }
        let lo = lowest, span = Int(highest) - Int(lo) + 1
        let bytes = SealedBuckets.encode(self, first: lo)
        raw.storage?.deallocate()
        let words = (bytes.count + 3) / 4
        let storage = UnsafeMutablePointer<UInt32>.allocate(capacity: words)
        bytes.withUnsafeBytes { UnsafeMutableRawPointer(storage).copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        raw = RawBuckets(storage: storage, capacity: Int32(words), start: Self.sealedMark, offset: lo, length: Int32(span))
    }

    /// Turns a sealed slot back into its raw form (sparse or dense, as `restore` picks), with the same span and counts.
    mutating func unseal() {
        guard isSealed else { return }
        let (offset, counts) = denseCounts()
        restore(offset: offset, counts: counts)
    }

    /// Replaces the content by a dense span (from a checkpoint), sparse when that is the
    /// smaller form and the span has no zero ends (so its span stays exactly the same).
    mutating func restore(offset: Int32, counts: [UInt32]) {
        removeAll()
        guard !counts.isEmpty else { return }
        let used = counts.reduce(0) { $0 + ($1 == 0 ? 0 : 1) }
        let sparse = counts.first != 0 && counts.last != 0 && counts.count <= 0x10000
            && used < Self.sparseMaximumEntries && !(used >= Self.denseMinimumEntries && counts.count <= 2 * used)
            && counts.allSatisfy { $0 <= 0xFFFF }
        if sparse {
            if Int(raw.capacity) < used { reallocateSparse(minimum: used) }
            raw.offset = offset
            var n = 0
            for (k, c) in counts.enumerated() where c != 0 {
                raw.storage.unsafelyUnwrapped[n] = UInt32(k) << 16 | c
                n += 1
            }
            raw.length = Int32(n)
        } else {
            raw.start = 0
            raw.length = 0
            raw.widen(to: offset, offset &+ Int32(counts.count - 1))
            _ = counts.withUnsafeBufferPointer { raw.counts.update(fromContentsOf: $0) }
        }
    }
}

extension RawBuckets where Count == UInt64 {
    /// Adds every count of a slot, widening the span as needed; false (nothing added) when the
    /// span would pass `limit` buckets even without its zero ends.
    mutating func add(_ source: SlotBuckets, limit: Int) -> Bool {
        guard !source.isEmpty else { return true }
        if !cover(source.lowest, source.highest, limit: limit) { return false }
        source.add(into: storage.unsafelyUnwrapped + Int(start), first: offset)
        return true
    }

    /// Subtracts every count of a slot, which this span holds (it was added before).
    mutating func subtract(_ source: SlotBuckets) {
        guard !source.isEmpty else { return }
        source.subtract(from: storage.unsafelyUnwrapped + Int(start), first: offset, last: maxIndex)
    }
}
