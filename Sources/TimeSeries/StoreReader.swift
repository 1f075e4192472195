/// Reads a `SeriesStore` while its lock is held; only valid inside `SeriesStore.read`.
///
/// Reads hand out what the query engine needs (samples of a window, merged sketches) without
/// copying whole rings. Each read chooses the finest ring whose span reaches back to `from`.
public struct StoreReader {
    let state: StoreState
    unowned let store: SeriesStore

    /// Every live series.
    public func allSeries() -> [SeriesRef] {
        var out: [SeriesRef] = []
        out.reserveCapacity(state.byLabels.count)
        for (i, s) in state.series.enumerated() where s != nil { out.append(state.ref(of: UInt32(i))) }
        return out
    }

    /// The series whose metric name is `metricName`.
    public func series(named metricName: String) -> [SeriesRef] {
        (state.byName[metricName] ?? []).map { state.ref(of: $0) }
    }

    /// The series (of any name) whose label `name` has exactly `value`; empty `value` is not indexed.
    public func series(withLabel name: String, equalTo value: String) -> [SeriesRef] {
        (state.postings[name]?[value] ?? []).map { state.ref(of: $0) }
    }

    /// How many series `series(withLabel:equalTo:)` would return, without building the list.
    public func seriesCount(withLabel name: String, equalTo value: String) -> Int {
        state.postings[name]?[value]?.count ?? 0
    }

    /// How many series `series(named:)` would return.
    public func seriesCount(named metricName: String) -> Int { state.byName[metricName]?.count ?? 0 }

    /// Every value label `name` has across the store (for regex matchers over a small value set).
    public func values(ofLabel name: String) -> [String] { state.postings[name].map { Array($0.keys) } ?? [] }

    /// The series of exactly this label set.
    public func ref(for labels: Labels) -> SeriesRef? { state.byLabels[labels].map { state.ref(of: $0) } }

    /// Number of live series.
    public var seriesCount: Int { state.byLabels.count }

    /// Identifies this store's current set of series: equal values mean no series was created or
    /// removed in between (a selector picks the same series), whatever samples were written.
    public var seriesSetIdentity: SeriesSetIdentity { SeriesSetIdentity(store: ObjectIdentifier(state), version: state.seriesSetVersion) }

    /// The label set of a live series.
    public func labels(of ref: SeriesRef) -> Labels? { state.lookup(ref)?.labels }

    /// The kind of a live series.
    public func kind(of ref: SeriesRef) -> SeriesKind? { state.lookup(ref)?.kind }

    /// The newest sample of a gauge or counter (a counter's current total); for a distribution,
    /// the newest observation time and the count of all observations.
    public func latest(of ref: SeriesRef) -> (timestamp: Timestamp, value: Double)? {
        guard let s = state.lookup(ref), s.lastTimestamp != .min else { return nil }
        if s.kind == .distribution { return (s.lastTimestamp, Double(s.distribution[0].totals.count)) }
        return (s.lastTimestamp, s.lastValue)
    }

    /// Appends the samples of a gauge or counter with `from < t <= through`, one per slot, oldest first.
    /// Exactly Prometheus's samples when each slot holds at most one; stale markers included.
    public func samples(of ref: SeriesRef, from: Timestamp, through: Timestamp, into out: inout [Sample]) {
        guard let s = state.lookup(ref), s.kind != .distribution else { return }
        s.scalar[s.ringIndex(coveringFrom: from)].samples(from: from, through: through, into: &out)
    }

    /// The newest sample with `at - lookback < t <= at` (an instant selector's sample).
    public func latestSample(of ref: SeriesRef, at: Timestamp, lookback: Milliseconds) -> Sample? {
        guard let s = state.lookup(ref), s.kind != .distribution else { return nil }
        return s.scalar[s.ringIndex(coveringFrom: at - lookback)].latest(atOrBefore: at, after: at - lookback)
    }

    /// `latestSample(of: ref, at: times[k], lookback: lookback)` for every `k` of `times`
    /// (non-decreasing, as a range query's steps), reading each ring the steps choose once: `body`
    /// gets `(k, sample)`, in order of `k`, for each `k` that has a sample.
    public func latestSamples(of ref: SeriesRef, at times: ArraySlice<Timestamp>, lookback: Milliseconds, _ body: (Int, Sample) -> Void) {
        guard let s = state.lookup(ref), s.kind != .distribution else { return }
        forEachRingRun(of: s, times: times, lookback: lookback) { ring, run in
            s.scalar[ring].latest(at: run, lookback: lookback, body)
        }
    }

