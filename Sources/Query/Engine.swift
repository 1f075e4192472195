public import TimeSeries

/// Evaluates expressions against a `SeriesStore`.
///
/// Evaluation takes its time as an argument and never reads a clock, so rules, tests and
/// `agent query` agree on what an expression means at a given instant. An instant evaluation holds
/// the store's lock once, for one consistent view; a range query takes it once per batch of series
/// while it reads its instant selectors (each series once for all steps, see `StepSamples`) and
/// then once per step, so that scrapes, log lines and `/metrics` wait at most one batch or step
/// (never evaluate from inside `SeriesStore.read` or `write`: the lock is not recursive). An instant query over 1 000 series
/// takes well under a millisecond; see `make bench`.
///
/// `interrupt` is asked before each step of a range query and of a subquery: a timeout or a
/// cancellation it returns ends the query there with that error.
///
/// Semantics are Prometheus 3's: instant selectors take the newest sample in `(t − lookback, t]`
/// unless it is a staleness marker; range selectors take `(t − range, t]`; `offset` and `@` shift
/// both. Distribution series (log-derived latencies) answer `quantile_over_time` from merged
/// sketches and `count/sum/avg/min/max_over_time` exactly from slot aggregates, and appear as the
/// counters `<name>_count` and `<name>_sum` everywhere else.
public struct Engine: Sendable {
    /// The store queried.
    public let store: SeriesStore
    /// How far back an instant selector looks for a sample (Prometheus: 5 minutes).
    public let lookback: Milliseconds
    /// Resolution of subqueries that give none (`x[1h:]`); Prometheus uses the evaluation interval.
    public var defaultSubqueryStep: Milliseconds = 60_000
    /// Most samples one query may hold in memory at once; beyond it the query fails (`.limit`).
    public var maxSamples = 5_000_000
    /// Most steps a range query may have.
    public var maxSteps = 11_000
    /// Most subquery steps one query may evaluate in all (nested subqueries multiply).
    public var maxSubquerySteps = 200_000
    /// Asked before every step: returning an error (`.timeout`, `.canceled`) stops the query with it.
    public var interrupt: (@Sendable () -> QueryError?)?

    /// An engine over `store` with the given lookback (default 5 minutes).
    public init(store: SeriesStore, lookback: Milliseconds = 300_000) {
        self.store = store
        self.lookback = lookback
    }

    /// Evaluates `expr` at time `t` (an instant query).
    public func instant(_ expr: Expr, at t: Timestamp) throws(QueryError) -> QueryValue {
        var warnings: [String] = []
        return try instant(expr, at: t, warnings: &warnings)
    }

    /// Evaluates `expr` at time `t`, appending to `warnings` what was skipped and why (e.g. a
    /// distribution series where only counters make sense), as Prometheus's annotations do.
    public func instant(_ expr: Expr, at t: Timestamp, warnings: inout [String]) throws(QueryError) -> QueryValue {
        try instant(expr, at: t, cache: nil, warnings: &warnings)
    }

    /// Evaluates `expr` at time `t`, reusing what its selectors picked at an earlier evaluation
    /// when no series was created or removed since (`cache` must serve this `expr` only).
    public func instant(_ expr: Expr, at t: Timestamp, cache: SelectionCache?, warnings: inout [String]) throws(QueryError) -> QueryValue {
        if let interrupt, let error = interrupt() { throw error }
        let result: Result<(QueryValue, [String]), QueryError> = store.read { reader in
            var evaluator = Evaluator(reader: reader, engine: self, start: t, end: t)
            let identity = reader.seriesSetIdentity
            if let cache { evaluator.selections = cache.selections(for: identity) }
            defer { cache?.keep(evaluator.selections, for: identity) }
            do throws(QueryError) {
                let value = try evaluator.evaluate(expr, at: t)
                return .success((evaluator.publicValue(value, at: t, expr: expr), evaluator.warnings))
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let (value, w)):
            warnings += w
            return value
        case .failure(let error): throw error
        }
    }

    /// Evaluates `expr` at every `step` from `start` through `end` (a range query); the result is
    /// a matrix with one series per label set, sorted by labels.
    public func range(_ expr: Expr, start: Timestamp, end: Timestamp, step: Milliseconds) throws(QueryError) -> QueryValue {
        guard expr.type == .scalar || expr.type == .instantVector else {
            throw QueryError(kind: .type, message: "invalid expression type \"\(expr.type)\" for range query, must be scalar or instant vector")
        }
        guard step > 0 else { throw QueryError(kind: .evaluation, message: "range query step must be positive") }
        guard end >= start else { throw QueryError(kind: .evaluation, message: "range query end is before its start") }
        let (span, overflow) = end.subtractingReportingOverflow(start)
        guard !overflow, span / step <= Int64(maxSteps) else {
            throw QueryError(kind: .limit, message: "range query has more than \(maxSteps) steps — raise the step")
        }
        var evaluator: Evaluator?
        var identity: SeriesSetIdentity?
        // One hold of the store's read lock, with the evaluator reading through it.
        func underLock(_ body: (inout Evaluator) throws(QueryError) -> Void) throws(QueryError) {
            let outcome: Result<Void, QueryError> = store.read { reader in
                if evaluator == nil {
                    evaluator = Evaluator(reader: reader, engine: self, start: start, end: end)
                } else {
                    evaluator!.reader = reader
                    // Series created or removed since the last step: select again.
                    if reader.seriesSetIdentity != identity { evaluator!.selections.removeAll() }
                }
                identity = reader.seriesSetIdentity
                do throws(QueryError) {
                    try body(&evaluator!)
                    return .success(())
                } catch {
                    return .failure(error)
                }
            }
            try outcome.get()
        }
        // First the instant selectors evaluated at the steps: each series read once for all steps,
        // in batches of series, each batch under its own lock (see `StepSamples`).
        let grid = StepGrid(start: start, step: step, count: Int(span / step) + 1)
        try underLock { e throws(QueryError) in
            e.planStepSelectors(expr, grid: grid)
            try e.readStepBatch()
        }
        while evaluator!.hasPendingStepReads {
            if let interrupt, let error = interrupt() { throw error }
            try underLock { e throws(QueryError) in try e.readStepBatch() }
        }
        var result = RangeResult()
        var t = start
        while t <= end {
            if let interrupt, let error = interrupt() { throw error }
            try underLock { e throws(QueryError) in
                let value = try e.evaluate(expr, at: t)
                try e.accumulate(value, at: t, into: &result)
            }
            let (next, overflow) = t.addingReportingOverflow(step)
            if overflow { break }
            t = next
        }
        return result.matrix()
    }
}
