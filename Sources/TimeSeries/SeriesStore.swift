#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The time-series store: series indexed by label set, each with its rings, within fixed limits.
///
/// Ownership: one lock (`Synchronization.Mutex`, the agent's one lock type) owns all state.
/// `write` and `read` each hold it for the whole closure, so a scrape or a batch of log lines costs
/// one lock round trip, and a query sees one consistent state. Nothing inside does I/O; time comes from the injected clock (used only to refuse
/// samples from the far future and to expire silent series).
public final class SeriesStore: @unchecked Sendable {
    /// The configuration the store was built with.
    public let config: StoreConfig
    /// The sketch's bucket mapping (from `config.sketchAccuracy`).
    public let mapping: SketchMapping
    private let clock: @Sendable () -> Timestamp
    /// Guards `state`. A `Mutex` has a stable address of its own (a `pthread_mutex_t` stored
    /// property passed by `&` has none in Swift: the inout access may be a temporary copy).
    private let mutex = Mutex(())
    let state: StoreState

    /// A store; the configuration must have no `problems()`.
    public init(config: StoreConfig = StoreConfig(), clock: @escaping @Sendable () -> Timestamp = SeriesStore.systemClock) {
        precondition(config.problems().isEmpty, "invalid store configuration: \(config.problems().joined(separator: "; "))")
        self.config = config
        self.mapping = SketchMapping(relativeAccuracy: config.sketchAccuracy)
        self.clock = clock
        self.state = StoreState(config: config)
    }

    /// Wall-clock milliseconds since the epoch.
    public static let systemClock: @Sendable () -> Timestamp = {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    @inline(__always)
    private func locked<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        // What `body` returns is handed out of the lock unchecked: callers get values derived from
        // the state, which the lock's `sending` result cannot see are theirs alone.
        try mutex.withLock { (_: inout ()) throws(E) -> Unchecked<R> in Unchecked(try body()) }.value
    }

    /// Runs `body` with the store locked once, for a batch of writes.
    public func write<R>(_ body: (inout StoreWriter) throws -> R) rethrows -> R {
        let now = clock()
        return try locked {
            var writer = StoreWriter(state: state, store: self, now: now)
            return try body(&writer)
        }
    }

    /// Runs `body` with the store locked once, for a consistent read.
    public func read<R>(_ body: (StoreReader) throws -> R) rethrows -> R {
        try locked { try body(StoreReader(state: state, store: self)) }
    }

    /// Counters of what the store did and refused.
    public var stats: StoreStats { locked { state.statsSnapshot() } }

    /// Removes series without a write for `expireAfter`; returns how many went.
    @discardableResult
    public func expireSilentSeries() -> Int {
        let now = clock()
        return locked { state.expire(olderThan: now - config.effectiveExpiry) }
    }

    /// Approximate heap bytes held by the series (rings, label sets, index entries).
    public var heapBytes: Int { locked { state.heapBytes } }
}

/// A value carried out of the store's lock; see `SeriesStore.locked`.
private struct Unchecked<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}

/// The state behind the store's lock.
final class StoreState {
    let config: StoreConfig
    let rings: [(resolution: Milliseconds, capacity: Int)]
    // The hot state of every write is unchecked for exclusivity: only the store's lock reaches it.
    @exclusivity(unchecked) var series: [Series?] = []
    @exclusivity(unchecked) var generations: [UInt32] = []
    /// `series` without ownership, so a write can use a series without retaining it.
    @exclusivity(unchecked) var handles: [Unmanaged<Series>?] = []
    var freeIndices: [UInt32] = []
    var byLabels: [Labels: UInt32] = [:]
    var byName: [String: [UInt32]] = [:]
    /// Inverted index: label name → value → series holding it (unordered). Lets a selector start
    /// from its most selective equality matcher instead of every series of a name.
    var postings: [String: [String: [UInt32]]] = [:]
    /// Changes whenever a series is created or removed, so that callers may keep what a selector
    /// picked until the set of series changes (rules evaluate the same selectors every interval).
    var seriesSetVersion: UInt64 = 0
    @exclusivity(unchecked) var stats = StoreStats()
    /// Raw slots of new distribution rings (tests set `Int.max` for rings that never seal).
    var distributionRawSlots = DistributionRing.defaultRawSlots