    /// What `cumulative(of:from: times[k] - lookback, through: times[k], into:)` ends with, for
    /// every `k` of `times` (non-decreasing), reading each ring once: `body` gets `(k, sample)`, in
    /// order of `k`, for each `k` that has one. `buffer` is scratch space.
    public func latestCumulative(of ref: SeriesRef, at times: ArraySlice<Timestamp>, lookback: Milliseconds,
                                 buffer: inout [CumulativeSample], _ body: (Int, CumulativeSample) -> Void) {
        guard let s = state.lookup(ref), s.kind == .distribution else { return }
        forEachRingRun(of: s, times: times, lookback: lookback) { ring, run in
            buffer.removeAll(keepingCapacity: true)
            s.distribution[ring].cumulative(from: run.first! - lookback, through: run.last!, into: &buffer)
            // Cumulative samples come oldest first: a cursor finds each step's newest.
            var i = 0
            for k in run.indices {
                while i < buffer.count && buffer[i].timestamp <= run[k] { i += 1 }
                if i > 0 && buffer[i - 1].timestamp > run[k] - lookback { body(k, buffer[i - 1]) }
            }
        }
    }

    /// Splits `times` into runs whose lookback windows the same ring answers (the ring a single
    /// lookup at that time would choose), newest ring last.
    private func forEachRingRun(of s: Series, times: ArraySlice<Timestamp>, lookback: Milliseconds,
                                _ body: (Int, ArraySlice<Timestamp>) -> Void) {
        var i = times.startIndex
        while i < times.endIndex {
            let ring = s.ringIndex(coveringFrom: times[i] - lookback)
            var j = i + 1
            while j < times.endIndex && s.ringIndex(coveringFrom: times[j] - lookback) == ring { j += 1 }
            body(ring, times[i..<j])
            i = j
        }
    }

    /// Counter increase hidden inside slots by resets between samples that shared a slot; add it to
    /// the increase computed from `samples(of:from:through:into:)`. Zero when slots hold one sample.
    public func hiddenResetIncrease(of ref: SeriesRef, from: Timestamp, through: Timestamp) -> Double {
        guard let s = state.lookup(ref), s.kind == .counter else { return 0 }
        return s.scalar[s.ringIndex(coveringFrom: from)].hiddenIncrease(from: from, through: through)
    }

    /// The merged distribution of the slots overlapping `(from, through]` (whole slots: the window
    /// widens by at most one partial slot at each end). Nil for a series that is not a distribution.
    public func summary(of ref: SeriesRef, from: Timestamp, through: Timestamp) -> DistributionSummary? {
        summary(of: ref, from: from, through: through, ring: nil)
    }

    /// `summary` from a chosen ring (0 = fine, 1… = tiers); nil chooses as `summary` does.
    func summary(of ref: SeriesRef, from: Timestamp, through: Timestamp, ring: Int?) -> DistributionSummary? {
        guard let s = state.lookup(ref), s.kind == .distribution else { return nil }
        let (sketch, collapses) = s.distribution[ring ?? s.ringIndex(coveringFrom: from)]
            .summary(from: from, through: through, maxBuckets: store.config.sketchMaxBuckets)
        if collapses > 0 { state.stats.sketchCollapses += collapses }
        return DistributionSummary(sketch: sketch, mapping: store.mapping)
    }

    /// A distribution read as the cumulative counters `_count` and `_sum`: one sample per slot,
    /// at the slot's newest observation, for `from < t <= through`.
    public func cumulative(of ref: SeriesRef, from: Timestamp, through: Timestamp, into out: inout [CumulativeSample]) {
        guard let s = state.lookup(ref), s.kind == .distribution else { return }
        s.distribution[s.ringIndex(coveringFrom: from)].cumulative(from: from, through: through, into: &out)
    }
}

/// A distribution over a window: exact count, sum, min and max, and quantiles within the sketch's α.
public struct DistributionSummary: Sendable {
    /// The merged sketch.
    public var sketch: Sketch
    /// The mapping its buckets use.
    public let mapping: SketchMapping

    public init(sketch: Sketch, mapping: SketchMapping) {
        self.sketch = sketch
        self.mapping = mapping
    }

    public var count: UInt64 { sketch.count }
    public var sum: Double { sketch.sum }
    /// Smallest observation; NaN when empty.
    public var min: Double { sketch.isEmpty ? .nan : sketch.min }
    /// Largest observation; NaN when empty.
    public var max: Double { sketch.isEmpty ? .nan : sketch.max }
    /// Mean; NaN when empty.
    public var mean: Double { sketch.mean }
    /// The value at quantile `q`, within the relative accuracy α of the exact one.
    public func quantile(_ q: Double) -> Double { sketch.quantile(q, mapping: mapping) }
}

/// A store's set of series at one moment (see `StoreReader.seriesSetIdentity`).
public struct SeriesSetIdentity: Hashable, Sendable {
    let store: ObjectIdentifier
    let version: UInt64
}
