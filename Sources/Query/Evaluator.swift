import TimeSeries

/// A value during evaluation.
enum Value {
    case scalar(Double)
    case string(String)
    case vector([Element])
    case matrix([SeriesSamples])
}

/// An instant-vector element; `timestamp` is the sample's own time for selector results (what
/// `timestamp()` reports) and the evaluation time otherwise.
struct Element {
    var labels: Labels
    var value: Double
    var timestamp: Timestamp
}

/// How a selected series is read.
enum SeriesView {
    /// A gauge or counter, read as samples.
    case scalar(counter: Bool)
    /// A distribution, read as merged sketches (only `*_over_time` functions can use it).
    case distribution
    /// A distribution read as its cumulative `_count` counter.
    case distributionCount
    /// A distribution read as its cumulative `_sum` counter.
    case distributionSum
}

/// A series chosen by a selector: its reference, its labels as the query sees them (with
/// `_count`/`_sum` names for distribution views) and how to read it.
struct SelectedSeries {
    var ref: SeriesRef
    var labels: Labels
    var view: SeriesView
}

/// Evaluates one query inside one read of the store; holds scratch buffers reused across series.
///
/// Instant evaluation walks the tree once per evaluation time. Range queries and subqueries
/// evaluate their expression at each step and gather the results into series; selections are
/// cached per selector (keyed by its position in the text), so the index is consulted once per query.
struct Evaluator {
    /// The store as this step sees it: a range query replaces it at every step, each under its own
    /// read lock (see `Engine.range`).
    var reader: StoreReader
    let lookback: Milliseconds
    let defaultSubqueryStep: Milliseconds
    let maxSamples: Int
    let maxSteps: Int
    /// Start and end of the query, for `@ start()` and `@ end()`.
    let queryStart: Timestamp
    let queryEnd: Timestamp
    var warnings: [String] = []
    var warned: Set<String> = []
    var samples: [Sample] = []
    var cumulative: [CumulativeSample] = []
    var selections: [Int: [SelectedSeries]] = [:]
    /// Subquery steps left for this query: nested subqueries multiply, so they share one budget.
    var subquerySteps: Int
    /// Asked before every step of a subquery: an error (timeout, cancellation) stops the query there.
    let interrupt: (@Sendable () -> QueryError?)?
    /// A range query's steps, once `planStepSelectors` has read its instant selectors at each.
    var grid: StepGrid?
    /// Instant selectors read once for every step of a range query, by selector position.
    var stepSamples: [Int: StepSamples] = [:]

    init(reader: StoreReader, engine: Engine, start: Timestamp, end: Timestamp) {
        self.reader = reader
        lookback = Evaluator.clamp(Swift.max(engine.lookback, 1))
        defaultSubqueryStep = Evaluator.clamp(Swift.max(engine.defaultSubqueryStep, 1))
        maxSamples = engine.maxSamples
        maxSteps = engine.maxSteps
        subquerySteps = engine.maxSubquerySteps
        interrupt = engine.interrupt
        queryStart = Evaluator.clamp(start)
        queryEnd = Evaluator.clamp(end)
        samples.reserveCapacity(512)
    }

    mutating func warn(_ message: String) {
        if warned.insert(message).inserted { warnings.append(message) }
    }

    // MARK: Entry points

    mutating func evaluate(_ expr: Expr, at t: Timestamp) throws(QueryError) -> Value {
        try eval(expr, at: t)
    }

    /// Converts the internal value for the caller: vectors sorted by labels unless the expression
    /// orders them itself (`sort`, `sort_desc`, `topk`, `bottomk`).
    func publicValue(_ value: Value, at t: Timestamp, expr: Expr) -> QueryValue {
        switch value {
        case .scalar(let v): return .scalar(v, at: t)
        case .string(let s): return .string(s, at: t)
        case .vector(let elements):
            var out = elements.map { VectorSample(labels: $0.labels, value: $0.value) }
            if !Evaluator.keepsOrder(expr) {
                out.sort { $0.labels.encoded.lexicographicallyPrecedes($1.labels.encoded) }
            }
            return .vector(out, at: t)
        case .matrix(let series):
            return .matrix(series.sorted { $0.labels.encoded.lexicographicallyPrecedes($1.labels.encoded) })
        }
    }

