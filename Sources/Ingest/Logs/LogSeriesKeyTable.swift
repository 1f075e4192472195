#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An open-addressing hash table from byte keys (label values joined by 0xFF) to a row of
/// `rowLength` Int32s, with keys and rows stored in one arena: the per-line series lookup of
/// `LogMapper` without allocating.
///
/// A slot holds the upper half of the key's hash and the offset of its record in the arena, so a
/// probe that misses touches one word; a hit reads one record (key length, key bytes, row, side
/// by side in memory), compares the bytes and hands out the row in place. A row pointer is valid
/// until the next insert (which may move the arena). Everything lives in raw memory: no bounds,
/// uniqueness or exclusivity checks on the per-line path.
///
/// Ownership: one owner (the `LogMapper` that holds it) uses it at a time.
final class LogSeriesKeyTable {
    /// 0 when empty, else `hash >> 32 << 32 | (record offset / 8 + 1)`.
    @exclusivity(unchecked) private var slots: UnsafeMutablePointer<UInt64>
    @exclusivity(unchecked) private var slotCount: Int
    /// Records, each 8-byte aligned: key length (UInt32), 4 spare bytes, the key's hash (UInt64,
    /// so growing never hashes again), the key's bytes, the row (4-byte aligned).
    @exclusivity(unchecked) private var arena: UnsafeMutableRawPointer
    @exclusivity(unchecked) private var arenaUsed = 0
    @exclusivity(unchecked) private var arenaCapacity: Int
    @exclusivity(unchecked) private(set) var count = 0
    let rowLength: Int

    init(capacity: Int = 64, rowLength: Int) {
        self.rowLength = rowLength
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slotCount = size
        slots = .allocate(capacity: size)
        slots.initialize(repeating: 0, count: size)
        arenaCapacity = 4096
        arena = .allocate(byteCount: arenaCapacity, alignment: 8)
    }

    deinit {
        slots.deallocate()
        arena.deallocate()
    }

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

    /// Where a record's key starts.
    static let keyOffset = 16

    /// Where the row of a key of `length` bytes starts in its record.
    @inline(__always)
    static func rowOffset(keyLength: Int) -> Int { (keyOffset + keyLength + 3) & ~3 }

