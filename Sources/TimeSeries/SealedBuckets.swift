/// The byte form of a sealed slot's buckets (one sign): what `SlotBuckets` keeps of a slot the
/// ring no longer writes to. The span itself (lowest index and length, zero ends included) is
/// kept by `SlotBuckets`, not here.
///
/// A LEB128 varint header `n << 1 | form`, then one of two forms, whichever is smaller (the
/// second also when it is at most a quarter larger, for its faster reads):
/// - form 0, **gaps**: `n` used buckets, lowest first, each one varint `(count − 1) << 2 | g`:
///   `g` 0–2 means the bucket is `g + 1` after the previous one (the first one's "previous" is the
///   span's lowest − 1), `g` = 3 that a varint `gap − 4` follows. Buckets of count 0 are skipped.
///   A latency slot's used buckets lie mostly next to each other with small counts: about a byte
///   a used bucket (raw: 4 a bucket of the span).
/// - form 1, **bytes**: one byte per bucket of the span (`n` = its length), when every count is
///   below 256: a full slot (thousands of observations over a few hundred buckets) is summed into
///   a window as fast as a raw dense span is.
enum SealedBuckets {
    /// The encoding of the used buckets of `buckets` (not sealed, not empty), whose span starts at `first`.
    static func encode(_ buckets: SlotBuckets, first: Int32) -> [UInt8] {
        var used = 0, gapBytes = 0, largest: UInt32 = 0
        var previous = Int(first) - 1
        buckets.forEach { index, c in
            guard c != 0 else { return }
            used += 1
            largest = Swift.max(largest, c)
            let gap = Int(index) - previous
            previous = Int(index)
            gapBytes += ByteWriter.varintLength(UInt64(c - 1) << 2) + (gap > 3 ? ByteWriter.varintLength(UInt64(gap - 4)) : 0)
        }
        let span = Int(buckets.highest) - Int(first) + 1
        if largest < 256 && 4 * span <= 5 * gapBytes {
            var w = ByteWriter(capacity: span + 4)
            w.varint(UInt64(span) << 1 | 1)
            var k = Int(first)
            buckets.forEach { index, c in
                guard c != 0 else { return }
                while k < Int(index) { w.byte(0); k += 1 }
                w.byte(UInt8(c))
                k += 1
            }
            while k < Int(first) + span { w.byte(0); k += 1 }
            return w.bytes
        }
        var w = ByteWriter(capacity: gapBytes + 4)
        w.varint(UInt64(used) << 1)
        previous = Int(first) - 1
        buckets.forEach { index, c in
            guard c != 0 else { return }
            let gap = Int(index) - previous
            previous = Int(index)
            w.varint(UInt64(c - 1) << 2 | UInt64(gap <= 3 ? gap - 1 : 3))
            if gap > 3 { w.varint(UInt64(gap - 4)) }
        }
        return w.bytes
    }

    /// A LEB128 varint (as `ByteWriter.varint` writes it) at `p`, which moves past it.
    @inline(__always)
    static func get(_ p: inout UnsafeRawPointer) -> UInt64 {
        var byte = p.load(as: UInt8.self)
        p += 1
        guard byte >= 0x80 else { return UInt64(byte) }
        var v = UInt64(byte & 0x7F)
        var shift: UInt64 = 7
        repeat {
            byte = p.load(as: UInt8.self)
            p += 1
            v |= UInt64(byte & 0x7F) << shift
            shift += 7
        } while byte >= 0x80
        return v
    }

    /// Calls `body` with each used bucket's index and count, lowest first; `first` is the span's lowest index.
    @inline(__always)
    static func forEach(_ bytes: UnsafeRawPointer, first: Int32, _ body: (Int32, UInt64) -> Void) {
        var p = bytes
        let header = get(&p)
        let n = Int(header >> 1)
        if header & 1 == 1 {
            let counts = p.assumingMemoryBound(to: UInt8.self)
            for k in 0..<n where counts[k] != 0 { body(first &+ Int32(k), UInt64(counts[k])) }
            return
        }
        var index = Int(first) - 1
        for _ in 0..<n {
            let head = get(&p)
            let g = Int(head & 3)
            index += g == 3 ? 4 + Int(get(&p)) : g + 1
            body(Int32(truncatingIfNeeded: index), (head >> 2) + 1)
        }
    }

    /// Adds (or, `negate`, subtracts) the counts of buckets `lo...hi` to `out`, whose element 0 is
    /// bucket `outFirst`; `first` is the span's lowest index.
    @inline(__always)
    static func accumulate(_ bytes: UnsafeRawPointer, first: Int32, into out: UnsafeMutablePointer<UInt64>, outFirst: Int32,
                           clip lo: Int32, _ hi: Int32, negate: Bool) {
        var p = bytes
        let header = get(&p)
        if header & 1 == 1 {
            let n = Int(header >> 1)
            let from = Swift.max(Int(first), Int(lo)), to = Swift.min(Int(first) + n - 1, Int(hi))
            guard from <= to else { return }
            let source = p.assumingMemoryBound(to: UInt8.self) + (from - Int(first))
            let target = out + (from - Int(outFirst))
            if negate {
                for k in 0..<(to - from + 1) { target[k] &-= UInt64(source[k]) }
            } else {
                for k in 0..<(to - from + 1) { target[k] &+= UInt64(source[k]) }
            }
            return
        }
        forEach(bytes, first: first) { index, c in
            guard index >= lo && index <= hi else { return }
            if negate { out[Int(index) - Int(outFirst)] &-= c } else { out[Int(index) - Int(outFirst)] &+= c }
        }
    }
}
