#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An open-addressing hash table from byte keys (label values joined by 0xFF) to an Int32, with
/// the keys stored in one arena: the per-line series lookup of `LogMapper` without allocating.
///
/// A slot holds the upper half of the key's hash and its entry number, so a probe that misses
/// touches one word; a hit reads one entry (arena offset, length, value) and compares the bytes.
struct LogSeriesKeyTable {
    struct Entry {
        var keyStart: Int32
        var keyLength: Int32
        var value: Int32
    }

    /// 0 when empty, else `hash >> 32 << 32 | (entry + 1)`.
    private var slots: [UInt64]
    private var entries: [Entry] = []
    private var hashes: [UInt64] = []
    private var arena: [UInt8] = []

    init(capacity: Int = 64) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = Array(repeating: 0, count: size)
    }

    var count: Int { entries.count }

    /// A fast 64-bit hash of `key`, eight bytes at a time.
    @inline(__always)
    static func hash(_ key: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(key.count)
        var i = 0
        let n = key.count
        guard let base = key.baseAddress else { return h }
        while n - i >= 8 {
            h = (h ^ base.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 29
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < n {
            tail |= UInt64(base.load(fromByteOffset: i, as: UInt8.self)) << shift
            shift += 8
            i += 1
        }
        h = (h ^ tail) &* 0x94D0_49BB_1331_11EB
        return h ^ (h >> 31)
    }

    /// The value stored for `key`, or nil.
    @inline(__always)
    func find(_ key: UnsafeRawBufferPointer, hash: UInt64) -> Int32? {
        let mask = slots.count - 1
        let tag = hash & 0xFFFF_FFFF_0000_0000
        var i = Int(truncatingIfNeeded: hash) & mask
        while true {
            let slot = slots[i]
            if slot == 0 { return nil }
            if slot & 0xFFFF_FFFF_0000_0000 == tag {
                let e = entries[Int(truncatingIfNeeded: slot & 0xFFFF_FFFF) - 1]
                if Int(e.keyLength) == key.count {
                    let equal = arena.withUnsafeBytes { a in
                        key.count == 0 || bytesEqual(a.baseAddress! + Int(e.keyStart), key.baseAddress!, count: key.count)
                    }
                    if equal { return e.value }
                }
            }
            i = (i + 1) & mask
        }
    }

    /// Adds `key` → `value`; the key must not be present.
    mutating func insert(_ key: UnsafeRawBufferPointer, hash: UInt64, value: Int32) {
        if (entries.count + 1) * 2 > slots.count { grow() }
        entries.append(Entry(keyStart: Int32(arena.count), keyLength: Int32(key.count), value: value))
        hashes.append(hash)
        arena.append(contentsOf: key)
        place(entries.count - 1, hash: hash)
    }

    private mutating func place(_ e: Int, hash: UInt64) {
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: hash) & mask
        while slots[i] != 0 { i = (i + 1) & mask }
        slots[i] = (hash & 0xFFFF_FFFF_0000_0000) | UInt64(e + 1)
    }

    private mutating func grow() {
        slots = Array(repeating: 0, count: slots.count * 2)
        for e in 0..<entries.count { place(e, hash: hashes[e]) }
    }

    /// Bytes held, for memory accounting.
    var heapBytes: Int { slots.capacity * 8 + entries.capacity * MemoryLayout<Entry>.stride + hashes.capacity * 8 + arena.capacity }
}

/// Whether `count` bytes at `a` and `b` are equal: inline, with a few (overlapping) wide loads,
/// for the short keys of the hot path where a call to `memcmp` costs more than the comparison.
@inline(__always)
func bytesEqual(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count: Int) -> Bool {
    if count >= 8 {
        var i = 0
        while count - i > 8 {
            if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
            i += 8
        }
        return a.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self) == b.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
    }
    if count >= 4 {
        return a.loadUnaligned(as: UInt32.self) == b.loadUnaligned(as: UInt32.self)
            && a.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self) == b.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)
    }
    if count >= 2 {
        return a.loadUnaligned(as: UInt16.self) == b.loadUnaligned(as: UInt16.self)
            && a.loadUnaligned(fromByteOffset: count - 2, as: UInt16.self) == b.loadUnaligned(fromByteOffset: count - 2, as: UInt16.self)
    }
    return count == 0 || a.load(as: UInt8.self) == b.load(as: UInt8.self)
}
