/// The ring of a distribution series: per slot a sketch (count, sum, min, max, zero count and the
/// bucket spans of each sign) and the time of its newest observation.
///
/// Layout: one raw array per field, indexed by position (`slot mod capacity`), and per position
/// the `SlotBuckets` of each sign (sparse while few buckets are used, then a dense span). Slots are cleared in place when the head moves
/// over them, keeping their bucket storage, so steady-state inserts do not allocate; the insert
/// path touches no Swift array, so it pays for no reference counting, uniqueness or exclusivity
/// check (everything here is owned by the store's lock).
///
/// Only the newest `rawSlots` slots (the head and the ones just before it) keep their buckets raw;
/// when the head moves past a slot, its buckets are **sealed** (`SlotBuckets.seal`: about a byte
/// per used bucket instead of 4 per bucket of the span, storage of empty slots freed). A day's
/// tier of latency sketches is most of a store's memory, and nothing writes to its older slots
/// but the rare late line. Count, sum, min, max, zero count and time stay raw per position, so
/// reads treat sealed slots like the others and decode each sealed slot's buckets once.
///
/// Observations may arrive late or out of order (log lines): any observation whose slot the ring
/// still holds is added to that slot; older ones are refused. One into a sealed slot makes its
/// buckets raw again (exactly what they were before sealing), adds to them, and the slot is sealed
/// again when the head next moves: a burst of late lines into one old slot (an old file read
/// beside a live one) costs one decode and one encode, not one per line. Totals of cleared slots are kept
/// (`evictedCount`, `evictedSum`) so the series can also be read as the cumulative Prometheus
/// counters `_count` and `_sum`.
///
/// Window reads (`summary`) are answered one of three ways, all with the same result as merging
/// the window's slots one by one (`mergeSlotBySlot`, kept as the reference):
/// - directly: the window's buckets summed into one array sized to their union (one allocation,
///   no per-slot growth; a sparse slot costs its used buckets, not its span);
/// - from the running total `total`, the buckets of every held slot except the head, kept up to
///   date as the head moves (the old head is added, evicted slots subtracted) and as late
///   observations arrive: a window covering most of the ring costs a copy of the total minus the
///   few slots outside it — a 1 h window over a 1 h ring merges 1 slot instead of 360. The total
///   is built on the first read that profits from it, so series never read that way pay nothing;
/// - slot by slot, when the window's buckets span more than `maxBuckets` (the merge must
///   collapse, exactly as it always has).
/// Count, sum, min and max are always accumulated slot by slot in time order, so they are exact
/// and bit-identical whichever way the buckets were summed.
final class DistributionRing {
    @exclusivity(unchecked) var clock: RingClock
    let capacity: Int
    /// Per position: the slot's count (0 = empty), sum, min, max, zero count and newest time.
    let counts: UnsafeMutablePointer<UInt64>
    let sums: UnsafeMutablePointer<Double>
    let minimums: UnsafeMutablePointer<Double>
    let maximums: UnsafeMutablePointer<Double>
    let zeroCounts: UnsafeMutablePointer<UInt64>
    let lastAt: UnsafeMutablePointer<Timestamp>
    let positive: UnsafeMutablePointer<SlotBuckets>
    let negative: UnsafeMutablePointer<SlotBuckets>
    /// Start time and position of the head slot, so the common observation (into the head slot)
    /// needs no division. `headStart` is `.max` while the ring is empty.
    @exclusivity(unchecked) private var headStart: Timestamp = .max
    @exclusivity(unchecked) private var headPosition = 0
    @exclusivity(unchecked) private(set) var evictedCount: UInt64 = 0
    @exclusivity(unchecked) private(set) var evictedSum: Double = 0
    /// Buckets of every held slot but the head, when `totalValid`.
    @exclusivity(unchecked) var total = (positive: RawBuckets<UInt64>(), negative: RawBuckets<UInt64>())
    @exclusivity(unchecked) private(set) var totalValid = false
    /// Most buckets the total may span (beyond it the total is dropped and windows are read directly).
    static let totalBucketLimit = 1 << 14
    /// Slots whose buckets stay raw: the head and the 7 before it. Late log lines land within a
    /// few seconds of their peers (a tailer poll, files read in turn), so 80 s of a 10 s ring and
    /// 40 min of a 5 m tier take nearly all of them without a re-seal; a short window keeps raw
    /// only what is still being written (a 5 m tier's raw slot is ~1.3 KB of dense span).
    static let defaultRawSlots = 8
    /// Slots whose buckets stay raw, at most `capacity` (then none is ever sealed).
    let rawSlots: Int
    /// Older slots made raw by late writes since the head last moved (sealed again when it moves);
    /// a slot may appear twice (once per sign).
    @exclusivity(unchecked) private(set) var reopened: [Int64] = []