    init(config: StoreConfig) {
        self.config = config
        self.rings = config.rings
    }

    @inline(__always)
    func lookup(_ ref: SeriesRef) -> Series? {
        let i = Int(ref.index)
        guard i < series.count, generations[i] == ref.generation else { return nil }
        return series[i]
    }

    /// Runs `body` with the live series of `ref` (nil when it has expired), without retaining it.
    @inline(__always)
    func withSeries<R>(_ ref: SeriesRef, _ body: (Series) -> R) -> R? {
        let i = Int(ref.index)
        guard i < handles.count, generations[i] == ref.generation, let s = handles[i] else { return nil }
        return s._withUnsafeGuaranteedRef(body)
    }

    func ref(of index: UInt32) -> SeriesRef { SeriesRef(index: index, generation: generations[Int(index)]) }

    /// Finds or creates the series; nil (counted) past the series limit.
    func findOrCreate(_ labels: Labels, kind: SeriesKind, now: Timestamp) -> SeriesRef? {
        if let i = byLabels[labels] { return ref(of: i) }
        guard byLabels.count < config.seriesLimit else {
            stats.droppedSeriesLimit += 1
            return nil
        }
        return insert(Series(labels: labels, kind: kind, rings: rings, now: now, distributionRawSlots: distributionRawSlots))
    }

    func insert(_ s: Series) -> SeriesRef {
        seriesSetVersion &+= 1
        let index: UInt32
        if let reused = freeIndices.popLast() {
            index = reused
            series[Int(index)] = s
            handles[Int(index)] = Unmanaged.passUnretained(s)
        } else {
            index = UInt32(series.count)
            series.append(s)
            handles.append(Unmanaged.passUnretained(s))
            generations.append(0)
        }
        byLabels[s.labels] = index
        byName[s.labels.metricName ?? "", default: []].append(index)
        s.labels.forEach { n, v in
            let name = String(decoding: n, as: UTF8.self)
            guard name != Labels.metricName else { return }
            postings[name, default: [:]][String(decoding: v, as: UTF8.self), default: []].append(index)
        }
        return ref(of: index)
    }

    func remove(at index: UInt32) {
        guard let s = series[Int(index)] else { return }
        seriesSetVersion &+= 1
        series[Int(index)] = nil
        handles[Int(index)] = nil
        generations[Int(index)] &+= 1  // old refs to this index stop resolving
        freeIndices.append(index)
        byLabels[s.labels] = nil
        let name = s.labels.metricName ?? ""
        byName[name]?.removeAll { $0 == index }
        if byName[name]?.isEmpty == true { byName[name] = nil }
        s.labels.forEach { n, v in
            let label = String(decoding: n, as: UTF8.self), value = String(decoding: v, as: UTF8.self)
            postings[label]?[value]?.removeAll { $0 == index }
            if postings[label]?[value]?.isEmpty == true { postings[label]?[value] = nil }
            if postings[label]?.isEmpty == true { postings[label] = nil }
        }
    }

    func expire(olderThan cutoff: Timestamp) -> Int {
        var removed = 0
        for (i, s) in series.enumerated() where s != nil && s!.lastWrite < cutoff {
            remove(at: UInt32(i))
            removed += 1
        }
        stats.expiredSeries += removed
        return removed
    }

    func statsSnapshot() -> StoreStats {
        var s = stats
        s.series = byLabels.count
        s.gauges = 0; s.counters = 0; s.distributions = 0
        for case let series? in series {
            switch series.kind {
            case .gauge: s.gauges += 1
            case .counter: s.counters += 1
            case .distribution: s.distributions += 1
            }
        }
        return s
    }

    var heapBytes: Int {
        var total = series.capacity * 8 + generations.capacity * 4
        total += byLabels.capacity * (MemoryLayout<Labels>.stride + 8)
        for case let s? in series { total += s.heapBytes }
        for (name, ids) in byName { total += name.utf8.count + 32 + ids.capacity * 4 }
        for (name, values) in postings {
            total += name.utf8.count + 32
            for (value, ids) in values { total += value.utf8.count + 32 + ids.capacity * 4 }
        }
        return total
    }
}
