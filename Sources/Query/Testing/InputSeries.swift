public import TimeSeries

/// A series to load into a test store: its labels, its kind and its values (one per interval).
public struct InputSeries: Sendable {
    public var labels: Labels
    public var kind: SeriesKind
    public var values: [SeriesValue]

    /// A series from its label set and values; a distribution takes each value as one observation.
    public init(labels: Labels, kind: SeriesKind, values: [SeriesValue]) {
        self.labels = labels
        self.kind = kind
        self.values = values
    }

    /// A series from promtool's notation (`series: 'up{job="api"}'`, `values: '1+1x10'`). Without
    /// a kind, names ending in `_total`, `_count`, `_sum` or `_bucket` load as counters, others as gauges.
    public init(series: String, values: String, kind: SeriesKind? = nil) throws(QueryError) {
        labels = try SeriesNotation.parseSeries(series)
        self.values = try SeriesNotation.parseValues(values)
        self.kind = kind ?? InputSeries.inferredKind(labels.metricName ?? "")
    }

    static func inferredKind(_ name: String) -> SeriesKind {
        for suffix in ["_total", "_count", "_sum", "_bucket"] where name.hasSuffix(suffix) { return .counter }
        return .gauge
    }
}

/// Builds a store holding input series, the way promtool loads `input_series`: value *i* at
/// `start + i × interval`.
///
/// The store's slot width is the interval (so every sample has its own slot and reads are exactly
/// Prometheus's), its retention covers the whole input, and its clock stands at the last sample.
public enum TestStore {
    /// A store with `series` loaded; throws when the input cannot be held (too many slots) or a
    /// sample is refused.
    public static func make(_ series: [InputSeries], interval: Milliseconds, start: Timestamp = 0, sketchAccuracy: Double = 0.01) throws(QueryError) -> SeriesStore {
        guard interval > 0 else { throw QueryError(kind: .parse, message: "the interval must be positive") }
        let steps = Int64(series.map(\.values.count).max() ?? 1)
        let slots = max(steps + 2, 2)
        guard slots <= 1_000_000 else {
            throw QueryError(kind: .limit, message: "input series span \(slots) intervals; at most 1000000 are supported")
        }
        var config = StoreConfig(resolution: interval, retention: slots * interval)
        config.seriesLimit = max(10_000, series.count)
        config.sketchAccuracy = sketchAccuracy
        let end = start + (steps - 1) * interval
        let store = SeriesStore(config: config, clock: { end })
        var problem: String? = nil
        store.write { writer in
            for s in series {
                guard let ref = writer.ref(for: s.labels, kind: s.kind) else {
                    problem = "series \(s.labels) was refused by the series limit"
                    return
                }
                for (i, v) in s.values.enumerated() {
                    let t = start + Int64(i) * interval
                    let result: AppendResult
                    switch (v, s.kind) {
                    case (.missing, _): continue
                    case (.stale, .distribution): continue
                    case (.value(let x), .distribution): result = writer.observe(ref, value: x, at: t)
                    case (.value(let x), _): result = writer.append(ref, value: x, at: t)
                    case (.stale, _): result = writer.append(ref, value: .staleMarker, at: t)
                    }
                    if result != .ok, problem == nil { problem = "sample \(i) of \(s.labels) was refused: \(result)" }
                }
            }
        }
        if let problem { throw QueryError(kind: .evaluation, message: problem) }
        return store
    }
}
