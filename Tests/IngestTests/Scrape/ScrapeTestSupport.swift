import Foundation
import Synchronization
import TimeSeries

@testable import Ingest

/// A clock the test moves: wall time in milliseconds, and a monotonic clock that advances by
/// `step` on every reading (so a scrape's duration is a known multiple of it).
final class ManualScrapeClock: Sendable {
    let wall: Mutex<Timestamp>
    let monotonicNow = Mutex<Duration>(.zero)
    let step: Duration

    init(_ now: Timestamp = 1_700_000_000_000, step: Duration = .milliseconds(5)) {
        wall = Mutex(now)
        self.step = step
    }

    var now: Timestamp {
        get { wall.withLock { $0 } }
        set { wall.withLock { $0 = newValue } }
    }

    var scrapeClock: ScrapeClock {
        ScrapeClock(
            now: { self.wall.withLock { $0 } },
            monotonic: {
                self.monotonicNow.withLock { now in
                    now += self.step
                    return now
                }
            })
    }

    var storeClock: @Sendable () -> Timestamp { { self.wall.withLock { $0 } } }
}

/// A store, a client, a clock and a loop for one target, as the daemon would wire them.
struct ScrapeFixture {
    let clock: ManualScrapeClock
    let store: SeriesStore
    let client: HTTPClient
    let loop: ScrapeLoop

    init(target: ScrapeTarget, storeConfig: StoreConfig = StoreConfig(), client: HTTPClient = HTTPClient(), clock: ManualScrapeClock = ManualScrapeClock()) {
        self.clock = clock
        self.store = SeriesStore(config: storeConfig, clock: clock.storeClock)
        self.client = client
        self.loop = ScrapeLoop(target: target, store: store, client: client, clock: clock.scrapeClock)
    }

    /// Ingests `page` at the clock's time (text format unless `contentType` says otherwise).
    @discardableResult
    func ingest(_ page: String, contentType: String? = "text/plain; version=0.0.4") -> ScrapeReport {
        loop.ingest(Array(page.utf8), contentType: contentType, at: clock.now)
    }

    /// Every series with its newest sample, keyed by its text form (`name{a="1", b="2"}`).
    func latest() -> [String: (timestamp: Timestamp, value: Double)] {
        store.read { reader in
            var out: [String: (Timestamp, Double)] = [:]
            for ref in reader.allSeries() {
                guard let labels = reader.labels(of: ref), let sample = reader.latest(of: ref) else { continue }
                out[labels.description] = sample
            }
            return out
        }
    }

    /// The newest value of one series, or nil.
    func value(_ series: String) -> Double? { latest()[series]?.value }

    /// The store kind of one series.
    func kind(_ series: String) -> SeriesKind? {
        store.read { reader in
            reader.allSeries().first { reader.labels(of: $0)?.description == series }.flatMap { reader.kind(of: $0) }
        }
    }

    /// The series names present (text forms), sorted.
    func seriesNames() -> [String] { latest().keys.sorted() }
}
