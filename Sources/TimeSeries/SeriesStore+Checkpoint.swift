/// The store's section of a checkpoint: every series with every held slot, exactly.
///
/// Encoding: format version, the ring shapes and sketch settings (a restore into other settings is
/// refused rather than misread), then per series its labels, kind, newest sample and each ring.
/// Only non-empty slots are written; a restore rebuilds the rings slot for slot.
extension SeriesStore {
    /// Name of the store's section in a `Checkpoint`.
    public static let checkpointSection = "series"
    static let storeFormat: UInt64 = 1
    /// The least bytes a series takes: labels' length, kind, last timestamp, value and write.
    static let minimumSeriesBytes = 1 + 1 + 1 + 8 + 1
    /// The least bytes a distribution slot takes: slot, last time, count, sum, min, max, zero
    /// count, and per sign an offset and a bucket count.
    static let minimumSketchSlotBytes = 1 + 1 + 1 + 24 + 1 + 2 * 2

    /// The store's state as bytes (uncompressed; put it in a `Checkpoint`).
    public func encodedState() -> [UInt8] {
        read { reader in
            let state = reader.state
            var w = ByteWriter(capacity: 1 << 16)
            w.varint(SeriesStore.storeFormat)
            encodeSettings(into: &w)
            let live = state.series.compactMap { $0 }
            w.varint(live.count)
            for s in live { encode(s, into: &w) }
            return w.bytes
        }
    }

    private func encodeSettings(into w: inout ByteWriter) {
        w.varint(state.rings.count)
        for ring in state.rings {
            w.signed(ring.resolution)
            w.varint(ring.capacity)
        }
        w.double(config.sketchAccuracy)
        w.varint(config.sketchMaxBuckets)
    }

    private func settingsDescription(_ rings: [(Milliseconds, Int)], _ accuracy: Double) -> String {
        let shape = rings.map { "\($0.1)×\($0.0)ms" }.joined(separator: ", ")
        return "rings [\(shape)], sketch accuracy \(accuracy)"
    }

    private func encode(_ s: Series, into w: inout ByteWriter) {
        w.blob(s.labels.encoded)
        w.byte(s.kind.rawValue)
        w.signed(s.lastTimestamp)
        w.double(s.lastValue)
        w.signed(s.lastWrite)
        for ring in s.scalar {
            encodeHead(ring.clock.head, into: &w)
            let (previous, increase) = ring.counterState
            w.double(previous)
            w.double(increase)
            w.varint(ring.hidden.count)
            for h in ring.hidden {
                w.signed(h.slot)
                w.double(h.increase)
            }
            var slots: [(Int64, Double, UInt16)] = []
            ring.forEachSlot { slots.append(($0, $1, $2)) }
            w.varint(slots.count)
            for (slot, value, offset) in slots {
                w.signed(slot)
                w.double(value)
                w.varint(UInt64(offset))
            }
        }
        for ring in s.distribution {
            encodeHead(ring.clock.head, into: &w)
            w.varint(ring.evictedCount)
            w.double(ring.evictedSum)
            var occupied: [Int64] = []
            if let head = ring.clock.head {
                for slot in (head - Int64(ring.clock.capacity) + 1)...head where ring.counts[ring.clock.position(of: slot)] != 0 {
                    occupied.append(slot)
                }
            }
            w.varint(occupied.count)
            for slot in occupied {
                let p = ring.clock.position(of: slot)
                w.signed(slot)
                w.signed(ring.lastAt[p])
                encode(ring, position: p, into: &w)
            }
        }
    }

    private func encodeHead(_ head: Int64?, into w: inout ByteWriter) {
        if let head {
            w.byte(1)
            w.signed(head)
        } else {
            w.byte(0)
        }
    }

    /// A slot sketch: count, sum, min, max, zero count, then per sign (positive first) the lowest
    /// bucket index (0 when empty), the number of buckets and their counts.
    private func encode(_ ring: DistributionRing, position p: Int, into w: inout ByteWriter) {
        w.varint(ring.counts[p])
        w.double(ring.sums[p])
        w.double(ring.minimums[p])
        w.double(ring.maximums[p])
        w.varint(ring.zeroCounts[p])
        for side in [ring.positive[p], ring.negative[p]] {
            let (offset, counts) = side.denseCounts()
            w.signed(Int64(offset))
            w.varint(counts.count)
            for c in counts { w.varint(UInt64(c)) }
        }
    }