    static func keepsOrder(_ expr: Expr) -> Bool {
        switch expr.unparenthesized {
        case .call(let c): return c.function.id == .sort || c.function.id == .sortDesc
        case .aggregation(let a): return a.op == .topk || a.op == .bottomk
        default: return false
        }
    }

    /// Adds the value of one step of a range query at `t` to `result`; throws past `maxSamples`.
    func accumulate(_ value: Value, at t: Timestamp, into result: inout RangeResult) throws(QueryError) {
        switch value {
        case .scalar(let v):
            result.append(Labels(), Sample(timestamp: t, value: v))
        case .vector(let elements):
            for e in elements { result.append(e.labels, Sample(timestamp: t, value: e.value)) }
        default:
            throw QueryError(kind: .type, message: "range query needs a scalar or instant vector expression")
        }
        if result.total > maxSamples { throw limitError() }
    }

    var maxSubqueryStepsMessage: String { "\(subquerySteps)" }

    func limitError() -> QueryError {
        QueryError(kind: .limit, message: "query processing would load too many samples into memory (limit \(maxSamples))")
    }

    // MARK: Dispatch

    mutating func eval(_ expr: Expr, at time: Timestamp) throws(QueryError) -> Value {
        let t = Evaluator.clamp(time)
        switch expr {
        case .number(let n): return .scalar(n.value)
        case .string(let s): return .string(s.value)
        case .parenthesized(let p): return try eval(p.expr, at: t)
        case .unary(let u):
            let v = try eval(u.expr, at: t)
            guard u.negate else { return v }
            switch v {
            case .scalar(let x): return .scalar(-x)
            case .vector(var elements):
                for i in elements.indices {
                    elements[i].value = -elements[i].value
                    elements[i].labels = elements[i].labels.droppingMetricName
                    elements[i].timestamp = t
                }
                try checkUnique(elements, expr.position)
                return .vector(elements)
            default: return v
            }
        case .vectorSelector(let sel):
            return .vector(try instantSelector(sel, at: t))
        case .matrixSelector(let m):
            return .matrix(try matrixSelector(m, at: t))
        case .subquery(let s):
            return .matrix(try subquery(s, at: t))
        case .call(let c):
            return try call(c, at: t)
        case .aggregation(let a):
            return .vector(try aggregate(a, at: t))
        case .binary(let b):
            return try binary(b, at: t)
        }
    }

    /// Prometheus refuses a vector with two elements of one label set (e.g. after a function
    /// dropped the names that told them apart).
    func checkUnique(_ elements: [Element], _ position: Range<Int>) throws(QueryError) {
        guard elements.count > 1 else { return }
        var seen = Set<Labels>(minimumCapacity: elements.count)
        for e in elements where !seen.insert(e.labels).inserted {
            throw QueryError(kind: .evaluation, message: "vector cannot contain metrics with the same labelset: \(e.labels)", range: position, line: 0, column: 0)
        }
    }

    // MARK: Time

    /// Times, ranges and offsets are held within ±2^60 ms (36 million years), so that sums and
    /// differences of a few of them cannot overflow, whatever `@`, `offset` and ranges say.
    static let timeLimit: Int64 = 1 << 60

    static func clamp(_ t: Int64) -> Int64 { Swift.min(Swift.max(t, -timeLimit), timeLimit) }

    func effectiveTime(_ at: AtModifier?, offset: Int64, _ t: Timestamp) -> Timestamp {
        var base = t
        switch at {
        case .timestamp(let fixed): base = fixed
        case .start: base = queryStart
        case .end: base = queryEnd
        case nil: break
        }
        return Evaluator.clamp(Evaluator.clamp(base) - Evaluator.clamp(offset))
    }

    // MARK: Selection

