import TimeSeries

/// The steps of a range query: `start + k × step` for `k` in `0..<count`.
struct StepGrid {
    var start: Timestamp
    var step: Milliseconds
    var count: Int

    /// The index of step time `t`, or nil when `t` is not one of the steps (a subquery's time).
    func index(of t: Timestamp) -> Int? {
        let (d, overflow) = t.subtractingReportingOverflow(start)
        guard !overflow, d >= 0, d % step == 0, d / step < Int64(count) else { return nil }
        return Int(d / step)
    }
}

/// What an instant selector picks at every step of a range query, read once per series.
///
/// A range query evaluates its expression at each step, and an instant selector looked every
/// series up again at each one: at 1 000 series × 181 steps that lookup (decoding part of a
/// sealed block each time) was half of the query. Prometheus reads each series once with an
/// iterator per series; so does this: before the steps, the selector's series are read in
/// batches, each batch under its own read lock (writers wait for one batch, never for the whole
/// query), each series walked once over `(first step − lookback, last step]`, and the sample of
/// every step kept. The steps then take their vectors from here.
///
/// The series set is the one the selector saw when it was read: when series are created or
/// removed later in the query (the store's series-set identity changes), the next step selects
/// again, reads the new series for the steps left and drops the removed ones, as a step-by-step
/// evaluation would. Samples written into already-read series during the query are not seen (the
/// query reads a snapshot of each series, as Prometheus's does).
struct StepSamples {
    /// A batch of series read together; covers steps `firstStep..<grid.count`.
    struct Block {
        var series: [SelectedSeries]
        var live: [Bool]
        var firstStep: Int
        /// Step-major: the sample of series `i` at step `k` is at `(k - firstStep) × series.count + i`;
        /// `timestamp == .min` marks no sample.
        var samples: [Sample]
    }

    /// The selector's effective time at each step (`@` and `offset` applied).
    var times: [Timestamp]
    var identity: SeriesSetIdentity
    var blocks: [Block] = []
    /// Series selected and not yet read (the batches still to come).
    var pending: [SelectedSeries] = []
    /// Every series read or pending, for finding the new ones after a change of the series set.
    var known: Set<SeriesRef> = []
    /// Samples held by `blocks` (present or not); bounded by the query's `maxSamples`.
    var entries = 0
}

extension Evaluator {
    /// Slots (series × steps) one batch of a selector's series reads under one lock: at the graph
    /// page's 181 steps, 90 series, a fraction of a millisecond.
    static let stepBatchEntries = 16_384

    /// The instant selectors of `expr` that a range query evaluates at its own steps: not those
    /// under a subquery (evaluated at the subquery's steps), in a range selector, or the argument
    /// of `absent` (which looks at the selector's series itself).
    static func stepSelectors(_ expr: Expr, into out: inout [VectorSelector]) {
        switch expr {
        case .vectorSelector(let sel): out.append(sel)
        case .number, .string, .matrixSelector, .subquery: break
        case .parenthesized(let p): stepSelectors(p.expr, into: &out)
        case .unary(let u): stepSelectors(u.expr, into: &out)
        case .binary(let b):
            stepSelectors(b.lhs, into: &out)
            stepSelectors(b.rhs, into: &out)
        case .aggregation(let a):
            if let p = a.param { stepSelectors(p, into: &out) }
            stepSelectors(a.expr, into: &out)
        case .call(let c):
            for arg in c.args {
                if c.function.id == .absent, case .vectorSelector = arg.unparenthesized { continue }
                stepSelectors(arg, into: &out)
            }
        }
    }

    /// Selects the series of each step selector of `expr` (under the current lock); their samples
    /// are read by `readStepBatch`. Selectors whose samples at every step would not fit in
    /// `maxSamples` stay step-by-step.
    mutating func planStepSelectors(_ expr: Expr, grid: StepGrid) {
        self.grid = grid
        var selectors: [VectorSelector] = []
        Evaluator.stepSelectors(expr, into: &selectors)
        var budget = maxSamples
        for sel in selectors where stepSamples[sel.position.lowerBound] == nil {
            let chosen = select(sel)
            let (entries, overflow) = chosen.count.multipliedReportingOverflow(by: grid.count)
            guard !overflow, entries <= budget else { continue }
            budget -= entries
            var times = [Timestamp]()
            times.reserveCapacity(grid.count)
            for k in 0..<grid.count { times.append(effectiveTime(sel.at, offset: sel.offset, Evaluator.clamp(grid.start + Int64(k) * grid.step))) }
            var plan = StepSamples(times: times, identity: reader.seriesSetIdentity)
            plan.pending = chosen
            plan.known = Set(chosen.map(\.ref))
            stepSamples[sel.position.lowerBound] = plan
        }
    }

