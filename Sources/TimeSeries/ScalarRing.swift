/// The ring of a gauge or counter series: per slot the last sample, in 10 bytes.
///
/// Layout: one allocation of `capacity` doubles (the last value of each slot) followed by
/// `capacity` `UInt16` offsets (time of that sample from the slot start, in `tick` ms; `0xFFFF`
/// marks an empty slot). At the default 10 s × 1 h this is 3 600 bytes. Timestamps are exact when
/// the resolution is at most 65.535 s (tick = 1 ms); coarser tiers round them to the tick.
///
/// Several samples in one slot keep only the last. What that changes, and how:
/// - instant selectors, `last_over_time`, `timestamp`: exact (the newest sample is kept);
/// - `rate`/`increase`/`delta` and `*_over_time`: computed from one sample per slot, i.e. over a
///   thinned series — exactly Prometheus's result when each slot holds at most one sample;
/// - counter resets between samples that shared a slot would be invisible in the thinned series, so
///   the ring records, per slot, the increase they hide (`hidden`) and `hiddenIncrease` adds it back:
///   `increase` stays exact however many samples share a slot.
final class ScalarRing {
    // Owned by the store's lock: no exclusivity checks on the append path.
    @exclusivity(unchecked) var clock: RingClock
    let tick: Milliseconds
    private let storage: UnsafeMutableRawPointer
    private let values: UnsafeMutablePointer<Double>
    private let offsets: UnsafeMutablePointer<UInt16>
    static let empty: UInt16 = 0xFFFF

    // Counter bookkeeping: the last value of the newest earlier slot with a sample, and the true
    // increase from it through the samples of the head slot.
    @exclusivity(unchecked) private var previousSlotLast: Double = .nan
    @exclusivity(unchecked) private var headTrueIncrease: Double = 0
    /// Increase hidden by in-slot resets, per absolute slot; bounded by `hiddenLimit`.
    @exclusivity(unchecked) private(set) var hidden: [(slot: Int64, increase: Double)] = []
    static let hiddenLimit = 32

    init(capacity: Int, resolution: Milliseconds) {
        clock = RingClock(capacity: capacity, resolution: resolution)
        tick = max(1, (resolution + 65_534) / 65_535)
        storage = UnsafeMutableRawPointer.allocate(byteCount: capacity * 10, alignment: 8)
        values = storage.bindMemory(to: Double.self, capacity: capacity)
        offsets = (storage + capacity * 8).bindMemory(to: UInt16.self, capacity: capacity)
        offsets.initialize(repeating: ScalarRing.empty, count: capacity)
        values.initialize(repeating: 0, count: capacity)
    }

    deinit { storage.deallocate() }

    /// Bytes this ring owns on the heap.
    var heapBytes: Int { clock.capacity * 10 + hidden.capacity * 16 }

    /// Writes a sample no older than the ring's newest; `counter` turns on reset bookkeeping.
    /// Returns false (and writes nothing) when the sample's slot is older than the ring holds.
    /// Overflow of the hidden-increase records is reported through `hiddenOverflow`.
    @discardableResult
    func append(_ v: Double, at t: Timestamp, counter: Bool, hiddenOverflow: inout Int) -> Bool {
        let s = clock.slot(of: t)
        if let head = clock.head, s < head {
            // Callers keep scalar samples in order; an older slot can only be a late write.
            guard clock.holds(s) else { return false }
        }
        if clock.head == nil || s > clock.head! {
            if let head = clock.head {
                let p = clock.position(of: head)
                if offsets[p] != ScalarRing.empty { previousSlotLast = values[p] }
            }
            clock.advance(to: s) { p in offsets[p] = ScalarRing.empty }
            headTrueIncrease = 0
            pruneHidden()
        }
        let p = clock.position(of: s)
        if counter && s == clock.head! {
            let before = offsets[p] != ScalarRing.empty ? values[p] : previousSlotLast
            if !before.isNaN && !v.isNaN {
                headTrueIncrease += v >= before ? v - before : v
                let viewed = previousSlotLast.isNaN ? headTrueIncrease : (v >= previousSlotLast ? v - previousSlotLast : v)
                recordHidden(slot: s, increase: previousSlotLast.isNaN ? 0 : headTrueIncrease - viewed, overflow: &hiddenOverflow)
            } else if v.isNaN {
                headTrueIncrease = 0
            }
        }
        values[p] = v
        offsets[p] = UInt16(truncatingIfNeeded: (t - clock.start(of: s)) / tick)
        return true
    }

    private func recordHidden(slot: Int64, increase: Double, overflow: inout Int) {
        if let last = hidden.last, last.slot == slot {
            if increase == 0 { hidden.removeLast() } else { hidden[hidden.count - 1].increase = increase }
            return
        }
        guard increase != 0 else { return }
        if hidden.count >= ScalarRing.hiddenLimit {
            hidden.removeFirst()
            overflow += 1
        }
        hidden.append((slot, increase))
    }