    /// The series a selector picks, cached for the query.
    mutating func select(_ sel: VectorSelector) -> [SelectedSeries] {
        if let cached = selections[sel.position.lowerBound] { return cached }
        var out: [SelectedSeries] = []
        let nameMatcher = sel.matchers.first { $0.name == Labels.metricName && $0.op == .equal }
        if let name = nameMatcher?.value {
            // The name index already satisfied the name matcher; check only the others.
            var others = sel.matchers
            if let used = others.firstIndex(where: { $0.name == Labels.metricName && $0.op == .equal }) { others.remove(at: used) }
            // Start from the smallest candidate list: the name's, or an equality matcher's postings
            // (those hold series of every name, so then the name is checked like the rest).
            var refs = reader.series(named: name)
            var best = refs.count
            var byPostings: LabelMatcher?
            for m in others where m.op == .equal && !m.value.isEmpty {
                let n = reader.seriesCount(withLabel: m.name, equalTo: m.value)
                if n < best { best = n; byPostings = m }
            }
            if let m = byPostings {
                refs = reader.series(withLabel: m.name, equalTo: m.value)
                others = sel.matchers
            }
            out.reserveCapacity(refs.count)
            for ref in refs {
                guard let labels = reader.labels(of: ref), let kind = reader.kind(of: ref) else { continue }
                let view: SeriesView = kind == .distribution ? .distribution : .scalar(counter: kind == .counter)
                if others.isEmpty || matches(others, labels) { out.append(SelectedSeries(ref: ref, labels: labels, view: view)) }
            }
            for (suffix, view) in [("_count", SeriesView.distributionCount), ("_sum", .distributionSum)] where name.hasSuffix(suffix) {
                let base = String(name.dropLast(suffix.count))
                for ref in reader.series(named: base) where reader.kind(of: ref) == .distribution {
                    guard let labels = reader.labels(of: ref)?.setting(Labels.metricName, to: name) else { continue }
                    if matches(sel.matchers, labels) { out.append(SelectedSeries(ref: ref, labels: labels, view: view)) }
                }
            }
        } else {
            for ref in reader.allSeries() {
                guard let labels = reader.labels(of: ref), let kind = reader.kind(of: ref) else { continue }
                if kind == .distribution {
                    if matches(sel.matchers, labels) { out.append(SelectedSeries(ref: ref, labels: labels, view: .distribution)) }
                    let base = labels.metricName ?? ""
                    for (suffix, view) in [("_count", SeriesView.distributionCount), ("_sum", .distributionSum)] {
                        let viewLabels = labels.setting(Labels.metricName, to: base + suffix)
                        if matches(sel.matchers, viewLabels) { out.append(SelectedSeries(ref: ref, labels: viewLabels, view: view)) }
                    }
                } else if matches(sel.matchers, labels) {
                    out.append(SelectedSeries(ref: ref, labels: labels, view: .scalar(counter: kind == .counter)))
                }
            }
        }
        selections[sel.position.lowerBound] = out
        return out
    }

    func matches(_ matchers: [LabelMatcher], _ labels: Labels) -> Bool {
        for m in matchers {
            let v = labels.value(of: m.nameBytes) ?? []
            if !m.matches(v) { return false }
        }
        return true
    }

    func distributionWarning(_ labels: Labels) -> String {
        let name = labels.metricName ?? "series"
        return "\(name) is a distribution: read it with quantile_over_time, count/sum/avg/min/max_over_time, or as \(name)_count and \(name)_sum; \(labels) was skipped here"
    }

    mutating func instantSelector(_ sel: VectorSelector, at t: Timestamp) throws(QueryError) -> [Element] {
        if let k = grid?.index(of: t), let out = try stepSelector(sel, step: k) { return out }
        let at = effectiveTime(sel.at, offset: sel.offset, t)
        let chosen = select(sel)
        var out: [Element] = []
        out.reserveCapacity(chosen.count)
        for s in chosen {
            switch s.view {
            case .scalar:
                guard let sample = reader.latestSample(of: s.ref, at: at, lookback: lookback), !sample.value.isStaleMarker else { continue }
                out.append(Element(labels: s.labels, value: sample.value, timestamp: sample.timestamp))
            case .distributionCount, .distributionSum:
                cumulative.removeAll(keepingCapacity: true)
                reader.cumulative(of: s.ref, from: at - lookback, through: at, into: &cumulative)
                guard let last = cumulative.last else { continue }
                out.append(Element(labels: s.labels, value: s.view.isCount ? last.count : last.sum, timestamp: last.timestamp))
            case .distribution:
                warn(distributionWarning(s.labels))
            }
        }
        if out.count > maxSamples { throw limitError() }
        return out
    }