    /// Whether some step selector still has series to read.
    var hasPendingStepReads: Bool { stepSamples.values.contains { !$0.pending.isEmpty } }

    /// Reads the next batch of pending series (under the current lock).
    mutating func readStepBatch() throws(QueryError) {
        guard let grid, let key = stepSamples.first(where: { !$0.value.pending.isEmpty })?.key else { return }
        var plan = stepSamples.removeValue(forKey: key)!
        let take = Swift.max(1, Swift.min(plan.pending.count, Evaluator.stepBatchEntries / Swift.max(grid.count, 1)))
        let batch = Array(plan.pending.prefix(take))
        plan.pending.removeFirst(take)
        try readBlock(batch, from: 0, into: &plan)
        stepSamples[key] = plan
    }

    /// Reads `series` at steps `first..<grid.count` into a new block of `plan`.
    mutating func readBlock(_ series: [SelectedSeries], from first: Int, into plan: inout StepSamples) throws(QueryError) {
        guard let grid else { return }
        let n = series.count
        let steps = grid.count - first
        var block = StepSamples.Block(series: series, live: Array(repeating: true, count: n), firstStep: first,
                                      samples: Array(repeating: Sample(timestamp: .min, value: 0), count: n * steps))
        let times = plan.times[first...]
        block.samples.withUnsafeMutableBufferPointer { out in
            for (i, s) in series.enumerated() {
                switch s.view {
                case .scalar:
                    reader.latestSamples(of: s.ref, at: times, lookback: lookback) { k, sample in
                        out[(k - first) * n + i] = sample
                    }
                case .distributionCount, .distributionSum:
                    let isCount = s.view.isCount
                    reader.latestCumulative(of: s.ref, at: times, lookback: lookback, buffer: &cumulative) { k, c in
                        out[(k - first) * n + i] = Sample(timestamp: c.timestamp, value: isCount ? c.count : c.sum)
                    }
                case .distribution:
                    block.live[i] = false
                }
            }
        }
        for s in series { if case .distribution = s.view { warn(distributionWarning(s.labels)) } }
        // `planStepSelectors` and `stepSelector` keep this within `maxSamples`.
        plan.entries += n * steps
        plan.blocks.append(block)
    }

    /// The vector of a read step selector at step `k`, or nil when the selector is read step by
    /// step (it did not fit, or its series set grew past what fits).
    mutating func stepSelector(_ sel: VectorSelector, step k: Int) throws(QueryError) -> [Element]? {
        let key = sel.position.lowerBound
        guard var plan = stepSamples[key] else { return nil }
        if plan.identity != reader.seriesSetIdentity {
            // Series were created or removed since the selector was read: select again, read the
            // new ones for the steps left, and stop emitting the removed ones.
            stepSamples.removeValue(forKey: key)
            let chosen = select(sel)
            let selected = Set(chosen.map(\.ref))
            let new = chosen.filter { !plan.known.contains($0.ref) }
            guard plan.entries + new.count * (plan.times.count - k) <= maxSamples else { return nil }
            for b in plan.blocks.indices {
                for i in plan.blocks[b].series.indices where !selected.contains(plan.blocks[b].series[i].ref) {
                    plan.blocks[b].live[i] = false
                }
            }
            if !new.isEmpty { try readBlock(new, from: k, into: &plan) }
            plan.known.formUnion(selected)
            plan.identity = reader.seriesSetIdentity
            stepSamples[key] = plan
        }
        var out: [Element] = []
        out.reserveCapacity(plan.known.count)
        for block in plan.blocks where k >= block.firstStep {
            let n = block.series.count
            let base = (k - block.firstStep) * n
            for i in 0..<n where block.live[i] {
                let sample = block.samples[base + i]
                guard sample.timestamp != .min else { continue }
                if case .scalar = block.series[i].view, sample.value.isStaleMarker { continue }
                out.append(Element(labels: block.series[i].labels, value: sample.value, timestamp: sample.timestamp))
            }
        }
        if out.count > maxSamples { throw limitError() }
        return out
    }
}