    private func pruneHidden() {
        guard let oldest = clock.oldest, let first = hidden.first, first.slot < oldest else { return }
        hidden.removeAll { $0.slot < oldest }
    }

    /// The sample kept in absolute slot `s`, if any.
    @inline(__always)
    func sample(inSlot s: Int64) -> Sample? {
        guard clock.holds(s) else { return nil }
        return sample(inHeldSlot: s, clock: clock)
    }

    /// The sample kept in slot `s`, which `clock` (a local copy of the ring's) says is held.
    /// Loops pass the clock in: reading the class's `var` per slot costs an exclusivity check,
    /// which was a tenth of a rule group's evaluation.
    @inline(__always)
    private func sample(inHeldSlot s: Int64, clock: RingClock) -> Sample? {
        let p = clock.position(of: s)
        let off = offsets[p]
        guard off != ScalarRing.empty else { return nil }
        return Sample(timestamp: clock.start(of: s) + Int64(off) * tick, value: values[p])
    }

    /// Appends the samples with `from < t <= through`, oldest first.
    func samples(from: Timestamp, through: Timestamp, into out: inout [Sample]) {
        let clock = self.clock
        guard through > from, let range = clock.clip(clock.slot(of: from), clock.slot(of: through)) else { return }
        out.reserveCapacity(out.count + range.count)
        for s in range {
            if let sample = sample(inHeldSlot: s, clock: clock), sample.timestamp > from, sample.timestamp <= through {
                out.append(sample)
            }
        }
    }

    /// The newest sample with `t <= at`, looking back no further than `from < t`.
    func latest(atOrBefore at: Timestamp, after from: Timestamp) -> Sample? {
        let clock = self.clock
        guard let range = clock.clip(clock.slot(of: from), clock.slot(of: at)) else { return nil }
        var s = range.upperBound
        while s >= range.lowerBound {
            if let sample = sample(inHeldSlot: s, clock: clock), sample.timestamp <= at {
                return sample.timestamp > from ? sample : nil
            }
            s -= 1
        }
        return nil
    }

    /// Increase hidden by in-slot counter resets between the samples of `(from, through]`.
    ///
    /// A record belongs to the pair (previous sample slot, its slot), so the first slot with a
    /// sample in the window contributes nothing: its predecessor is outside.
    func hiddenIncrease(from: Timestamp, through: Timestamp) -> Double {
        guard !hidden.isEmpty else { return 0 }
        var firstSlot: Int64?
        var lastSlot: Int64?
        if let range = clock.clip(clock.slot(of: from), clock.slot(of: through)) {
            for s in range {
                if let sample = sample(inSlot: s), sample.timestamp > from, sample.timestamp <= through {
                    if firstSlot == nil { firstSlot = s }
                    lastSlot = s
                }
            }
        }
        guard let first = firstSlot, let last = lastSlot else { return 0 }
        var total = 0.0
        for record in hidden where record.slot > first && record.slot <= last { total += record.increase }
        return total
    }

    /// Number of slots holding a sample.
    var occupiedSlots: Int {
        var n = 0
        for p in 0..<clock.capacity where offsets[p] != ScalarRing.empty { n += 1 }
        return n
    }

    // MARK: Checkpoint access

    /// Every held slot with its sample, oldest first.
    func forEachSlot(_ body: (Int64, Double, UInt16) -> Void) {
        guard let head = clock.head else { return }
        for s in (head - Int64(clock.capacity) + 1)...head {
            let p = clock.position(of: s)
            if offsets[p] != ScalarRing.empty { body(s, values[p], offsets[p]) }
        }
    }

    var counterState: (previousSlotLast: Double, headTrueIncrease: Double) { (previousSlotLast, headTrueIncrease) }

    /// Restores a ring's whole state, as `forEachSlot` and `counterState` described it.
    func restore(head: Int64?, slots: [(Int64, Double, UInt16)], previousSlotLast: Double, headTrueIncrease: Double, hidden: [(slot: Int64, increase: Double)]) {
        clock.head = head
        offsets.update(repeating: ScalarRing.empty, count: clock.capacity)
        for (s, v, off) in slots where clock.holds(s) {
            let p = clock.position(of: s)
            values[p] = v
            offsets[p] = off
        }
        self.previousSlotLast = previousSlotLast
        self.headTrueIncrease = headTrueIncrease
        self.hidden = hidden
    }
}

/// One sample: a time and a value.
public struct Sample: Sendable, Equatable {
    public var timestamp: Timestamp
    public var value: Double
    public init(timestamp: Timestamp, value: Double) {
        self.timestamp = timestamp
        self.value = value
    }
    public static func == (a: Sample, b: Sample) -> Bool {
        a.timestamp == b.timestamp && a.value.bitPattern == b.value.bitPattern
    }
}