    /// Reads the samples of `s` in `(from, through]` into `samples` (stale markers dropped, as range
    /// vectors do). Returns false for a plain distribution (no samples).
    mutating func readRange(_ s: SelectedSeries, from: Timestamp, through: Timestamp) -> Bool {
        samples.removeAll(keepingCapacity: true)
        switch s.view {
        case .scalar:
            reader.samples(of: s.ref, from: from, through: through, into: &samples)
            if samples.contains(where: { $0.value.isStaleMarker }) { samples.removeAll { $0.value.isStaleMarker } }
            return true
        case .distributionCount, .distributionSum:
            cumulative.removeAll(keepingCapacity: true)
            reader.cumulative(of: s.ref, from: from, through: through, into: &cumulative)
            let isCount = s.view.isCount
            for c in cumulative { samples.append(Sample(timestamp: c.timestamp, value: isCount ? c.count : c.sum)) }
            return true
        case .distribution:
            return false
        }
    }

    mutating func matrixSelector(_ m: MatrixSelector, at t: Timestamp) throws(QueryError) -> [SeriesSamples] {
        let through = effectiveTime(m.selector.at, offset: m.selector.offset, t)
        let from = through - Evaluator.clamp(m.range)
        var out: [SeriesSamples] = []
        var total = 0
        for s in select(m.selector) {
            guard readRange(s, from: from, through: through) else {
                warn(distributionWarning(s.labels))
                continue
            }
            guard !samples.isEmpty else { continue }
            total += samples.count
            if total > maxSamples { throw limitError() }
            out.append(SeriesSamples(labels: s.labels, samples: samples))
        }
        return out
    }

    mutating func subquery(_ s: Subquery, at t: Timestamp) throws(QueryError) -> [SeriesSamples] {
        let end = effectiveTime(s.at, offset: s.offset, t)
        let step = Evaluator.clamp(s.step ?? defaultSubqueryStep)
        let start = end - Evaluator.clamp(s.range)
        // The first step after `start` that is a multiple of the step (left-open, as range selectors).
        var ts = start - ((start % step) + step) % step
        if ts <= start { ts += step }
        let steps = ts > end ? 0 : (end - ts) / step + 1
        guard steps <= Int64(subquerySteps) else {
            throw QueryError(kind: .limit, message: "subqueries would take more than the \(maxSubqueryStepsMessage) evaluation steps allowed per query — shorten their range or raise their resolution", range: s.position, line: 0, column: 0)
        }
        subquerySteps -= Int(steps)
        var index: [Labels: Int] = [:]
        var out: [SeriesSamples] = []
        var total = 0
        while ts <= end {
            if let interrupt, let error = interrupt() { throw error }
            switch try eval(s.expr, at: ts) {
            case .vector(let elements):
                for e in elements {
                    let i: Int
                    if let existing = index[e.labels] {
                        i = existing
                    } else {
                        i = out.count
                        index[e.labels] = i
                        out.append(SeriesSamples(labels: e.labels, samples: []))
                    }
                    out[i].samples.append(Sample(timestamp: ts, value: e.value))
                }
                total += elements.count
            case .scalar(let v):
                if out.isEmpty { out.append(SeriesSamples(labels: Labels(), samples: [])) }
                out[0].samples.append(Sample(timestamp: ts, value: v))
                total += 1
            default: break
            }
            if total > maxSamples { throw limitError() }
            ts += step
        }
        return out
    }
}

/// The series of a range query's result, gathered step by step.
struct RangeResult {
    var index: [Labels: Int] = [:]
    var series: [SeriesSamples] = []
    var total = 0

    mutating func append(_ labels: Labels, _ sample: Sample) {
        let i: Int
        if let existing = index[labels] {
            i = existing
        } else {
            i = series.count
            index[labels] = i
            series.append(SeriesSamples(labels: labels, samples: []))
        }
        series[i].samples.append(sample)
        total += 1
    }

    /// The matrix, sorted by labels.
    func matrix() -> QueryValue {
        .matrix(series.sorted { $0.labels.encoded.lexicographicallyPrecedes($1.labels.encoded) })
    }
}

extension SeriesView {
    var isCount: Bool {
        if case .distributionCount = self { return true }
        return false
    }
}