    /// A ring of `capacity` slots whose newest `rawSlots` keep their buckets raw.
    init(capacity: Int, resolution: Milliseconds, rawSlots: Int = DistributionRing.defaultRawSlots) {
        clock = RingClock(capacity: capacity, resolution: resolution)
        self.capacity = capacity
        self.rawSlots = min(max(1, rawSlots), capacity)
        counts = .allocate(capacity: capacity)
        counts.initialize(repeating: 0, count: capacity)
        sums = .allocate(capacity: capacity)
        sums.initialize(repeating: 0, count: capacity)
        minimums = .allocate(capacity: capacity)
        minimums.initialize(repeating: .infinity, count: capacity)
        maximums = .allocate(capacity: capacity)
        maximums.initialize(repeating: -.infinity, count: capacity)
        zeroCounts = .allocate(capacity: capacity)
        zeroCounts.initialize(repeating: 0, count: capacity)
        lastAt = .allocate(capacity: capacity)
        lastAt.initialize(repeating: 0, count: capacity)
        positive = .allocate(capacity: capacity)
        positive.initialize(repeating: SlotBuckets(), count: capacity)
        negative = .allocate(capacity: capacity)
        negative.initialize(repeating: SlotBuckets(), count: capacity)
    }

    deinit {
        for p in 0..<capacity {
            positive[p].deallocate()
            negative[p].deallocate()
        }
        total.positive.deallocate()
        total.negative.deallocate()
        counts.deallocate()
        sums.deallocate()
        minimums.deallocate()
        maximums.deallocate()
        zeroCounts.deallocate()
        lastAt.deallocate()
        positive.deallocate()
        negative.deallocate()
    }

    /// Bytes this ring owns on the heap.
    var heapBytes: Int {
        var bytes = capacity * (6 * 8 + 2 * MemoryLayout<SlotBuckets>.stride)
        for p in 0..<capacity { bytes += positive[p].heapBytes + negative[p].heapBytes }
        return bytes + total.positive.heapBytes + total.negative.heapBytes + reopened.capacity * 8
    }

    // MARK: Writing

    /// Adds one observation (not NaN); false when its slot is older than the ring holds.
    func observe(_ v: Double, at t: Timestamp, mapping: SketchMapping, maxBuckets: Int) -> (accepted: Bool, outcome: SketchInsertOutcome) {
        guard !v.isNaN else { return (false, .ignored) }
        return observe(v, bucket: SketchBucket(of: v, mapping: mapping), at: t, maxBuckets: maxBuckets)
    }

    /// Adds one observation whose bucket is already known; false when its slot is older than the ring holds.
    /// - Complexity: O(1) amortized; no allocation once the slot's bucket span is established.
    @inline(__always)
    func observe(_ v: Double, bucket: SketchBucket, at t: Timestamp, maxBuckets: Int) -> (accepted: Bool, outcome: SketchInsertOutcome) {
        let p: Int
        let late: Bool
        var sealedSlot = false
        if t >= headStart && t &- headStart < clock.resolution {
            p = headPosition
            late = false
        } else {
            guard let found = position(forObservationAt: t) else { return (false, .ignored) }
            p = found.position
            late = p != headPosition
            sealedSlot = found.sealed
        }
        let n = counts[p]
        counts[p] = n &+ 1
        sums[p] += v
        if n == 0 {
            minimums[p] = v
            maximums[p] = v
            lastAt[p] = t
        } else {
            if v < minimums[p] { minimums[p] = v }
            if v > maximums[p] { maximums[p] = v }
            if t > lastAt[p] { lastAt[p] = t }
        }
        if bucket.sign == 0 {
            zeroCounts[p] &+= 1
            return (true, .inserted)
        }
        let buckets = bucket.sign > 0 ? positive + p : negative + p
        if sealedSlot && (buckets.pointee.isSealed || buckets.pointee.raw.capacity == 0) { reopen(buckets, at: t) }
        let flags = buckets.pointee.increment(at: bucket.index, maxBuckets: maxBuckets)
        if late && totalValid { addLate(to: bucket, flags: flags) }
        if flags.saturated { return (true, .saturated) }
        return (true, flags.collapsed ? .collapsed : .inserted)
    }