    /// The start value of a key hashed field by field (`combine`, then `finish`).
    static let seed: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// Mixes one field value (`count` bytes at `p`, nil when empty) into `h`; `available` is how
    /// many bytes may be read from `p` (at least `count`): with eight or more a short value is one
    /// load, masked. Every byte of the value counts: values that differ only in the middle do
    /// not collide.
    @inline(__always)
    static func combine(_ h: UInt64, _ p: UnsafeRawPointer?, count n: Int, available: Int) -> UInt64 {
        var h = (h ^ UInt64(truncatingIfNeeded: n)) &* 0x9E37_79B9_7F4A_7C15
        guard let p, n > 0 else { return h ^ (h &>> 32) }
        if n <= 8 {
            var w: UInt64 = 0
            if available >= 8 {
                w = p.loadUnaligned(as: UInt64.self) & (UInt64.max &>> UInt64(truncatingIfNeeded: 64 &- 8 &* n))
            } else {
                for i in 0..<n { w |= UInt64(p.load(fromByteOffset: i, as: UInt8.self)) &<< UInt64(truncatingIfNeeded: 8 &* i) }
            }
            h = (h ^ w) &* 0xBF58_476D_1CE4_E5B9
        } else {
            var i = 0
            while n &- i > 8 {
                h = (h ^ p.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
                h ^= h &>> 29
                i &+= 8
            }
            // The last word may overlap the one before: no byte loop for the tail.
            h = (h ^ p.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
        }
        return h ^ (h &>> 29)
    }

    /// The hash of a key after its last `combine`.
    @inline(__always)
    static func finish(_ h: UInt64) -> UInt64 {
        let x = (h ^ (h &>> 31)) &* 0x94D0_49BB_1331_11EB
        return x ^ (x &>> 29)
    }

    /// The row stored for the key made of `fieldCount` values (`starts[k]`, `counts[k]` bytes),
    /// each followed by 0xFF, `keyLength` bytes in all, without building that key; or nil.
    @inline(__always)
    func find(
        fields starts: UnsafePointer<UnsafeRawPointer?>, counts: UnsafePointer<Int>, fieldCount: Int, keyLength: Int, hash: UInt64
    ) -> UnsafeMutablePointer<Int32>? {
        probe(hash: hash, keyLength: keyLength) { key in
            var offset = 0
            for k in 0..<fieldCount {
                let n = counts[k]
                if n > 0 && !bytesEqual(key + offset, starts[k].unsafelyUnwrapped, count: n) || key.load(fromByteOffset: offset + n, as: UInt8.self) != 0xFF {
                    return false
                }
                offset += n + 1
            }
            return true
        }
    }

    /// The row stored for `key`, or nil.
    @inline(__always)
    func find(_ key: UnsafeRawBufferPointer, hash: UInt64) -> UnsafeMutablePointer<Int32>? {
        probe(hash: hash, keyLength: key.count) { stored in
            key.count == 0 || bytesEqual(stored, key.baseAddress!, count: key.count)
        }
    }

    /// Linear probing from `hash`: the row of the first record with the hash's tag, `keyLength`
    /// and a key (its first byte passed to `sameKey`) that `sameKey` accepts; nil at an empty slot.
    @inline(__always)
    private func probe(hash: UInt64, keyLength: Int, sameKey: (UnsafeRawPointer) -> Bool) -> UnsafeMutablePointer<Int32>? {
        let mask = slotCount - 1
        let tag = hash & 0xFFFF_FFFF_0000_0000
        var i = Int(truncatingIfNeeded: hash) & mask
        while true {
            let slot = slots[i]
            if slot == 0 { return nil }
            if slot & 0xFFFF_FFFF_0000_0000 == tag {
                let record = arena + (Int(truncatingIfNeeded: slot & 0xFFFF_FFFF) - 1) << 3
                if Int(record.load(as: UInt32.self)) == keyLength, sameKey(UnsafeRawPointer(record + LogSeriesKeyTable.keyOffset)) {
                    return (record + LogSeriesKeyTable.rowOffset(keyLength: keyLength)).assumingMemoryBound(to: Int32.self)
                }
            }
            i = (i + 1) & mask
        }
    }

    /// Forgets every key; the memory goes back to what a new table holds (rows handed out before
    /// are invalid).
    func removeAll() {
        slots.deallocate()
        slotCount = 16
        while slotCount < 1024 * 2 { slotCount <<= 1 }
        slots = .allocate(capacity: slotCount)
        slots.initialize(repeating: 0, count: slotCount)
        arena.deallocate()
        arenaCapacity = 4096
        arena = .allocate(byteCount: arenaCapacity, alignment: 8)
        arenaUsed = 0
        count = 0
    }

    /// Adds `key` with a row of -1s and returns the row; the key must not be present.
    func insert(_ key: UnsafeRawBufferPointer, hash: UInt64) -> UnsafeMutablePointer<Int32> {
        if (count + 1) * 2 > slotCount { grow() }
        let size = recordSize(keyLength: key.count)
        if arenaUsed + size + 8 > arenaCapacity {
            var capacity = arenaCapacity * 2
            while arenaUsed + size + 8 > capacity { capacity *= 2 }
            let bigger = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
            bigger.copyMemory(from: arena, byteCount: arenaUsed)
            arena.deallocate()
            arena = bigger
            arenaCapacity = capacity
        }
        let record = arena + arenaUsed
        record.storeBytes(of: UInt32(key.count), as: UInt32.self)
        record.storeBytes(of: hash, toByteOffset: 8, as: UInt64.self)
        if let source = key.baseAddress { (record + LogSeriesKeyTable.keyOffset).copyMemory(from: source, byteCount: key.count) }
        let row = (record + LogSeriesKeyTable.rowOffset(keyLength: key.count)).bindMemory(to: Int32.self, capacity: rowLength)
        row.initialize(repeating: -1, count: rowLength)
        place(arenaUsed, hash: hash)
        arenaUsed += size
        count += 1
        return row
    }

    @inline(__always)
    private func recordSize(keyLength: Int) -> Int {
        (LogSeriesKeyTable.rowOffset(keyLength: keyLength) + 4 * rowLength + 7) & ~7
    }

    private func place(_ offset: Int, hash: UInt64) {
        let mask = slotCount - 1
        var i = Int(truncatingIfNeeded: hash) & mask
        while slots[i] != 0 { i = (i + 1) & mask }
        slots[i] = (hash & 0xFFFF_FFFF_0000_0000) | UInt64(offset >> 3 + 1)
    }

    private func grow() {
        slots.deallocate()
        slotCount *= 2
        slots = .allocate(capacity: slotCount)
        slots.initialize(repeating: 0, count: slotCount)
        var offset = 0
        while offset < arenaUsed {
            let length = Int((arena + offset).load(as: UInt32.self))
            place(offset, hash: (arena + offset).load(fromByteOffset: 8, as: UInt64.self))
            offset += recordSize(keyLength: length)
        }
    }

    /// Bytes held, for memory accounting.
    var heapBytes: Int { slotCount * 8 + arenaCapacity }
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
