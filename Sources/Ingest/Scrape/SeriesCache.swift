import TimeSeries

#if canImport(Glibc)
import Glibc
#endif

/// Per-target map from a series' raw bytes (`name{labels}` as the page wrote them) to what the
/// scrape does with it, as Prometheus's scrape cache does.
///
/// Model: keys live back to back in one byte arena, entries in one array, and an open-addressing
/// table of entry indices (power-of-two size, linear probing, at most half full) finds them by a
/// seeded 64-bit hash of the raw bytes. A lookup hashes and compares bytes straight from the body,
/// so a steady-state scrape builds no label set and allocates nothing. An entry remembers the
/// store reference (or that relabeling dropped the series), the kind, and the scrape generation
/// that last saw it, which is what staleness needs. `compact(keeping:)` rebuilds the three arrays
/// with the entries of the latest scrape only, bounding the cache by the size of a scrape.
///
/// Owned by one `ScrapeLoop`, under its lock.
struct SeriesCache {
    enum Disposition: UInt8 {
        /// Written to the store under `ref`.
        case stored
        /// Dropped by metric relabeling.
        case dropped
        /// Refused by the store's series limit; `pendingLabels` holds the labels to retry with.
        case refused
    }

    struct Entry {
        var hash: UInt64
        var keyOffset: Int
        var keyLength: Int
        var ref: SeriesRef?
        var disposition: Disposition
        var kind: SeriesKind
        /// Generation of the last committed scrape that had this series (0: none yet).
        var lastSeen: UInt32
        /// The last sample carried its own timestamp: no staleness marker for it, as in Prometheus.
        var explicitTimestamp: Bool
    }

    private(set) var arena: [UInt8] = []
    var entries: [Entry] = []
    private var slots: [Int32] = Array(repeating: -1, count: 64)
    private let seed: UInt64
    /// Labels of entries the series limit refused, to retry without rebuilding them.
    var refusedLabels: [Int: Labels] = [:]

    init(seed: UInt64 = UInt64.random(in: 0...UInt64.max)) {
        self.seed = seed
    }

    var count: Int { entries.count }

    /// The entry index of `key`, or nil.
    @inline(__always)
    func find(_ key: UnsafeRawBufferPointer, hash: UInt64) -> Int? {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        return slots.withUnsafeBufferPointer { slots in
            entries.withUnsafeBufferPointer { entries in
                arena.withUnsafeBufferPointer { arena in
                    while true {
                        let index = Int(slots[slot])
                        if index < 0 { return nil }
                        let e = entries[index]
                        if e.hash == hash && e.keyLength == key.count
                            && (key.count == 0 || memcmp(arena.baseAddress! + e.keyOffset, key.baseAddress!, key.count) == 0)
                        {
                            return index
                        }
                        slot = (slot + 1) & mask
                    }
                }
            }
        }
    }

    /// Adds an entry for `key` (which must not be present) and returns its index.
    mutating func insert(
        _ key: UnsafeRawBufferPointer, hash: UInt64, ref: SeriesRef?, disposition: Disposition, kind: SeriesKind
    ) -> Int {
        if (entries.count + 1) * 2 > slots.count { grow() }
        let index = entries.count
        entries.append(
            Entry(
                hash: hash, keyOffset: arena.count, keyLength: key.count, ref: ref, disposition: disposition, kind: kind,
                lastSeen: 0, explicitTimestamp: false))
        arena.append(contentsOf: key)
        place(index, hash: hash)
        return index
    }

    /// The raw key bytes of an entry (to rebuild its labels after its series expired).
    func withKey<R>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let e = entries[index]
        return try arena.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[e.keyOffset..<(e.keyOffset + e.keyLength)])) }
    }

    private mutating func place(_ index: Int, hash: UInt64) {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] >= 0 { slot = (slot + 1) & mask }
        slots[slot] = Int32(index)
    }

    private mutating func grow() {
        slots = Array(repeating: -1, count: slots.count * 2)
        for (i, e) in entries.enumerated() { place(i, hash: e.hash) }
    }

    /// Keeps only the entries `keep` accepts, rebuilding the arena and the table.
    mutating func compact(keeping keep: (Entry) -> Bool) {
        var newArena: [UInt8] = []
        var newEntries: [Entry] = []
        var newRefused: [Int: Labels] = [:]
        for (i, var e) in entries.enumerated() where keep(e) {
            if let labels = refusedLabels[i] { newRefused[newEntries.count] = labels }
            newArena.append(contentsOf: arena[e.keyOffset..<(e.keyOffset + e.keyLength)])
            e.keyOffset = newArena.count - e.keyLength
            newEntries.append(e)
        }
        arena = newArena
        entries = newEntries
        refusedLabels = newRefused
        var size = 64
        while size < entries.count * 2 + 2 { size *= 2 }
        slots = Array(repeating: -1, count: size)
        for (i, e) in entries.enumerated() { place(i, hash: e.hash) }
    }

    /// A seeded 64-bit hash of `key`, eight bytes at a time.
    @inline(__always)
    func hash(_ key: UnsafeRawBufferPointer) -> UInt64 {
        let n = key.count
        var h = seed ^ (UInt64(n) &* 0x9E37_79B9_7F4A_7C15)
        guard let p = key.baseAddress else { return mix(h) }
        var i = 0
        while i + 8 <= n {
            let w = p.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = (h ^ mix(w)) &* 0xBF58_476D_1CE4_E5B9
            h = (h << 27) | (h >> 37)
            i += 8
        }
        if i < n {
            var w: UInt64 = 0
            var shift: UInt64 = 0
            while i < n {
                w |= UInt64(p.load(fromByteOffset: i, as: UInt8.self)) << shift
                shift += 8
                i += 1
            }
            h = (h ^ mix(w)) &* 0xBF58_476D_1CE4_E5B9
        }
        return mix(h)
    }

    /// SplitMix64's finalizer.
    @inline(__always)
    private func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
