public import TimeSeries

/// Builds a store holding input series, the way promtool loads `input_series`: value *i* at
/// `start + i × interval`.
///
/// The store's slot width is the interval (so every sample has its own slot and reads are exactly
/// Prometheus's), its retention covers the whole input, and its clock stands at the last sample.
/// Where rules will write too (gate tests), `resolution` (a divisor of the interval and of the
/// evaluation step) gives their samples slots of their own and `through` extends the store to the
/// last evaluation.
public enum TestStore {
    /// A store with `series` loaded; throws when the input cannot be held (too many slots) or a
    /// sample is refused.
    public static func make(_ series: [InputSeries], interval: Milliseconds, start: Timestamp = 0, sketchAccuracy: Double = 0.01,
                            resolution: Milliseconds? = nil, through last: Timestamp? = nil) throws(QueryError) -> SeriesStore {
        guard interval > 0 else { throw QueryError(kind: .parse, message: "the interval must be positive") }
        let slotWidth = max(resolution ?? interval, 1)
        let steps = Int64(series.map(\.values.count).max() ?? 1)
        let end = max(start + (steps - 1) * interval, last ?? Int64.min)
        let slots = max((end - start) / slotWidth + 3, 2)
        guard slots <= 1_000_000 else {
            throw QueryError(kind: .limit, message: "input series span \(slots) intervals; at most 1000000 are supported")
        }
        var config = StoreConfig(resolution: slotWidth, retention: slots * slotWidth)
        config.seriesLimit = max(10_000, series.count)
        config.sketchAccuracy = sketchAccuracy
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
