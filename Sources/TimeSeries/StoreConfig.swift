/// The shape and limits of a `SeriesStore`; everything that bounds its memory.
public struct StoreConfig: Sendable, Equatable {
    /// Width of a slot of the fine ring (default 10 s).
    public var resolution: Milliseconds = 10_000
    /// Time the fine ring covers (default 1 h).
    public var retention: Milliseconds = 3_600_000
    /// Coarser rings fed alongside the fine one (none by default), finest first.
    public var tiers: [Tier] = []
    /// Most series held at once; a new series past it is dropped and counted.
    public var seriesLimit: Int = 10_000
    /// Relative accuracy α of the quantile sketches.
    public var sketchAccuracy: Double = 0.01
    /// Most buckets a slot sketch spans (per sign); past it the lowest are collapsed and counted.
    public var sketchMaxBuckets: Int = 2_048
    /// A series with no write for this long is removed (default: the longest retention).
    public var expireAfter: Milliseconds? = nil
    /// Samples further than this ahead of the clock are refused (a broken clock must not wipe rings).
    public var maxFutureSkew: Milliseconds = 600_000

    /// A coarser ring: its slot width and the time it covers.
    public struct Tier: Sendable, Equatable {
        public var resolution: Milliseconds
        public var retention: Milliseconds
        public init(resolution: Milliseconds, retention: Milliseconds) {
            self.resolution = resolution
            self.retention = retention
        }
    }

    public init() {}

    /// The defaults with other resolution, retention and tiers.
    public init(resolution: Milliseconds, retention: Milliseconds, tiers: [Tier] = []) {
        self.resolution = resolution
        self.retention = retention
        self.tiers = tiers
    }

    /// The rings every series has: the fine one first, then the tiers.
    var rings: [(resolution: Milliseconds, capacity: Int)] {
        [(resolution, Int(retention / resolution))] + tiers.map { ($0.resolution, Int($0.retention / $0.resolution)) }
    }

    /// How long a silent series is kept.
    var effectiveExpiry: Milliseconds { expireAfter ?? ([retention] + tiers.map(\.retention)).max()! }

    /// Every problem with this configuration, as sentences; empty when it is usable.
    public func problems() -> [String] {
        var out: [String] = []
        func check(_ name: String, _ res: Milliseconds, _ ret: Milliseconds) {
            if res <= 0 { out.append("\(name) resolution must be positive") ; return }
            if ret < res { out.append("\(name) retention must be at least its resolution") }
            if ret % res != 0 { out.append("\(name) retention must be a whole number of resolution slots") }
            if ret / res > 1_000_000 { out.append("\(name) holds \(ret / res) slots per series; at most 1000000 are allowed") }
        }
        check("the fine ring's", resolution, retention)
        var previous = (resolution, retention)
        for (i, tier) in tiers.enumerated() {
            check("tier \(i + 1)'s", tier.resolution, tier.retention)
            if previous.0 > 0, tier.resolution <= previous.0 || tier.resolution % previous.0 != 0 {
                out.append("tier \(i + 1)'s resolution must be a multiple of, and coarser than, the one before")
            }
            if tier.retention <= previous.1 { out.append("tier \(i + 1) must cover more time than the one before") }
            previous = (tier.resolution, tier.retention)
        }
        if seriesLimit <= 0 { out.append("series_limit must be positive") }
        if !(sketchAccuracy > 0 && sketchAccuracy < 1) { out.append("sketch accuracy must be between 0 and 1 (exclusive)") }
        if sketchMaxBuckets < 16 { out.append("sketch bucket limit must be at least 16") }
        if let e = expireAfter, e <= 0 { out.append("series expiry must be positive") }
        return out
    }
}

/// What kind of values a series holds; fixed when the series is created.
public enum SeriesKind: UInt8, Sendable, CaseIterable {
    /// A value that goes up and down; slots keep the last sample.
    case gauge
    /// A monotonic total; slots keep the last sample, resets are handled at ingestion.
    case counter
    /// Observations (e.g. latencies from a log); slots keep count, sum, min, max and a sketch.
    case distribution
}

/// An opaque handle to a series, valid until the series expires; never reused after that.
public struct SeriesRef: Hashable, Sendable, Comparable {
    let index: UInt32
    let generation: UInt32
    public static func < (a: SeriesRef, b: SeriesRef) -> Bool { (a.index, a.generation) < (b.index, b.generation) }
}

/// Why a write was not stored as given.
public enum AppendResult: Sendable, Equatable {
    /// Stored.
    case ok
    /// Older than the series' newest sample (gauges and counters only, as in Prometheus).
    case outOfOrder
    /// Same timestamp as the newest sample but another value.
    case duplicate
    /// Older than the oldest slot the rings hold.
    case tooOld
    /// Further ahead of the clock than `maxFutureSkew`.
    case tooFarAhead
    /// The reference's series has expired; look it up again.
    case unknownSeries
    /// The operation does not fit the series' kind (e.g. `observe` on a gauge).
    case wrongKind
    /// The series limit refused a new series.
    case seriesLimit
    /// Not a value the operation takes: NaN observations, negative or non-finite counter increments.
    case invalidValue
}