    /// Replaces the store's content with the state in `bytes`. All or nothing: the bytes are
    /// decoded completely before anything is replaced, and nothing changes when they are bad.
    public func restore(fromEncodedState bytes: [UInt8]) throws(CheckpointError) {
        var r = ByteReader(bytes)
        let format = try r.varint()
        guard format == SeriesStore.storeFormat else { throw .unsupportedVersion(UInt32(truncatingIfNeeded: format)) }
        // Every count below is bounded by its limit and by the bytes left (at the least an element
        // can take), so a corrupt one is refused before anything is reserved for it.
        let ringCount = try r.count(limit: 64, each: 2)
        var rings: [(Milliseconds, Int)] = []
        for _ in 0..<ringCount { rings.append((try r.signed(), try r.count(limit: 1_000_000))) }
        let accuracy = try r.double()
        let maxBuckets = try r.count(limit: 1 << 20)
        let mine = state.rings.map { ($0.resolution, $0.capacity) }
        guard rings.count == mine.count, zip(rings, mine).allSatisfy({ $0.0 == $1.0 && $0.1 == $1.1 }),
              accuracy == config.sketchAccuracy else {
            throw .configurationChanged("checkpoint: \(settingsDescription(rings, accuracy)); store: \(settingsDescription(mine, config.sketchAccuracy))")
        }
        let bucketLimit = max(maxBuckets, config.sketchMaxBuckets)
        let seriesCount = try r.count(limit: 100_000_000, each: Self.minimumSeriesBytes)
        var decoded: [Series] = []
        decoded.reserveCapacity(min(seriesCount, config.seriesLimit))
        var seen = Set<Labels>()
        for _ in 0..<seriesCount {
            let s = try decodeSeries(&r, bucketLimit: bucketLimit)
            guard seen.insert(s.labels).inserted else { throw .malformed("series \(s.labels) appears twice") }
            decoded.append(s)
        }
        guard r.atEnd else { throw .malformed("trailing bytes after the series") }
        write { writer in
            let state = writer.state
            for i in state.series.indices where state.series[i] != nil { state.remove(at: UInt32(i)) }
            // More series than the limit allows: keep the most recently written.
            if decoded.count > config.seriesLimit {
                decoded.sort { $0.lastWrite > $1.lastWrite }
                state.stats.droppedSeriesLimit += decoded.count - config.seriesLimit
                decoded.removeLast(decoded.count - config.seriesLimit)
            }
            for s in decoded { _ = state.insert(s) }
        }
    }

    private func decodeSeries(_ r: inout ByteReader, bucketLimit: Int) throws(CheckpointError) -> Series {
        guard let labels = Labels(encoded: try r.blob()) else { throw .malformed("invalid label set") }
        guard let kind = SeriesKind(rawValue: try r.byte()) else { throw .malformed("unknown series kind") }
        let s = Series(labels: labels, kind: kind, rings: state.rings, now: 0, distributionRawSlots: state.distributionRawSlots)
        s.lastTimestamp = try r.signed()
        s.lastValue = try r.double()
        s.lastWrite = try r.signed()
        for ring in s.scalar {
            let head = try decodeHead(&r)
            let previous = try r.double()
            let increase = try r.double()
            let hiddenCount = try r.count(limit: ScalarRing.hiddenLimit, each: 9)
            var hidden: [(slot: Int64, increase: Double)] = []
            for _ in 0..<hiddenCount { hidden.append((try r.signed(), try r.double())) }
            let n = try r.count(limit: ring.clock.capacity, each: 10)
            var slots: [(Int64, Double, UInt16)] = []
            slots.reserveCapacity(n)
            for _ in 0..<n {
                let slot = try r.signed()
                let value = try r.double()
                let offset = try r.varint()
                guard offset < UInt64(ScalarRing.empty) else { throw .malformed("slot time offset out of range") }
                slots.append((slot, value, UInt16(offset)))
            }
            ring.restore(head: head, slots: slots, previousSlotLast: previous, headTrueIncrease: increase, hidden: hidden)
        }
        for ring in s.distribution {
            ring.restoreHead(try decodeHead(&r))
            let evictedCount = try r.varint()
            let evictedSum = try r.double()
            ring.restoreTotals(evictedCount: evictedCount, evictedSum: evictedSum)
            let n = try r.count(limit: ring.clock.capacity, each: Self.minimumSketchSlotBytes)
            for _ in 0..<n {
                let slot = try r.signed()
                let lastAt = try r.signed()
                guard ring.clock.holds(slot) else { throw .malformed("slot \(slot) outside its ring") }
                ring.restoreSlot(slot, lastAt: lastAt, sketch: try decodeSketch(&r, bucketLimit: bucketLimit))
            }
        }
        return s
    }

    private func decodeHead(_ r: inout ByteReader) throws(CheckpointError) -> Int64? {
        switch try r.byte() {
        case 0: return nil
        case 1: return try r.signed()
        default: throw .malformed("bad ring head marker")
        }
    }

    private func decodeSketch(_ r: inout ByteReader, bucketLimit: Int) throws(CheckpointError) -> SlotSketch {
        var sketch = SlotSketch()
        sketch._count = try r.varint()
        sketch._sum = try r.double()
        sketch._min = try r.double()
        sketch._max = try r.double()
        sketch.zeroCount = try r.varint()
        var total = sketch.zeroCount
        for side in 0..<2 {
            var counts = BucketCounts<UInt32>()
            let offset = try r.signed()
            let n = try r.count(limit: bucketLimit, each: 1)
            guard offset >= Int64(Int32.min), offset + Int64(n) <= Int64(Int32.max) + 1 else { throw .malformed("bucket index out of range") }
            counts.offset = Int32(offset)
            counts.counts.reserveCapacity(n)
            for _ in 0..<n {
                let c = try r.varint()
                guard c <= UInt64(UInt32.max) else { throw .malformed("bucket count out of range") }
                counts.counts.append(UInt32(c))
                total &+= c
            }
            if side == 0 { sketch.positive = counts } else { sketch.negative = counts }
        }
        // Saturated buckets may hold less than the count; never more.
        guard total <= sketch._count else { throw .malformed("sketch buckets hold more values than its count") }
        return sketch
    }
}