    /// The position of the slot of `t`, and whether it lies outside the raw window (sealed),
    /// moving the head forward when `t` is newer; nil when the slot is older than the ring holds.
    @inline(never)
    private func position(forObservationAt t: Timestamp) -> (position: Int, sealed: Bool)? {
        let s = clock.slot(of: t)
        if let head = clock.head {
            if s <= head { return clock.holds(s) ? (clock.position(of: s), s <= head - Int64(rawSlots)) : nil }
            moveHead(from: head, to: s)
        } else {
            clock.head = s
        }
        headStart = clock.start(of: s)
        headPosition = clock.position(of: s)
        return (headPosition, false)
    }

    /// Makes the sealed (or freed, empty) buckets of an old slot raw for a late write at `t`,
    /// until the head next moves: a burst of late lines (an old file read after a live one)
    /// re-encodes a slot once, not per line. Raw buckets of an old slot were reopened already.
    @inline(never)
    private func reopen(_ buckets: UnsafeMutablePointer<SlotBuckets>, at t: Timestamp) {
        buckets.pointee.unseal()
        reopened.append(clock.slot(of: t))
    }

    /// Moves the head to the newer slot `s`, keeping the total: the old head joins it, and every
    /// slot the head passes over is evicted (subtracted from it).
    private func moveHead(from head: Int64, to s: Int64) {
        if s - head >= Int64(capacity) {
            if totalValid {
                total.positive.removeAll()
                total.negative.removeAll()
            }
        } else if totalValid {
            let h = clock.position(of: head)
            if !total.positive.add(positive[h], limit: Self.totalBucketLimit)
                || !total.negative.add(negative[h], limit: Self.totalBucketLimit) {
                dropTotal()
            }
        }
        clock.advance(to: s) { p in
            guard counts[p] != 0 else { return }
            evictedCount &+= counts[p]
            evictedSum += sums[p]
            if totalValid && s - head < Int64(capacity) {
                total.positive.subtract(positive[p])
                total.negative.subtract(negative[p])
            }
            clear(p)
        }
        // Every held slot at or before `head - rawSlots` is sealed already but those reopened by
        // late writes: seal them again, and those that just left the raw window (the ones the
        // head passed over are empty: that frees their storage).
        for slot in reopened where clock.holds(slot) && slot <= s - Int64(rawSlots) { seal(clock.position(of: slot)) }
        reopened.removeAll(keepingCapacity: reopened.count <= 16)
        let first = Swift.max(head - Int64(rawSlots) + 1, s - Int64(capacity) + 1)
        let last = s - Int64(rawSlots)
        if first <= last { forEachPosition(first...last) { p in seal(p) } }
    }

    /// Seals the buckets of position `p` (see the type's doc comment).
    private func seal(_ p: Int) {
        positive[p].seal()
        negative[p].seal()
    }

    /// Keeps the total up to date with a late observation into a slot other than the head.
    @inline(never)
    private func addLate(to bucket: SketchBucket, flags: (collapsed: Bool, saturated: Bool)) {
        // A collapse rewrote the slot's buckets: the total cannot follow cheaply; rebuild when next needed.
        guard !flags.collapsed else { return dropTotal() }
        guard !flags.saturated else { return }  // the slot's count did not move
        let ok = bucket.sign > 0
            ? total.positive.cover(bucket.index, bucket.index, limit: Self.totalBucketLimit)
            : total.negative.cover(bucket.index, bucket.index, limit: Self.totalBucketLimit)
        guard ok else { return dropTotal() }
        if bucket.sign > 0 { _ = total.positive.add(1, at: bucket.index, maxBuckets: Int.max) }
        else { _ = total.negative.add(1, at: bucket.index, maxBuckets: Int.max) }
    }

