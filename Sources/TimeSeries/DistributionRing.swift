/// The ring of a distribution series: per slot a sketch (with count, sum, min and max) and the
/// time of its newest observation.
///
/// Observations may arrive late or out of order (log lines): any observation whose slot the ring
/// still holds is added to that slot; older ones are refused. Slots are cleared in place when the
/// head moves over them, keeping their bucket storage, so steady-state inserts do not allocate.
/// Totals of cleared slots are kept (`evictedCount`, `evictedSum`) so the series can also be read
/// as the cumulative Prometheus counters `_count` and `_sum`.
final class DistributionRing {
    var clock: RingClock
    var slots: [SlotSketch]
    /// Newest observation time per position (meaningful only where the slot is not empty).
    var lastAt: [Timestamp]
    private(set) var evictedCount: UInt64 = 0
    private(set) var evictedSum: Double = 0

    init(capacity: Int, resolution: Milliseconds) {
        clock = RingClock(capacity: capacity, resolution: resolution)
        slots = Array(repeating: SlotSketch(), count: capacity)
        lastAt = Array(repeating: 0, count: capacity)
    }

    /// Bytes this ring owns on the heap.
    var heapBytes: Int {
        var bytes = slots.capacity * MemoryLayout<SlotSketch>.stride + lastAt.capacity * 8
        for slot in slots {
            bytes += (slot.positive.counts.capacity + slot.negative.counts.capacity) * MemoryLayout<UInt32>.stride
        }
        return bytes
    }

    /// Adds one observation; false when its slot is older than the ring holds.
    @inline(__always)
    func observe(_ v: Double, at t: Timestamp, mapping: SketchMapping, maxBuckets: Int) -> (accepted: Bool, outcome: SketchInsertOutcome) {
        let s = clock.slot(of: t)
        if clock.head == nil || s > clock.head! {
            clock.advance(to: s) { p in
                if !slots[p].isEmpty {
                    evictedCount &+= slots[p].count
                    evictedSum += slots[p].sum
                    slots[p].removeAll()
                }
            }
        } else if !clock.holds(s) {
            return (false, .ignored)
        }
        let p = clock.position(of: s)
        let outcome = slots[p].insert(v, mapping: mapping, maxBuckets: maxBuckets)
        if outcome != .ignored, slots[p].count == 1 || t > lastAt[p] { lastAt[p] = t }
        return (true, outcome)
    }

    /// Merges the slots overlapping `(from, through]` into `into`; returns the number of collapses.
    func merge(from: Timestamp, through: Timestamp, into summary: inout Sketch, maxBuckets: Int) -> Int {
        guard let (lo, hi) = overlappingSlots(from: from, through: through, resolution: clock.resolution),
              let range = clock.clip(lo, hi) else { return 0 }
        var collapses = 0
        for s in range {
            let p = clock.position(of: s)
            if !slots[p].isEmpty, summary.merge(slots[p], maxBuckets: maxBuckets) == .collapsed { collapses += 1 }
        }
        return collapses
    }

    /// The cumulative count and sum at the end of each non-empty slot with `from < lastAt <= through`.
    func cumulative(from: Timestamp, through: Timestamp, into out: inout [CumulativeSample]) {
        guard let head = clock.head else { return }
        var count = evictedCount
        var sum = evictedSum
        for s in (head - Int64(clock.capacity) + 1)...head {
            let p = clock.position(of: s)
            guard !slots[p].isEmpty else { continue }
            count &+= slots[p].count
            sum += slots[p].sum
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
        for slot in slots where !slot.isEmpty {
            count &+= slot.count
            sum += slot.sum
        }
        return (count, sum)
    }

    /// Number of slots holding observations.
    var occupiedSlots: Int { slots.reduce(0) { $0 + ($1.isEmpty ? 0 : 1) } }

    // MARK: Checkpoint access

    func restoreTotals(evictedCount: UInt64, evictedSum: Double) {
        self.evictedCount = evictedCount
        self.evictedSum = evictedSum
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
