/// One series: its identity, its kind and its rings (the fine ring first, then the tiers).
///
/// Owned by the store's lock (see `SeriesStore`), which is why its hot fields skip exclusivity checks.
final class Series {
    let labels: Labels
    let kind: SeriesKind
    let scalar: [ScalarRing]
    let distribution: [DistributionRing]
    /// `scalar` and `distribution` without ownership, in raw memory: the write paths reach a
    /// ring without retaining it or the array.
    let scalarHandles: UnsafeMutableBufferPointer<Unmanaged<ScalarRing>>
    let distributionHandles: UnsafeMutableBufferPointer<Unmanaged<DistributionRing>>
    /// Newest sample time written (scalar) or observed (distribution).
    @exclusivity(unchecked) var lastTimestamp: Timestamp = .min
    /// Newest value (scalar): the running total of a counter fed by `add`.
    @exclusivity(unchecked) var lastValue: Double = .nan
    /// Clock time of the last write, for expiry.
    @exclusivity(unchecked) var lastWrite: Timestamp

    init(labels: Labels, kind: SeriesKind, rings: [(resolution: Milliseconds, capacity: Int)], now: Timestamp,
         distributionRawSlots: Int = DistributionRing.defaultRawSlots) {
        self.labels = labels
        self.kind = kind
        if kind == .distribution {
            scalar = []
            distribution = rings.map { DistributionRing(capacity: $0.capacity, resolution: $0.resolution, rawSlots: distributionRawSlots) }
        } else {
            scalar = rings.map { ScalarRing(capacity: $0.capacity, resolution: $0.resolution) }
            distribution = []
        }
        scalarHandles = Series.handles(scalar)
        distributionHandles = Series.handles(distribution)
        lastWrite = now
    }

    deinit {
        if scalarHandles.baseAddress != nil { scalarHandles.deallocate() }
        if distributionHandles.baseAddress != nil { distributionHandles.deallocate() }
    }

    /// Unowned handles to `rings` in raw memory (none allocated for no rings).
    private static func handles<Ring: AnyObject>(_ rings: [Ring]) -> UnsafeMutableBufferPointer<Unmanaged<Ring>> {
        guard !rings.isEmpty else { return UnsafeMutableBufferPointer(start: nil, count: 0) }
        let handles = UnsafeMutableBufferPointer<Unmanaged<Ring>>.allocate(capacity: rings.count)
        _ = handles.initialize(from: rings.map { Unmanaged.passUnretained($0) })
        return handles
    }

    /// Bytes this series owns on the heap (rings, labels, the object itself).
    var heapBytes: Int {
        var bytes = 64 + labels.encoded.count + 32 + 32  // the object, its labels, its ring handles
        for r in scalar { bytes += r.heapBytes + 64 }
        for r in distribution { bytes += r.heapBytes + 64 }
        return bytes
    }

    /// The finest ring index whose span reaches back to `from` (the coarsest when none does).
    /// - Complexity: O(rings), without allocating (this runs for every series of every query).
    func ringIndex(coveringFrom from: Timestamp) -> Int {
        let count = kind == .distribution ? distribution.count : scalar.count
        for i in 0..<count {
            let clock = kind == .distribution ? distribution[i].clock : scalar[i].clock
            guard let oldest = clock.oldest else { return i }
            if clock.start(of: oldest) <= from + 1 { return i }
        }
        return count - 1
    }
}