    private func dropTotal() {
        totalValid = false
        total.positive.removeAll()
        total.negative.removeAll()
    }

    /// Empties position `p`, keeping its bucket storage.
    @inline(__always)
    private func clear(_ p: Int) {
        counts[p] = 0
        sums[p] = 0
        minimums[p] = .infinity
        maximums[p] = -.infinity
        zeroCounts[p] = 0
        positive[p].removeAll()
        negative[p].removeAll()
    }

    // MARK: Reading

    /// The absolute slots overlapping `(from, through]` that the ring holds.
    @inline(__always)
    func heldSlots(from: Timestamp, through: Timestamp) -> ClosedRange<Int64>? {
        guard let (lo, hi) = overlappingSlots(from: from, through: through, resolution: clock.resolution) else { return nil }
        return clock.clip(lo, hi)
    }

    /// Calls `body` with the position of every slot in `range` (held slots), oldest first,
    /// without a division per slot.
    @inline(__always)
    func forEachPosition(_ range: ClosedRange<Int64>, _ body: (Int) -> Void) {
        var p = clock.position(of: range.lowerBound)
        for _ in 0..<Int(range.upperBound - range.lowerBound + 1) {
            body(p)
            p += 1
            if p == capacity { p = 0 }
        }
    }

    /// The merged sketch of the slots overlapping `(from, through]`, and how many merges collapsed.
    ///
    /// The same as `mergeSlotBySlot` into an empty sketch: count, sum, min, max, every bucket
    /// count and so every quantile (see the type's doc comment for the three ways).
    func summary(from: Timestamp, through: Timestamp, maxBuckets: Int) -> (sketch: Sketch, collapses: Int) {
        guard let range = heldSlots(from: from, through: through) else { return (Sketch(), 0) }
        // Exact aggregates in time order, the union of the bucket spans, and the occupied slots.
        var sketch = Sketch()
        var posLo = Int32.max, posHi = Int32.min, negLo = Int32.max, negHi = Int32.min
        var occupied = 0
        forEachPosition(range) { p in
            let n = counts[p]
            guard n != 0 else { return }
            occupied += 1
            sketch._count &+= n
            sketch._sum += sums[p]
            if minimums[p] < sketch._min { sketch._min = minimums[p] }
            if maximums[p] > sketch._max { sketch._max = maximums[p] }
            sketch.zeroCount &+= zeroCounts[p]
            let a = positive[p]
            if !a.isEmpty {
                posLo = Swift.min(posLo, a.lowest)
                posHi = Swift.max(posHi, a.highest)
            }
            let b = negative[p]
            if !b.isEmpty {
                negLo = Swift.min(negLo, b.lowest)
                negHi = Swift.max(negHi, b.highest)
            }
        }
        guard occupied > 0 else { return (Sketch(), 0) }
        let posSpan = posLo <= posHi ? Int(posHi) - Int(posLo) + 1 : 0
        let negSpan = negLo <= negHi ? Int(negHi) - Int(negLo) + 1 : 0
        if posSpan > maxBuckets || negSpan > maxBuckets {
            var merged = Sketch()
            let collapses = mergeSlotBySlot(range, into: &merged, maxBuckets: maxBuckets)
            return (merged, collapses)
        }
        var pos = [UInt64](repeating: 0, count: posSpan)
        var neg = [UInt64](repeating: 0, count: negSpan)
        if let excluded = slotsOutsideForTotal(range, occupiedInside: occupied) {
            pos.withUnsafeMutableBufferPointer { fromTotal(total.positive, buckets: positive, range, excluded, into: $0, lowest: posLo) }
            neg.withUnsafeMutableBufferPointer { fromTotal(total.negative, buckets: negative, range, excluded, into: $0, lowest: negLo) }
        } else {
            pos.withUnsafeMutableBufferPointer { direct(positive, range, into: $0, lowest: posLo) }
            neg.withUnsafeMutableBufferPointer { direct(negative, range, into: $0, lowest: negLo) }
        }
        if posSpan > 0 {
            sketch.positive.offset = posLo
            sketch.positive.counts = pos
        }
        if negSpan > 0 {
            sketch.negative.offset = negLo
            sketch.negative.counts = neg
        }
        return (sketch, 0)
    }

