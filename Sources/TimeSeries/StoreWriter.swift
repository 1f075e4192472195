/// Writes into a `SeriesStore` while its lock is held; only valid inside `SeriesStore.write`.
public struct StoreWriter {
    let state: StoreState
    unowned let store: SeriesStore
    /// The clock's time when the batch began.
    public let now: Timestamp
    let futureLimit: Timestamp
    // Copied from the store once per batch, so the per-observation path reads no class property.
    let mapping: SketchMapping
    let maxBuckets: Int

    init(state: StoreState, store: SeriesStore, now: Timestamp) {
        self.state = state
        self.store = store
        self.now = now
        self.futureLimit = now &+ store.config.maxFutureSkew
        self.mapping = store.mapping
        self.maxBuckets = store.config.sketchMaxBuckets
    }

    /// Finds or creates the series of `labels`; nil when the series limit refuses it (counted).
    /// An existing series keeps the kind it was created with.
    public mutating func ref(for labels: Labels, kind: SeriesKind) -> SeriesRef? {
        state.findOrCreate(labels, kind: kind, now: now)
    }

    /// The kind of a live series.
    public func kind(of ref: SeriesRef) -> SeriesKind? { state.lookup(ref)?.kind }

    @inline(never)
    private func refuse(_ result: AppendResult) -> AppendResult {
        switch result {
        case .outOfOrder: state.stats.outOfOrder += 1
        case .duplicate: state.stats.duplicates += 1
        case .tooOld: state.stats.tooOld += 1
        case .tooFarAhead: state.stats.tooFarAhead += 1
        case .wrongKind: state.stats.wrongKind += 1
        case .unknownSeries: state.stats.unknownSeries += 1
        case .invalidValue: state.stats.invalidValues += 1
        case .seriesLimit, .ok: break
        }
        return result
    }

    /// Appends an absolute sample to a gauge or counter; `Double.staleMarker` marks the series stale.
    ///
    /// As in Prometheus, a sample older than the series' newest is refused (`outOfOrder`), and one
    /// at the same time is accepted only with the same value.
    public mutating func append(_ ref: SeriesRef, value: Double, at t: Timestamp) -> AppendResult {
        let result = state.withSeries(ref) { s -> AppendResult in
            guard s.kind != .distribution else { return .wrongKind }
            guard t <= futureLimit else { return .tooFarAhead }
            if t < s.lastTimestamp { return .outOfOrder }
            if t == s.lastTimestamp {
                return value.bitPattern == s.lastValue.bitPattern ? .ok : .duplicate
            }
            write(s, value: value, at: t)
            return .ok
        } ?? .unknownSeries
        return result == .ok ? .ok : refuse(result)
    }

    /// Adds `delta` (finite, ≥ 0) to a counter's running total at `t` (a log-derived counter).
    ///
    /// Log lines arrive slightly out of order; an increment older than the newest sample is
    /// attributed to the newest sample's time instead of being refused, so no count is lost.
    public mutating func add(_ ref: SeriesRef, delta: Double, at t: Timestamp) -> AppendResult {
        let result = state.withSeries(ref) { s -> AppendResult in
            guard s.kind == .counter else { return .wrongKind }
            guard delta >= 0, delta.isFinite else { return .invalidValue }
            guard t <= futureLimit else { return .tooFarAhead }
            var at = t
            if at < s.lastTimestamp {
                at = s.lastTimestamp
                state.stats.lateIncrements += 1
            }
            let total = (s.lastValue.isNaN ? 0 : s.lastValue) + delta
            write(s, value: total, at: at)
            return .ok
        } ?? .unknownSeries
        return result == .ok ? .ok : refuse(result)
    }

    @inline(__always)
    private func write(_ s: Series, value: Double, at t: Timestamp) {
        var overflow = 0
        let counter = s.kind == .counter
        for ring in s.scalarHandles {
            ring._withUnsafeGuaranteedRef { _ = $0.append(value, at: t, counter: counter, hiddenOverflow: &overflow) }
        }
        if overflow != 0 { state.stats.hiddenResetOverflow += overflow }
        s.lastTimestamp = t
        if !value.isNaN || value.isStaleMarker { s.lastValue = value }
        s.lastWrite = now
        state.stats.samplesAppended += 1
    }

    /// Adds one observation to a distribution; late observations go to their own slot.
    public mutating func observe(_ ref: SeriesRef, value: Double, at t: Timestamp) -> AppendResult {
        let result = state.withSeries(ref) { s -> AppendResult in
            guard s.kind == .distribution else { return .wrongKind }
            guard !value.isNaN else { return .invalidValue }
            guard t <= futureLimit else { return .tooFarAhead }
            // One logarithm for every ring of the series.
            let bucket = SketchBucket(of: value, mapping: mapping)
            var accepted = false
            for ring in s.distributionHandles {
                let (ok, outcome) = ring._withUnsafeGuaranteedRef { $0.observe(value, bucket: bucket, at: t, maxBuckets: maxBuckets) }
                accepted = accepted || ok
                if outcome != .inserted { count(outcome) }
            }
            guard accepted else { return .tooOld }
            if t > s.lastTimestamp { s.lastTimestamp = t }
            s.lastWrite = now
            return .ok
        } ?? .unknownSeries
        guard result == .ok else { return refuse(result) }
        state.stats.samplesAppended += 1
        return .ok
    }

    @inline(never)
    private func count(_ outcome: SketchInsertOutcome) {
        if outcome == .collapsed { state.stats.sketchCollapses += 1 }
        if outcome == .saturated { state.stats.sketchSaturations += 1 }
    }

    /// Looks up (or creates) the series and appends in one call; for tests and low-rate callers.
    public mutating func append(_ labels: Labels, kind: SeriesKind, value: Double, at t: Timestamp) -> AppendResult {
        guard let ref = ref(for: labels, kind: kind) else { return .seriesLimit }
        switch kind {
        case .distribution: return observe(ref, value: value, at: t)
        case .gauge, .counter: return append(ref, value: value, at: t)
        }
    }
}
