import Synchronization
import TimeSeries

/// What the selectors of one expression picked, kept between evaluations of that expression
/// while the store's set of series stays the same.
///
/// A rule evaluates the same selectors every interval, and in steady state no series appears or
/// goes between two evaluations: finding them again (index lookups, matchers and regexes over
/// every candidate) was a third of a rule group's evaluation time. Keyed by selector position in
/// the expression's text, so one cache serves one expression only. Lock-protected: an evaluation
/// takes the cached selections at its start and hands back its own at its end.
public final class SelectionCache: Sendable {
    struct Entry {
        var identity: SeriesSetIdentity
        var selections: [Int: [SelectedSeries]]
    }

    let entry = Mutex<Entry?>(nil)

    /// An empty cache.
    public init() {}

    func selections(for identity: SeriesSetIdentity) -> [Int: [SelectedSeries]] {
        entry.withLock { e in
            guard let e, e.identity == identity else { return [:] }
            return e.selections
        }
    }

    func keep(_ selections: [Int: [SelectedSeries]], for identity: SeriesSetIdentity) {
        entry.withLock { $0 = Entry(identity: identity, selections: selections) }
    }
}
