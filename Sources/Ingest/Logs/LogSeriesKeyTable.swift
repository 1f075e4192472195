#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An open-addressing hash table from byte keys (label values joined by 0xFF) to an Int32, with
/// the keys stored in one arena: the per-line series lookup of `LogMapper` without allocating.
struct LogSeriesKeyTable {
    private var slots: [Int32]
    private var hashes: [UInt64] = []
    private var keyStarts: [Int32] = []
    private var keyLengths: [Int32] = []
    private(set) var values: [Int32] = []
    private var arena: [UInt8] = []

    init(capacity: Int = 64) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = Array(repeating: -1, count: size)
    }

    var count: Int { values.count }

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
        var i = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = slots[i]
            if entry < 0 { return nil }
            let e = Int(entry)
            if hashes[e] == hash, Int(keyLengths[e]) == key.count {
                let equal = arena.withUnsafeBytes { a in
                    key.count == 0 || bytesEqual(a.baseAddress! + Int(keyStarts[e]), key.baseAddress!, count: key.count)
                }
                if equal { return values[e] }
            }
            i = (i + 1) & mask
        }
    }

    /// Adds `key` → `value`; the key must not be present.
    mutating func insert(_ key: UnsafeRawBufferPointer, hash: UInt64, value: Int32) {
        if (values.count + 1) * 2 > slots.count { grow() }
        let e = Int32(values.count)
        hashes.append(hash)
        keyStarts.append(Int32(arena.count))
        keyLengths.append(Int32(key.count))
        values.append(value)
        arena.append(contentsOf: key)
        place(e, hash: hash)
    }

    private mutating func place(_ e: Int32, hash: UInt64) {
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: hash) & mask
        while slots[i] >= 0 { i = (i + 1) & mask }
        slots[i] = e
    }

    private mutating func grow() {
        slots = Array(repeating: -1, count: slots.count * 2)
        for e in 0..<values.count { place(Int32(e), hash: hashes[e]) }
    }

    /// Bytes held, for memory accounting.
    var heapBytes: Int { slots.capacity * 4 + hashes.capacity * 8 + (keyStarts.capacity + keyLengths.capacity + values.capacity) * 4 + arena.capacity }
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
