import Ingest
import TimeSeries

/// Every stored series as a Prometheus text page (`listen.expose: all`, and `/federate` with a
/// filter), so that a central Prometheus or VictoriaMetrics scrapes a fleet of agents like any
/// other target.
///
/// The model, close to what Prometheus's `/federate` serves:
/// - A series is on the page while its newest sample is at most `lookback` (5 min, Prometheus's
///   lookback delta) old and is not a stale marker; older ones are what a query would not see either.
/// - Gauges and counters: their newest sample, stamped with its own timestamp.
/// - Scraped histograms and summaries (known from the scraped `# TYPE` lines, `metadata`) are one
///   family again, as their target wrote them: `# TYPE h histogram`, then per label set the
///   `h_bucket{le}` series in `le` order, `h_sum`, `h_count` (summaries: the `quantile` series,
///   `_sum`, `_count`), each with its newest sample. Families the targets described carry their
///   original HELP text; the others say where their samples come from.
/// - Distributions (log-derived, sketches): a Prometheus summary. `{quantile="0.5"|"0.9"|"0.95"|"0.99"}`
///   over the last `window` (5 min) as of the scrape, without a timestamp (they change as the
///   window slides); `_count` and `_sum` are totals since the series began, stamped with the newest
///   observation.
/// - External labels are added to each series that does not carry that label itself.
/// - A metric name is written as one family (`# HELP`, `# TYPE`, then its series), families in name
///   order. Series that cannot be written without breaking the page are skipped and counted: a
///   series whose kind differs from the rest of its family's, a distribution whose `_count` or
///   `_sum` name is taken by another family, and a histogram bucket without a numeric `le` (a
///   summary quantile without a numeric `quantile`).
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
    /// What the scraped pages said about their families, by family name (see `familyMetadata`).
    var metadata: [String: MetricMetadata] = [:]
    /// A label written empty on series that lack it (`/federate`'s `instance=""`).
    var blank: StaticString? = nil

    /// How a family is written.
    enum Shape: Equatable {
        case gauge, counter, untyped
        /// A stored distribution: a summary from its sketch.
        case distribution
        /// A scraped histogram: `_bucket`, `_sum` and `_count` series.
        case histogram
        /// A scraped summary: `quantile` series, `_sum` and `_count`.
        case summary

        var typeName: String {
            switch self {
            case .gauge: "gauge"
            case .counter: "counter"
            case .untyped: "untyped"
            case .distribution, .summary: "summary"
            case .histogram: "histogram"
            }
        }
    }

    /// The series of one family, with how it is written and its target's HELP text.
    struct Family {
        var name: String
        var shape: Shape
        var help: String?
        var series: [SeriesRef]

        /// The store kind of a plain family (nil for histograms and summaries, which join several).
        var kind: SeriesKind? {
            switch shape {
            case .gauge, .untyped: .gauge
            case .counter: .counter
            case .distribution: .distribution
            case .histogram, .summary: nil
            }
        }
    }

    /// The stored series grouped into families, in name order; `excluding` says which series the
    /// page already shows otherwise (the agent's own metrics, rendered live), and `including`, when
    /// given, which series the page shows at all (`/federate`'s `match[]`). Returns the families
    /// and the number of series left out because they would break the page.
    func families(excluding: (String, Labels) -> Bool, including: ((Labels, SeriesKind) -> Bool)? = nil) -> (families: [Family], skipped: Int) {
        var byName: [String: [(SeriesRef, SeriesKind)]] = [:]
        store.read { reader in
            for ref in reader.allSeries() {
                guard let labels = reader.labels(of: ref), let kind = reader.kind(of: ref) else { continue }
                let name = labels.metricName ?? ""
                guard !name.isEmpty, !excluding(name, labels) else { continue }
                if let including, !including(labels, kind) { continue }
                byName[name, default: []].append((ref, kind))
            }
        }
        var skipped = 0
        var families: [Family] = []
        families.reserveCapacity(byName.count)

        // Scraped histograms and summaries first: their member names join one family.
        for (family, meta) in metadata where meta.type == .histogram || meta.type == .summary {
            let parts = meta.type == .histogram ? ["_bucket", "_sum", "_count"] : ["", "_sum", "_count"]
            // A histogram's own name must be free; a summary's holds its quantiles.
            if meta.type == .histogram, byName[family] != nil { continue }
            var members: [SeriesRef] = []
            var found = false
            for part in parts {
                guard let series = byName[family + part] else { continue }
                found = true
                for (ref, kind) in series {
                    if kind == .distribution { skipped += 1 } else { members.append(ref) }
                }
            }
            guard found else { continue }
            for part in parts { byName[family + part] = nil }
            families.append(Family(name: family, shape: meta.type == .histogram ? .histogram : .summary, help: meta.help, series: members.sorted()))
        }

        for (name, members) in byName {
            // A name holding several kinds (possible: kind is per series) is written as its most
            // common kind; a page cannot declare two types for one name.
            var counts = [0, 0, 0]
            for (_, kind) in members { counts[Int(kind.rawValue)] += 1 }
            let kind = SeriesKind(rawValue: UInt8(counts.indices.max { counts[$0] < counts[$1] }!))!
            if kind == .distribution, byName[name + "_count"] != nil || byName[name + "_sum"] != nil
                || families.contains(where: { $0.name == name + "_count" || $0.name == name + "_sum" }) {
                skipped += members.count
                continue
            }
            var refs = members.compactMap { $0.1 == kind ? $0.0 : nil }
            skipped += members.count - refs.count
            refs.sort()
            var shape: Shape = kind == .counter ? .counter : kind == .gauge ? .gauge : .distribution
            let meta = Self.metadata(of: name, in: metadata)
            if shape == .gauge, meta?.type == .unknown { shape = .untyped }
            let help = meta.flatMap { $0.help.isEmpty ? nil : $0.help }
            families.append(Family(name: name, shape: shape, help: shape == .distribution ? nil : help, series: refs))
        }
        families.sort { $0.name < $1.name }
        return (families, skipped)
    }

    /// The metadata that describes series named `name`: its own family's, or for `x_total` and
    /// `x_info` an OpenMetrics family `x` of type counter or info.
    static func metadata(of name: String, in metadata: [String: MetricMetadata]) -> MetricMetadata? {
        if let own = metadata[name] { return own }
        if name.hasSuffix("_total"), let m = metadata[String(name.dropLast(6))], m.type == .counter { return m }
        if name.hasSuffix("_info"), let m = metadata[String(name.dropLast(5))], m.type == .info { return m }
        return nil
    }

    /// Writes `families` at time `now`: each family's header (unless `headerWritten` says a family of
    /// that name is already open, e.g. an agent metric of the same name) and its series. Returns the
    /// series left out because they would break the page.
    @discardableResult
    func write(_ families: [Family], now: Timestamp, into w: inout ExpositionWriter, headerWritten: (String) -> Bool = { _ in false }) -> Int {
        var cumulative: [CumulativeSample] = []
        var skipped = 0
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
                    let header = !headerWritten(family.name)
                    switch family.shape {
                    case .histogram, .summary:
                        skipped += writeScraped(family, reader: reader, now: now, header: header, into: &w)
                    default:
                        write(family, reader: reader, now: now, header: header, cumulative: &cumulative, into: &w)
                    }
                }
            }
            start = end
        }
        return skipped
    }

    private func header(_ family: Family, into w: inout ExpositionWriter) {
        let help = family.help ?? {
            switch family.shape {
            case .gauge, .untyped, .histogram, .summary: "Stored by the agent: the newest sample."
            case .counter: "Stored by the agent: the newest total."
            case .distribution: "Stored by the agent: quantiles over the last 5m, count and sum since the series began."
            }
        }()
        w.family(family.name, type: family.shape.typeName, help: help)
    }

    private func write(_ family: Family, reader: StoreReader, now: Timestamp, header: Bool, cumulative: inout [CumulativeSample],
                       into w: inout ExpositionWriter) {
        var headerDone = !header
        for ref in family.series {
            guard let labels = reader.labels(of: ref), let latest = reader.latest(of: ref),
                  now - latest.timestamp <= Self.lookback, !latest.value.isStaleMarker else { continue }
            if !headerDone {
                self.header(family, into: &w)
                headerDone = true
            }
            guard family.shape == .distribution else {
                w.sample(family.name, labels, adding: externalLabels, blank: blank, value: latest.value, timestamp: latest.timestamp)
                continue
            }
            if let summary = reader.summary(of: ref, from: now - Self.window, through: now) {
                for (label, q) in Self.quantiles {
                    w.sample(family.name, labels, adding: externalLabels, blank: blank, label: ("quantile", label),
                             value: summary.count > 0 ? summary.quantile(q) : .nan, timestamp: nil)
                }
            }
            cumulative.removeAll(keepingCapacity: true)
            reader.cumulative(of: ref, from: now - Self.lookback, through: .max, into: &cumulative)
            if let totals = cumulative.last {
                w.sample(family.name, suffix: "_sum", labels, adding: externalLabels, blank: blank, value: totals.sum, timestamp: totals.timestamp)
                w.sample(family.name, suffix: "_count", labels, adding: externalLabels, blank: blank, value: totals.count, timestamp: totals.timestamp)
            }
        }
    }

    /// One line of a scraped histogram or summary, before sorting.
    private struct Member {
        /// The series' labels without `__name__` and `le`/`quantile`: which histogram it belongs to.
        var group: [UInt8]
        /// 0: a bucket or quantile, 1: `_sum`, 2: `_count`.
        var part: Int
        /// The bucket's `le` or the quantile's `quantile`.
        var bound: Double
        var labels: Labels
        var value: Double
        var timestamp: Timestamp
    }

    /// A scraped histogram or summary: per label set, buckets by `le` (quantiles by `quantile`),
    /// then `_sum` and `_count`. Returns the series skipped (a bucket without a numeric `le`).
    private func writeScraped(_ family: Family, reader: StoreReader, now: Timestamp, header: Bool, into w: inout ExpositionWriter) -> Int {
        let histogram = family.shape == .histogram
        let boundLabel = histogram ? "le" : "quantile"
        let firstPart = histogram ? family.name + "_bucket" : family.name
        let sumName = family.name + "_sum", countName = family.name + "_count"
        var members: [Member] = []
        members.reserveCapacity(family.series.count)
        var skipped = 0
        for ref in family.series {
            guard let labels = reader.labels(of: ref), let latest = reader.latest(of: ref),
                  now - latest.timestamp <= Self.lookback, !latest.value.isStaleMarker else { continue }
            let name = labels.metricName ?? ""
            let part = name == sumName ? 1 : name == countName ? 2 : name == firstPart ? 0 : -1
            var bound = 0.0
            if part == 0 {
                guard let text = labels[boundLabel], let b = Self.parseBound(text) else {
                    skipped += 1
                    continue
                }
                bound = b
            } else if part < 0 {
                continue
            }
            let group = labels.removing([Labels.metricName, boundLabel]).encoded
            members.append(Member(group: group, part: part, bound: bound, labels: labels, value: latest.value, timestamp: latest.timestamp))
        }
        guard !members.isEmpty else { return skipped }
        members.sort { a, b in
            if a.group != b.group { return a.group.lexicographicallyPrecedes(b.group) }
            if a.part != b.part { return a.part < b.part }
            return a.bound < b.bound
        }
        if header { self.header(family, into: &w) }
        for m in members {
            switch m.part {
            case 0:
                if histogram {
                    w.sample(family.name, suffix: "_bucket", m.labels, adding: externalLabels, blank: blank, value: m.value, timestamp: m.timestamp)
                } else {
                    w.sample(family.name, m.labels, adding: externalLabels, blank: blank, value: m.value, timestamp: m.timestamp)
                }
            case 1: w.sample(family.name, suffix: "_sum", m.labels, adding: externalLabels, blank: blank, value: m.value, timestamp: m.timestamp)
            default: w.sample(family.name, suffix: "_count", m.labels, adding: externalLabels, blank: blank, value: m.value, timestamp: m.timestamp)
            }
        }
        return skipped
    }

    /// A bucket bound or quantile as the exposition formats write them (`0.5`, `+Inf`).
    static func parseBound(_ text: String) -> Double? {
        switch text {
        case "+Inf", "Inf", "+inf", "inf": return .infinity
        case "-Inf", "-inf": return -.infinity
        default:
            guard let v = Double(text), !v.isNaN else { return nil }
            return v
        }
    }
}
