/// The byte form of a sealed slot's buckets (one sign): what `SlotBuckets` keeps of a slot the
/// ring no longer writes to.
///
/// Layout: the number of used buckets as a LEB128 varint, then per used bucket, lowest first, one
/// varint `(count − 1) << 2 | g`: `g` 0–2 means the bucket is `g + 1` after the previous one (the
/// first one's "previous" is the span's lowest − 1), `g` = 3 that a varint `gap − 4` follows.
/// Buckets of count 0 (inside a dense span) are skipped; the span itself (lowest index and length,
/// zero ends included) is kept by `SlotBuckets`, not here. A latency slot's used buckets lie mostly
/// next to each other with small counts, so a bucket costs one byte (dense: 4, sparse: 4).
enum SealedBuckets {
    /// The encoding of the used buckets of `buckets` (not sealed, not empty), whose span starts at `first`.
    static func encode(_ buckets: SlotBuckets, first: Int32) -> [UInt8] {
        var used = 0
        buckets.forEach { _, c in if c != 0 { used += 1 } }
        var w = ByteWriter(capacity: used + 8)
        w.varint(UInt64(used))
        var previous = Int(first) - 1
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
        let n = get(&p)
        var index = Int(first) - 1
        for _ in 0..<n {
            let head = get(&p)
            let g = Int(head & 3)
            index += g == 3 ? 4 + Int(get(&p)) : g + 1
            body(Int32(truncatingIfNeeded: index), (head >> 2) + 1)
        }
    }
}
