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