    /// Sums the spans of the slots in `range` into `out`, whose first bucket is `lowest`.
    private func direct(_ buckets: UnsafeMutablePointer<SlotBuckets>, _ range: ClosedRange<Int64>,
                        into out: UnsafeMutableBufferPointer<UInt64>, lowest: Int32) {
        guard out.count > 0, let base = out.baseAddress else { return }
        forEachPosition(range) { p in buckets[p].add(into: base, first: lowest) }
    }

    /// The held slots outside `range` (other than the head) when reading through the total is
    /// cheaper than merging the `occupiedInside` slots of the window; nil to read directly.
    /// Builds the total when it is missing and worth it.
    private func slotsOutsideForTotal(_ range: ClosedRange<Int64>, occupiedInside: Int) -> [ClosedRange<Int64>]? {
        // Below this many slots a direct read costs about what copying the total does.
        guard occupiedInside >= 16, let head = clock.head else { return nil }
        let oldest = head - Int64(capacity) + 1
        var outside: [ClosedRange<Int64>] = []
        if range.lowerBound > oldest { outside.append(oldest...(range.lowerBound - 1)) }
        if range.upperBound < head - 1 { outside.append((range.upperBound + 1)...(head - 1)) }
        var occupiedOutside = 0
        for part in outside { forEachPosition(part) { p in if counts[p] != 0 { occupiedOutside += 1 } } }
        // Reading through the total: one copy, the head, and a subtraction per occupied slot outside.
        guard occupiedOutside + 2 < occupiedInside / 2 else { return nil }
        if !totalValid && !buildTotal() { return nil }
        return outside
    }

    /// Sums every held slot but the head into `total`; false when the total would span too many buckets.
    private func buildTotal() -> Bool {
        guard let head = clock.head else { return false }
        total.positive.removeAll()
        total.negative.removeAll()
        var ok = true
        if head > clock.oldest! {
            forEachPosition(clock.oldest!...(head - 1)) { p in
                guard ok, counts[p] != 0 else { return }
                ok = total.positive.add(positive[p], limit: Self.totalBucketLimit)
                    && total.negative.add(negative[p], limit: Self.totalBucketLimit)
            }
        }
        totalValid = ok
        if !ok { dropTotal() }
        return ok
    }

    /// The window's buckets as the total, plus the head when the window holds it, minus the
    /// `excluded` slots; only the part `out` covers (the window's union, starting at `lowest`).
    private func fromTotal(_ sum: RawBuckets<UInt64>, buckets: UnsafeMutablePointer<SlotBuckets>,
                           _ range: ClosedRange<Int64>, _ excluded: [ClosedRange<Int64>],
                           into out: UnsafeMutableBufferPointer<UInt64>, lowest: Int32) {
        guard out.count > 0, let base = out.baseAddress else { return }
        let highest = Int(lowest) + out.count - 1
        // Copy the overlap of the total with the window's union.
        if !sum.isEmpty {
            let lo = Swift.max(Int(sum.offset), Int(lowest)), hi = Swift.min(Int(sum.maxIndex), highest)
            if lo <= hi {
                let source = sum.storage.unsafelyUnwrapped + (Int(sum.start) + lo - Int(sum.offset))
                (base + (lo - Int(lowest))).update(from: source, count: hi - lo + 1)
            }
        }
        // The head slot is not in the total.
        if let head = clock.head, range.contains(head) {
            buckets[clock.position(of: head)].add(into: base, first: lowest)
        }
        // Subtract what lies outside the window, clipped to the union: outside it the result is 0 anyway.
        for part in excluded {
            forEachPosition(part) { p in buckets[p].subtract(from: base, first: lowest, last: Int32(highest)) }
        }
    }

