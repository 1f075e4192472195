public import TimeSeries

/// Why a scrape failed, in words that say what to fix.
public struct ScrapeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The broad cause, for counting.
    public enum Kind: String, Sendable, Hashable {
        /// No response: connection, TLS, timeout, body limit… (`HTTPError`).
        case http
        /// A response with a status other than 2xx.
        case status
        /// A malformed body (`line N: …`).
        case parse
        /// A bound of `ScrapeLimits` was passed.
        case limit
        /// The previous scrape of the target had not finished.
        case overlap
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// Samples the store did not take as given, by reason (a scrape still succeeds with these).
public struct RefusedSamples: Sendable, Hashable {
    public var outOfOrder = 0
    public var duplicate = 0
    public var tooOld = 0
    public var tooFarAhead = 0
    /// New series the store's series limit refused.
    public var seriesLimit = 0

    public init() {}

    /// All refusals together.
    public var total: Int { outOfOrder + duplicate + tooOld + tooFarAhead + seriesLimit }

    mutating func count(_ result: AppendResult) {
        switch result {
        case .ok: break
        case .outOfOrder: outOfOrder += 1
        case .duplicate: duplicate += 1
        case .tooOld: tooOld += 1
        case .tooFarAhead: tooFarAhead += 1
        case .seriesLimit, .unknownSeries: seriesLimit += 1
        case .wrongKind, .invalidValue: outOfOrder += 1
        }
    }
}

/// What one scrape did: the figures behind its synthetic series, and its error if it failed.
public struct ScrapeReport: Sendable {
    /// The scrape's time, which its samples (without their own timestamps) carry.
    public var timestamp: Timestamp
    /// From the start of the request to the end of writing, as `scrape_duration_seconds` says.
    public var duration: Duration
    /// Nil when the scrape succeeded (`up` 1).
    public var error: ScrapeError?
    /// The format the body was read as (nil when there was no body to read).
    public var format: ExpositionFormat?
    /// Status of the response, when there was one.
    public var httpStatus: Int?
    /// Bytes of the (decompressed) body.
    public var bodyBytes = 0
    /// Samples on the page (`scrape_samples_scraped`).
    public var samplesScraped = 0
    /// Samples left after metric relabeling (`scrape_samples_post_metric_relabeling`).
    public var samplesPostRelabeling = 0
    /// Series seen for the first time (`scrape_series_added`).
    public var seriesAdded = 0
    /// Series that vanished since the previous scrape and were marked stale.
    public var staleMarkers = 0
    /// Samples the store refused.
    public var refused = RefusedSamples()

    public init(timestamp: Timestamp, duration: Duration = .zero, error: ScrapeError? = nil) {
        self.timestamp = timestamp
        self.duration = duration
        self.error = error
    }

    /// True when the scrape succeeded.
    public var up: Bool { error == nil }
}

/// Where scrape logic gets its time: the wall clock for sample timestamps, a monotonic clock for
/// durations. Tests inject their own.
public struct ScrapeClock: Sendable {
    /// Milliseconds since the epoch.
    public var now: @Sendable () -> Timestamp
    /// Time since an arbitrary fixed origin, never going back.
    public var monotonic: @Sendable () -> Duration

    public init(now: @escaping @Sendable () -> Timestamp, monotonic: @escaping @Sendable () -> Duration) {
        self.now = now
        self.monotonic = monotonic
    }

    /// The system's clocks.
    public static let system = ScrapeClock(now: SeriesStore.systemClock, monotonic: monotonicNow)
}

/// CLOCK_MONOTONIC as a Duration.
@Sendable func monotonicNow() -> Duration {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return .seconds(Int64(ts.tv_sec)) + .nanoseconds(Int64(ts.tv_nsec))
}

#if canImport(Glibc)
import Glibc
#endif

extension Duration {
    /// The duration in seconds as a double (what `*_duration_seconds` series hold).
    var asSeconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}
