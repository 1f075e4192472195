/// The ring of a gauge or counter series: per slot the last sample, in 10 bytes, or 1–4 once sealed.
///
/// Layout: one allocation of `storageSlots` doubles (the last value of each slot) followed by
/// `storageSlots` `UInt16` offsets (time of that sample from the slot start, in `tick` ms; `0xFFFF`
/// marks an empty slot). At the default 10 s × 1 h this is 3 600 bytes. Timestamps are exact when
/// the resolution is at most 65.535 s (tick = 1 ms); coarser tiers round them to the tick.
///
/// Long rings (the default 10 s × 1 h: 360 slots; a 1 m × 26 h tier: 1 560 slots, 15.6 KB raw) keep
/// only their two newest blocks of `blockSlots` slots raw, where writes land; older blocks are
/// sealed into `sealed` with `ScalarBlockCodec` (1–4 bytes a sample). A read inside the raw blocks
/// (at least 33 slots back: a 5 m rate on a 10 s ring) decodes nothing; a longer one decodes the
/// sealed blocks it covers; a late write into a sealed block re-encodes that block. Short rings
/// stay raw: `blockSlots == 0`, `storageSlots == capacity`.
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
    /// Slots per sealed block; 0 keeps every slot raw.
    let blockSlots: Int
    /// Raw slots: `capacity`, or the two newest blocks of a sealed ring.
    private let storageSlots: Int
    private let storage: UnsafeMutableRawPointer
    private let values: UnsafeMutablePointer<Double>
    private let offsets: UnsafeMutablePointer<UInt16>
    static let empty: UInt16 = 0xFFFF
    static let sealedBlockSlots = 32

    /// Block size for a ring of `capacity` slots: rings of at least eight blocks seal (the default
    /// 10 s × 1 h ring's 360 slots and every usual tier), shorter ones stay raw.
    static func blockSlots(capacity: Int) -> Int {
        capacity >= 8 * sealedBlockSlots ? sealedBlockSlots : 0
    }

    /// Sealed blocks `sealedFirst ..< sealedFirst + sealedCount`, consecutive, each as
    /// `ScalarBlockCodec` writes it; they end where the raw window (the head's block and the one
    /// before it) begins.
    @exclusivity(unchecked) private var sealed: [UInt8] = []
    @exclusivity(unchecked) private var sealedFirst: Int64 = 0
    @exclusivity(unchecked) private var sealedCount = 0

    // Counter bookkeeping: the last value of the newest earlier slot with a sample, and the true
    // increase from it through the samples of the head slot.
    @exclusivity(unchecked) private var previousSlotLast: Double = .nan
    @exclusivity(unchecked) private var headTrueIncrease: Double = 0
    /// Increase hidden by in-slot resets, per absolute slot; bounded by `hiddenLimit`.
    @exclusivity(unchecked) private(set) var hidden: [(slot: Int64, increase: Double)] = []
    static let hiddenLimit = 32

    /// A ring of `capacity` slots, sealed in blocks of `blockSlots` (0: every slot raw; nil: as
    /// `blockSlots(capacity:)` chooses).
    init(capacity: Int, resolution: Milliseconds, blockSlots: Int? = nil) {
        clock = RingClock(capacity: capacity, resolution: resolution)
        tick = max(1, (resolution + 65_534) / 65_535)
        let block = blockSlots ?? ScalarRing.blockSlots(capacity: capacity)
        precondition(block >= 0 && block <= ScalarBlockCodec.maxSlots)
        self.blockSlots = block
        storageSlots = block == 0 ? capacity : 2 * block
        storage = UnsafeMutableRawPointer.allocate(byteCount: storageSlots * 10, alignment: 8)
        values = storage.bindMemory(to: Double.self, capacity: storageSlots)
        offsets = (storage + storageSlots * 8).bindMemory(to: UInt16.self, capacity: storageSlots)
        offsets.initialize(repeating: ScalarRing.empty, count: storageSlots)
        values.initialize(repeating: 0, count: storageSlots)
    }

    deinit { storage.deallocate() }

    /// Where absolute slot `s` lives in raw storage (only meaningful for raw-window slots).
    @inline(__always) private func position(_ s: Int64) -> Int { Int(floorMod(s, Int64(storageSlots))) }

    /// First slot of the raw window: everything older is sealed (sealed rings only).
    @inline(__always) private func rawStart(head: Int64) -> Int64 {
        let b = Int64(blockSlots)
        return (floorDiv(head, b) - 1) * b
    }

    /// Bytes this ring owns on the heap.
    var heapBytes: Int { storageSlots * 10 + sealed.capacity + hidden.capacity * 16 }

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
                let p = position(head)
                if offsets[p] != ScalarRing.empty { previousSlotLast = values[p] }
            }
            advance(to: s)
            headTrueIncrease = 0
            pruneHidden()
        }
        let offset = UInt16(truncatingIfNeeded: (t - clock.start(of: s)) / tick)
        if blockSlots != 0 && s < rawStart(head: clock.head!) {
            rewriteSealed(slot: s, value: v, offset: offset)
            return true
        }
        let p = position(s)
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
        offsets[p] = offset
        return true
    }

    /// Moves the head forward to `s`: clears the raw slots it passes and, in a sealed ring, seals
    /// the blocks that leave the raw window and drops those that left the ring's span.
    private func advance(to s: Int64) {
        guard blockSlots != 0 else {
            clock.advance(to: s) { p in offsets[p] = ScalarRing.empty }
            return
        }
        let b = Int64(blockSlots)
        let newBlock = floorDiv(s, b)
        guard let head = clock.head, newBlock - floorDiv(head, b) <= Int64(clock.capacity) / b + 2 else {
            // First sample, or a jump past everything held: start over.
            offsets.update(repeating: ScalarRing.empty, count: storageSlots)
            sealed.removeAll(keepingCapacity: false)
            sealedFirst = newBlock - 1
            sealedCount = 0
            clock.head = s
            return
        }
        let headBlock = floorDiv(head, b)
        var block = headBlock - 1
        while block < newBlock - 1 {
            // Grow by steps rather than doubling: a day of blocks is a few KB per series, and
            // doubling would leave up to half of it unused.
            if sealed.capacity - sealed.count < ScalarBlockCodec.maxBlockBytes {
                sealed.reserveCapacity(sealed.count + 2 * ScalarBlockCodec.maxBlockBytes)
            }
            if block <= headBlock {
                // Still raw: seal the slots up to the old head (later positions hold stale samples).
                let first = position(block * b)
                let count = block == headBlock ? Int(head - block * b) + 1 : blockSlots
                ScalarBlockCodec.append(values: values + first, offsets: offsets + first, count: count, to: &sealed)
            } else {
                sealed.append(0)
                sealed.append(0)
            }
            sealedCount += 1
            block += 1
        }
        var x = max(head + 1, (newBlock - 1) * b)
        while x <= s {
            offsets[position(x)] = ScalarRing.empty
            x += 1
        }
        clock.head = s
        dropSealed(before: s - Int64(clock.capacity) + 1)
    }

    /// Drops the sealed blocks whose slots are all older than `oldest`.
    private func dropSealed(before oldest: Int64) {
        let b = Int64(blockSlots)
        var dropped = 0
        var bytes = 0
        sealed.withUnsafeBufferPointer { buffer in
            while dropped < sealedCount && (sealedFirst + Int64(dropped) + 1) * b <= oldest {
                bytes = ScalarBlockCodec.end(of: buffer, at: bytes)
                dropped += 1
            }
        }
        guard dropped > 0 else { return }
        sealed.removeFirst(bytes)
        sealedFirst += Int64(dropped)
        sealedCount -= dropped
    }

    /// Byte range of sealed block `block`.
    private func sealedRange(of block: Int64) -> Range<Int> {
        sealed.withUnsafeBufferPointer { buffer in
            var start = 0
            for _ in 0..<Int(block - sealedFirst) { start = ScalarBlockCodec.end(of: buffer, at: start) }
            return start..<ScalarBlockCodec.end(of: buffer, at: start)
        }
    }

    /// A late write into a sealed block: decode the block, set the slot, encode it again.
    private func rewriteSealed(slot s: Int64, value v: Double, offset: UInt16) {
        let b = Int64(blockSlots)
        let block = floorDiv(s, b)
        if block < sealedFirst {
            // Held but before the first sealed block (the ring started over after a jump): the
            // blocks in between are empty.
            let missing = Int(sealedFirst - block)
            sealed.insert(contentsOf: repeatElement(0, count: 2 * missing), at: 0)
            sealedFirst = block
            sealedCount += missing
        }
        let range = sealedRange(of: block)
        var blockValues = [Double](repeating: 0, count: blockSlots)
        var blockOffsets = [UInt16](repeating: ScalarRing.empty, count: blockSlots)
        sealed.withUnsafeBufferPointer { buffer in
            ScalarBlockCodec.decode(buffer, at: range.lowerBound) { i, value, offset in
                blockValues[i] = value
                blockOffsets[i] = offset
            }
        }
        let i = Int(s - block * b)
        blockValues[i] = v
        blockOffsets[i] = offset
        var encoded: [UInt8] = []
        ScalarBlockCodec.append(values: blockValues, offsets: blockOffsets, count: blockSlots, to: &encoded)
        sealed.replaceSubrange(range, with: encoded)
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

    /// Calls `body(slot, value, offset)` for each sample in the held slots of `range`, oldest first.
    @inline(__always)
    private func forEachSample(in range: ClosedRange<Int64>, _ body: (Int64, Double, UInt16) -> Void) {
        guard let head = clock.head, let held = clock.clip(range.lowerBound, range.upperBound) else { return }
        var s = held.lowerBound
        if blockSlots != 0 {
            let b = Int64(blockSlots)
            let rawFrom = rawStart(head: head)
            if s < rawFrom && sealedCount > 0 {
                let lastSealed = min(held.upperBound, rawFrom - 1)
                var block = max(floorDiv(s, b), sealedFirst)
                var start = sealedRange(of: block).lowerBound
                sealed.withUnsafeBufferPointer { buffer in
                    while block <= floorDiv(lastSealed, b) {
                        let base = block * b
                        ScalarBlockCodec.decode(buffer, at: start) { i, value, offset in
                            let slot = base + Int64(i)
                            if slot >= s && slot <= lastSealed { body(slot, value, offset) }
                        }
                        start = ScalarBlockCodec.end(of: buffer, at: start)
                        block += 1
                    }
                }
            }
            s = max(s, rawFrom)
        }
        while s <= held.upperBound {
            let p = position(s)
            if offsets[p] != ScalarRing.empty { body(s, values[p], offsets[p]) }
            s += 1
        }
    }

    /// The sample kept in slot `s` of a raw ring, which `clock` (a local copy of the ring's) says is held.
    /// Loops pass the clock in: reading the class's `var` per slot costs an exclusivity check,
    /// which was a tenth of a rule group's evaluation.
    @inline(__always)
    private func sample(inHeldSlot s: Int64, clock: RingClock) -> Sample? {
        let p = position(s)
        let off = offsets[p]
        guard off != ScalarRing.empty else { return nil }
        return Sample(timestamp: clock.start(of: s) + Int64(off) * tick, value: values[p])
    }

    /// Appends the samples with `from < t <= through`, oldest first.
    func samples(from: Timestamp, through: Timestamp, into out: inout [Sample]) {
        let clock = self.clock
        guard through > from, let range = clock.clip(clock.slot(of: from), clock.slot(of: through)) else { return }
        out.reserveCapacity(out.count + range.count)
        // Windows inside the raw blocks (a 5 m rate on a 10 s ring: ≥ 33 slots) decode nothing.
        guard blockSlots == 0 || range.lowerBound >= rawStart(head: clock.head!) else {
            let tick = self.tick
            forEachSample(in: range) { s, value, offset in
                let t = clock.start(of: s) + Int64(offset) * tick
                if t > from && t <= through { out.append(Sample(timestamp: t, value: value)) }
            }
            return
        }
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
        // Newest first through the raw slots; sealed blocks only when nothing was found there.
        let rawFrom = blockSlots == 0 ? range.lowerBound : max(range.lowerBound, rawStart(head: clock.head!))
        var s = range.upperBound
        while s >= rawFrom {
            if let sample = sample(inHeldSlot: s, clock: clock), sample.timestamp <= at {
                return sample.timestamp > from ? sample : nil
            }
            s -= 1
        }
        guard rawFrom > range.lowerBound, sealedCount > 0 else { return nil }
        // Then the sealed blocks, newest first, each decoded only up to the newest slot wanted:
        // a lookup (one per series and step of a range query) decodes part of one block, not
        // every block the window touches.
        let b = Int64(blockSlots)
        let newestSlot = min(range.upperBound, rawFrom - 1)
        let firstBlock = max(floorDiv(range.lowerBound, b), sealedFirst)
        var block = min(floorDiv(newestSlot, b), sealedFirst + Int64(sealedCount) - 1)
        let tick = self.tick
        while block >= firstBlock {
            let base = block * b
            let start = sealedRange(of: block).lowerBound
            var newest: Sample?
            sealed.withUnsafeBufferPointer { buffer in
                ScalarBlockCodec.decode(buffer, at: start, through: Int(min(newestSlot - base, b - 1))) { i, value, offset in
                    let slot = base + Int64(i)
                    guard slot >= range.lowerBound else { return }
                    let t = clock.start(of: slot) + Int64(offset) * tick
                    if t <= at { newest = Sample(timestamp: t, value: value) }
                }
            }
            // Samples are in time order: the newest at or before `at` in the newest block that has one.
            if let newest { return newest.timestamp > from ? newest : nil }
            block -= 1
        }
        return nil
    }

    /// `latest(atOrBefore: times[k], after: times[k] - lookback)` for every `k` of `times`
    /// (non-decreasing), in one pass: the samples of `(times.first - lookback, times.last]` are
    /// walked oldest first, each sealed block decoded once, with a cursor over `times`. `body`
    /// gets `(k, sample)` for each `k` that has a sample, in order of `k`.
    ///
    /// A range query's instant selector reads each series this way once per query instead of once
    /// per step (a lookup per step decoded part of a sealed block each time). When the steps are
    /// far apart next to the lookback (a day at 1 h steps, 5 m lookback) most of the walk would be
    /// between the windows: then each step is looked up alone.
    func latest(at times: ArraySlice<Timestamp>, lookback: Milliseconds, _ body: (Int, Sample) -> Void) {
        guard let first = times.first, let last = times.last else { return }
        let clock = self.clock
        let range = clock.clip(clock.slot(of: first - lookback), clock.slot(of: last))
        if let range, range.count / 2 > times.count * Int(Swift.min(lookback / clock.resolution + 2, 1 << 20)) {
            for k in times.indices {
                if let sample = latest(atOrBefore: times[k], after: times[k] - lookback) { body(k, sample) }
            }
            return
        }
        let tick = self.tick
        var k = times.startIndex
        var newest = Sample(timestamp: .min, value: 0)
        if let range {
            forEachSample(in: range) { s, value, offset in
                let t = clock.start(of: s) + Int64(offset) * tick
                // Every step before this sample gets the newest sample before it, if recent enough.
                while k < times.endIndex && times[k] < t {
                    if newest.timestamp > times[k] - lookback { body(k, newest) }
                    k += 1
                }
                newest = Sample(timestamp: t, value: value)
            }
        }
        while k < times.endIndex {
            if newest.timestamp > times[k] - lookback { body(k, newest) }
            k += 1
        }
    }

    /// Increase hidden by in-slot counter resets between the samples of `(from, through]`.
    ///
    /// A record belongs to the pair (previous sample slot, its slot), so the first slot with a
    /// sample in the window contributes nothing: its predecessor is outside.
    func hiddenIncrease(from: Timestamp, through: Timestamp) -> Double {
        guard !hidden.isEmpty else { return 0 }
        var firstSlot: Int64?
        var lastSlot: Int64?
        let clock = self.clock
        let tick = self.tick
        forEachSample(in: clock.slot(of: from)...max(clock.slot(of: from), clock.slot(of: through))) { s, _, offset in
            let t = clock.start(of: s) + Int64(offset) * tick
            if t > from && t <= through {
                if firstSlot == nil { firstSlot = s }
                lastSlot = s
            }
        }
        guard let first = firstSlot, let last = lastSlot else { return 0 }
        var total = 0.0
        for record in hidden where record.slot > first && record.slot <= last { total += record.increase }
        return total
    }

    /// Number of slots holding a sample.
    var occupiedSlots: Int {
        guard let head = clock.head else { return 0 }
        var n = 0
        forEachSample(in: (head - Int64(clock.capacity) + 1)...head) { _, _, _ in n += 1 }
        return n
    }

    // MARK: Checkpoint access

    /// Every held slot with its sample, oldest first.
    func forEachSlot(_ body: (Int64, Double, UInt16) -> Void) {
        guard let head = clock.head else { return }
        forEachSample(in: (head - Int64(clock.capacity) + 1)...head, body)
    }

    var counterState: (previousSlotLast: Double, headTrueIncrease: Double) { (previousSlotLast, headTrueIncrease) }

    /// Restores a ring's whole state, as `forEachSlot` and `counterState` described it.
    func restore(head: Int64?, slots: [(Int64, Double, UInt16)], previousSlotLast: Double, headTrueIncrease: Double, hidden: [(slot: Int64, increase: Double)]) {
        clock.head = nil
        offsets.update(repeating: ScalarRing.empty, count: storageSlots)
        sealed.removeAll()
        sealedCount = 0
        if let head {
            let oldest = head - Int64(clock.capacity) + 1
            // Oldest first, so that each block is sealed once, after its last slot is written.
            for (s, v, off) in slots.sorted(by: { $0.0 < $1.0 }) where s >= oldest && s <= head {
                if clock.head == nil || s > clock.head! { advance(to: s) }
                let p = position(s)
                values[p] = v
                offsets[p] = off
            }
            if clock.head == nil || head > clock.head! { advance(to: head) }
        }
        self.previousSlotLast = previousSlotLast
        self.headTrueIncrease = headTrueIncrease
        self.hidden = hidden
    }
}

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