    /// Merges the held slots of `range` one by one into `into`, each as a `SlotSketch`; returns
    /// the number of merges that collapsed. The reference the faster reads are tested against,
    /// and the read when the window's buckets span more than `maxBuckets`.
    func mergeSlotBySlot(_ range: ClosedRange<Int64>, into summary: inout Sketch, maxBuckets: Int) -> Int {
        var collapses = 0
        forEachPosition(range) { p in
            if counts[p] != 0, summary.merge(slotSketch(at: p), maxBuckets: maxBuckets) == .collapsed { collapses += 1 }
        }
        return collapses
    }

    /// Merges the slots overlapping `(from, through]` one by one into `into`; returns the number of collapses.
    func mergeSlotBySlot(from: Timestamp, through: Timestamp, into summary: inout Sketch, maxBuckets: Int) -> Int {
        guard let range = heldSlots(from: from, through: through) else { return 0 }
        return mergeSlotBySlot(range, into: &summary, maxBuckets: maxBuckets)
    }

    /// The sketch of position `p` as a value (allocates; for checkpoints and the reference merge).
    func slotSketch(at p: Int) -> SlotSketch {
        var sketch = SlotSketch()
        guard counts[p] != 0 else { return sketch }
        sketch._count = counts[p]
        sketch._sum = sums[p]
        sketch._min = minimums[p]
        sketch._max = maximums[p]
        sketch.zeroCount = zeroCounts[p]
        if !positive[p].isEmpty { (sketch.positive.offset, sketch.positive.counts) = positive[p].denseCounts() }
        if !negative[p].isEmpty { (sketch.negative.offset, sketch.negative.counts) = negative[p].denseCounts() }
        return sketch
    }

    /// The cumulative count and sum at the end of each non-empty slot with `from < lastAt <= through`.
    func cumulative(from: Timestamp, through: Timestamp, into out: inout [CumulativeSample]) {
        guard let head = clock.head else { return }
        var count = evictedCount
        var sum = evictedSum
        forEachPosition((head - Int64(capacity) + 1)...head) { p in
            guard counts[p] != 0 else { return }
            count &+= counts[p]
            sum += sums[p]
            let t = lastAt[p]
            if t > from && t <= through {
                out.append(CumulativeSample(timestamp: t, count: Double(count), sum: sum))
            }
        }
    }

    /// Count and sum of everything ever observed (held and evicted).
    var totals: (count: UInt64, sum: Double) {
        var count = evictedCount
        var sum = evictedSum
        for p in 0..<capacity where counts[p] != 0 {
            count &+= counts[p]
            sum += sums[p]
        }
        return (count, sum)
    }

    /// Number of slots holding observations.
    var occupiedSlots: Int {
        var n = 0
        for p in 0..<capacity where counts[p] != 0 { n += 1 }
        return n
    }

    // MARK: Checkpoint access

    /// Sets the head after a restore (the ring must be empty).
    func restoreHead(_ head: Int64?) {
        clock.head = head
        if let head {
            headStart = clock.start(of: head)
            headPosition = clock.position(of: head)
        } else {
            headStart = .max
            headPosition = 0
        }
    }

    func restoreTotals(evictedCount: UInt64, evictedSum: Double) {
        self.evictedCount = evictedCount
        self.evictedSum = evictedSum
    }

    /// Puts a decoded slot sketch at held slot `s`.
    func restoreSlot(_ s: Int64, lastAt t: Timestamp, sketch: SlotSketch) {
        let p = clock.position(of: s)
        dropTotal()
        clear(p)
        guard sketch.count > 0 else { return }
        counts[p] = sketch.count
        sums[p] = sketch.sum
        minimums[p] = sketch.min
        maximums[p] = sketch.max
        zeroCounts[p] = sketch.zeroCount
        lastAt[p] = t
        positive[p].restore(offset: sketch.positive.offset, counts: sketch.positive.counts)
        negative[p].restore(offset: sketch.negative.offset, counts: sketch.negative.counts)
        if let head = clock.head, s <= head - Int64(rawSlots) { seal(p) }
    }
}

/// A distribution read as Prometheus's `_count` and `_sum` counters at one time.
public struct CumulativeSample: Sendable, Equatable {
    public var timestamp: Timestamp
    public var count: Double
    public var sum: Double
    public init(timestamp: Timestamp, count: Double, sum: Double) {
        self.timestamp = timestamp
        self.count = count
        self.sum = sum
    }
}
