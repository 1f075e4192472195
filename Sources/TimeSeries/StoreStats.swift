/// Counters of what the store did and refused: the self-metrics of the core.
public struct StoreStats: Sendable, Equatable {
    /// Series held now.
    public var series = 0
    /// Series held now, by kind.
    public var gauges = 0, counters = 0, distributions = 0
    /// New series refused by the series limit.
    public var droppedSeriesLimit = 0
    /// Series removed for lack of data.
    public var expiredSeries = 0
    /// Samples written.
    public var samplesAppended = 0
    /// Writes refused, by reason.
    public var outOfOrder = 0, duplicates = 0, tooOld = 0, tooFarAhead = 0, wrongKind = 0, unknownSeries = 0, invalidValues = 0
    /// Sketch inserts or merges that folded the lowest buckets (accuracy of low quantiles lost there).
    public var sketchCollapses = 0
    /// Sketch bucket counts that reached their maximum.
    public var sketchSaturations = 0
    /// In-slot counter reset records dropped past the per-series bound.
    public var hiddenResetOverflow = 0
    /// Late counter increments attributed to the series' newest sample time.
    public var lateIncrements = 0
    public init() {}
}
