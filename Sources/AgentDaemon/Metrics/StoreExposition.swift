import TimeSeries

/// Every stored series as a Prometheus text page (`listen.expose: all`), so that a central
/// Prometheus or VictoriaMetrics scrapes a fleet of agents like any other target.
///
/// The model, close to what Prometheus's `/federate` serves:
/// - A series is on the page while its newest sample is at most `lookback` (5 min, Prometheus's
///   lookback delta) old and is not a stale marker; older ones are what a query would not see either.
/// - Gauges and counters: their newest sample, stamped with its own timestamp.
/// - Distributions: a Prometheus summary. `{quantile="0.5"|"0.9"|"0.95"|"0.99"}` over the last
///   `window` (5 min) as of the scrape, without a timestamp (they change as the window slides);
///   `_count` and `_sum` are totals since the series began, stamped with the newest observation.
/// - External labels are added to each series that does not carry that label itself.
/// - A metric name is written as one family (`# HELP`, `# TYPE`, then its series), families in name
///   order. Series that cannot be written without breaking the page are skipped and counted: a
///   series whose kind differs from the rest of its family's, and a distribution whose `_count` or
///   `_sum` name is taken by another family.
///
/// Cost: one pass over the index to group series by name, then the lines are written straight into
/// the writer's buffer (`ExpositionWriter.sample(_:suffix:_:adding:label:value:timestamp:)`); the
/// store's lock is taken per batch of families, so a page of many thousands of series never holds
/// ingestion up for long.
struct StoreExposition {
    /// How far back a series' newest sample may lie for the series to be on the page.
    static let lookback: Milliseconds = 5 * 60_000
    /// The window a summary's quantiles cover.
    static let window: Milliseconds = 5 * 60_000
    /// The quantiles each distribution shows.
    static let quantiles: [(label: StaticString, q: Double)] = [("0.5", 0.5), ("0.9", 0.9), ("0.95", 0.95), ("0.99", 0.99)]
    /// Series written per store lock.
    static let seriesPerLock = 1024

    let store: SeriesStore
    /// Labels added to series that lack them (`global.external_labels`).
    let externalLabels: Labels

    /// The series of one metric name, with the kind the family is written as.
    struct Family {
        var name: String
        var kind: SeriesKind
        var series: [SeriesRef]
    }

    /// The stored series grouped into families, in name order; `excluding` says which series the
    /// page already shows otherwise (the agent's own metrics, rendered live). Returns the families
    /// and the number of series left out because they would break the page.
    func families(excluding: (String, Labels) -> Bool) -> (families: [Family], skipped: Int) {
        var byName: [String: [(SeriesRef, SeriesKind)]] = [:]
        store.read { reader in
            for ref in reader.allSeries() {
                guard let labels = reader.labels(of: ref), let kind = reader.kind(of: ref) else { continue }
                let name = labels.metricName ?? ""
                guard !name.isEmpty, !excluding(name, labels) else { continue }
                byName[name, default: []].append((ref, kind))
            }
        }
        var skipped = 0
        var families: [Family] = []
        families.reserveCapacity(byName.count)
        for (name, members) in byName {
            // A name holding several kinds (possible: kind is per series) is written as its most
            // common kind; a page cannot declare two types for one name.
            var counts = [0, 0, 0]
            for (_, kind) in members { counts[Int(kind.rawValue)] += 1 }
            let kind = SeriesKind(rawValue: UInt8(counts.indices.max { counts[$0] < counts[$1] }!))!
            if kind == .distribution, byName[name + "_count"] != nil || byName[name + "_sum"] != nil {
                skipped += members.count
                continue
            }
            var refs = members.compactMap { $0.1 == kind ? $0.0 : nil }
            skipped += members.count - refs.count
            refs.sort()
            families.append(Family(name: name, kind: kind, series: refs))
        }
        families.sort { $0.name < $1.name }
        return (families, skipped)
    }

    /// Writes `families` at time `now`: each family's header (unless `headerWritten` says a family of
    /// that name is already open, e.g. an agent metric of the same name) and its series.
    func write(_ families: [Family], now: Timestamp, into w: inout ExpositionWriter, headerWritten: (String) -> Bool = { _ in false }) {
        var cumulative: [CumulativeSample] = []
        var start = 0
        while start < families.count {
            // Whole families per lock, about `seriesPerLock` series at a time.
            var end = start
            var seriesInBatch = 0
            while end < families.count && (end == start || seriesInBatch + families[end].series.count <= Self.seriesPerLock) {
                seriesInBatch += families[end].series.count
                end += 1
            }
            store.read { reader in
                for family in families[start..<end] {
                    write(family, reader: reader, now: now, header: !headerWritten(family.name), cumulative: &cumulative, into: &w)
                }
            }
            start = end
        }
    }

    private func write(_ family: Family, reader: StoreReader, now: Timestamp, header: Bool, cumulative: inout [CumulativeSample],
                       into w: inout ExpositionWriter) {
        var headerDone = !header
        for ref in family.series {
            guard let labels = reader.labels(of: ref), let latest = reader.latest(of: ref),
                  now - latest.timestamp <= Self.lookback, !latest.value.isStaleMarker else { continue }
            if !headerDone {
                switch family.kind {
                case .gauge: w.family(family.name, type: "gauge", help: "Stored by the agent: the newest sample.")
                case .counter: w.family(family.name, type: "counter", help: "Stored by the agent: the newest total.")
                case .distribution:
                    w.family(family.name, type: "summary",
                             help: "Stored by the agent: quantiles over the last 5m, count and sum since the series began.")
                }
                headerDone = true
            }
            guard family.kind == .distribution else {
                w.sample(family.name, labels, adding: externalLabels, value: latest.value, timestamp: latest.timestamp)
                continue
            }
            if let summary = reader.summary(of: ref, from: now - Self.window, through: now) {
                for (label, q) in Self.quantiles {
                    w.sample(family.name, labels, adding: externalLabels, label: ("quantile", label),
                             value: summary.count > 0 ? summary.quantile(q) : .nan, timestamp: nil)
                }
            }
            cumulative.removeAll(keepingCapacity: true)
            reader.cumulative(of: ref, from: now - Self.lookback, through: .max, into: &cumulative)
            if let totals = cumulative.last {
                w.sample(family.name, suffix: "_sum", labels, adding: externalLabels, value: totals.sum, timestamp: totals.timestamp)
                w.sample(family.name, suffix: "_count", labels, adding: externalLabels, value: totals.count, timestamp: totals.timestamp)
            }
        }
    }
}
