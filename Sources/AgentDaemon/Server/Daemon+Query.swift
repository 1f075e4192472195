import HTTPServing
import Query
import TimeSeries

/// The query side of the API: Prometheus's `/api/v1/query` and `/api/v1/query_range` (so Grafana's
/// Prometheus data source can read the agent), and `/api/v1/summary`, which `agent query p95 …` uses.
///
/// They run on the server's query lane: at most `listen.query_max_concurrency` at once, each
/// stopped at its next step once `listen.query_timeout` (or a shorter `timeout` parameter) has
/// passed (503 `timeout`) or its client has gone (499 `canceled`). Range queries take the store's
/// lock once per step.
extension Daemon {
    /// An engine over the store that stops at the request's deadline (or `timeout`, if sooner)
    /// and when its client goes away.
    func engine(for request: Request, timeout: Milliseconds?) -> Engine {
        var engine = Engine(store: store)
        var deadline = request.deadline
        if let timeout, timeout > 0 {
            let own = Monotonic.now() &+ UInt64(min(timeout, APIParameters.maxDuration)) &* 1_000_000
            deadline = min(deadline ?? .max, own)
        }
        let cancellation = request.cancellation
        engine.interrupt = { [deadline] in
            if cancellation.isCancelled { return QueryError(kind: .canceled, message: "query was canceled in expression evaluation") }
            if let deadline, Monotonic.now() > deadline { return QueryError(kind: .timeout, message: "query timed out in expression evaluation") }
            return nil
        }
        return engine
    }

    /// `/api/v1/query`: `query`, optional `time` (default now) and `timeout`.
    func instantQuery(_ request: Request, _ form: FormValues) throws(APIError) -> HTTPResponse {
        let at = try APIParameters.time(form, "time") ?? clock()
        let timeout = try APIParameters.duration(form, "timeout")
        let expr = try parseQuery(form)
        do {
            return .apiSuccess(json: try engine(for: request, timeout: timeout).instant(expr, at: at).json)
        } catch {
            throw APIParameters.queryError(error)
        }
    }

    /// `/api/v1/query_range`: `query`, `start`, `end`, `step`, optional `timeout`.
    func rangeQuery(_ request: Request, _ form: FormValues) throws(APIError) -> HTTPResponse {
        let (start, end, step) = try APIParameters.range(form)
        let timeout = try APIParameters.duration(form, "timeout")
        let expr = try parseQuery(form)
        do {
            return .apiSuccess(json: try engine(for: request, timeout: timeout).range(expr, start: start, end: end, step: step).json)
        } catch {
            throw APIParameters.queryError(error)
        }
    }

    func parseQuery(_ form: FormValues) throws(APIError) -> Expr {
        do {
            return try PromQL.parse(form["query"] ?? "")
        } catch {
            throw APIParameters.queryError(error)
        }
    }

    /// `/api/v1/summary`: `stat` of `metric` over `window` per group (`by`), at `time` or, with
    /// `range`, every `step` of the range ending at `time`. Distributions merge their sketches per
    /// group (a true percentile of everything in the group); gauges and counters go through PromQL.
    func summary(_ request: Request, _ p: FormValues) throws(APIError) -> HTTPResponse {
        guard let metric = p["metric"], !metric.isEmpty else { throw APIError(.badData, "missing parameter \"metric\"") }
        guard Daemon.isMetricName(metric) else { throw APIError.invalidParameter("metric", "not a metric name: \(quotedGo(metric))") }
        guard let stat = p["stat"].flatMap(SummaryStat.init) else {
            throw APIError(.badData, "stat must be pNN (p50, p95, p99, p999, …), avg, min, max, count or rate")
        }
        let window = try APIParameters.duration(p, "window") ?? 300_000
        guard window > 0 else { throw APIError.invalidParameter("window", "must be a positive duration such as 5m") }
        let by = (p["by"] ?? "").split(separator: ",").map { String($0.filter { $0 != " " && $0 != "\t" }) }.filter { !$0.isEmpty }
        for label in by where !Daemon.isLabelName(label) { throw APIError.invalidParameter("by", "not a label name: \(quotedGo(label))") }
        // Evaluation keeps times within ±2^60 ms, where `t - window` and `t - range` cannot overflow.
        let end = Daemon.evaluationTime(try APIParameters.time(p, "time") ?? clock())
        let range = try APIParameters.duration(p, "range") ?? 0
        guard range >= 0 else { throw APIError.invalidParameter("range", "must not be negative") }
        var step = max(range / 60, 1000)
        if let given = try APIParameters.duration(p, "step") {
            guard given > 0 else { throw APIError(.badData, "zero or negative query resolution step widths are not accepted. Try a positive integer") }
            step = given
        }
        try APIParameters.checkPoints(start: end - range, end: end, step: step)
        let times: [Timestamp] = range > 0 ? Array(stride(from: end - range, through: end, by: Int(step))) : [end]

        let kinds = store.read { r in Set(r.series(named: metric).compactMap { r.kind(of: $0) }) }
        if kinds.isEmpty { throw APIError(.notFound, "no series named \(metric)") }
        let engine = engine(for: request, timeout: nil)
        if kinds == [.distribution] {
            do {
                return .apiSuccess(json: try distributionSummary(metric: metric, stat: stat, window: window, by: by, times: times, interrupt: engine.interrupt))
            } catch {
                throw APIParameters.queryError(error)
            }
        }
        // Gauges and counters: the statistic per series over the window, then grouped.
        let expression = stat.promQL(metric: metric, window: window, by: by)
        do {
            let expr = try PromQL.parse(expression)
            let value = range > 0 ? try engine.range(expr, start: times.first!, end: end, step: step) : try engine.instant(expr, at: end)
            return .apiSuccess(json: value.json)
        } catch {
            var e = APIParameters.queryError(error)
            e.message = "\(expression): \(e.message)"
            throw e
        }
    }

    /// `t` held within ±2^60 ms (36 million years), as the query evaluator holds times.
    static func evaluationTime(_ t: Timestamp) -> Timestamp { min(max(t, -(1 << 60)), 1 << 60) }

    static func isMetricName(_ s: String) -> Bool {
        guard let first = s.utf8.first, first == 95 || first == 58 || (first | 0x20 >= 97 && first | 0x20 <= 122) else { return false }
        return s.utf8.allSatisfy { $0 == 95 || $0 == 58 || ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 122) }
    }

    static func isLabelName(_ s: String) -> Bool { !s.contains(":") && isMetricName(s) }

    /// Merges the sketches of each group's series over `(t - window, t]` for every `t` in `times`,
    /// taking the store's lock once per `t`.
    func distributionSummary(metric: String, stat: SummaryStat, window: Milliseconds, by: [String], times: [Timestamp],
                             interrupt: (@Sendable () -> QueryError?)?) throws(QueryError) -> String {
        var groups: [Labels: [Sample]] = [:]
        let keyOf: [(SeriesRef, Labels)] = store.read { r in
            r.series(named: metric).compactMap { ref in
                guard let labels = r.labels(of: ref) else { return nil }
                return (ref, by.isEmpty ? labels : labels.keeping(Set(by)).setting(Labels.metricName, to: metric))
            }
        }
        for t in times {
            if let interrupt, let error = interrupt() { throw error }
            store.read { r in
                var merged: [Labels: DistributionSummary] = [:]
                for (ref, key) in keyOf {
                    guard let s = r.summary(of: ref, from: t - window, through: t), s.count > 0 else { continue }
                    if var existing = merged[key] {
                        existing.sketch.merge(s.sketch, maxBuckets: store.config.sketchMaxBuckets)
                        merged[key] = existing
                    } else {
                        merged[key] = s
                    }
                }
                for (key, s) in merged {
                    groups[key, default: []].append(Sample(timestamp: t, value: stat.value(of: s, window: window)))
                }
            }
        }
        let series = groups.sorted { $0.key.description < $1.key.description }.map { SeriesSamples(labels: $0.key, samples: $0.value) }
        if times.count == 1 {
            return QueryValue.vector(series.compactMap { s in s.samples.last.map { VectorSample(labels: s.labels, value: $0.value) } }, at: times[0]).json
        }
        return QueryValue.matrix(series).json
    }
}

/// A statistic `agent query` asks for: a percentile, avg, min, max, count or rate.
enum SummaryStat: Equatable {
    case percentile(Double)
    case avg, min, max, count, rate

    /// `p95` → 0.95, `p999` → 0.999, `p50` → 0.5; `avg`, `min`, `max`, `count`, `rate`.
    init?(_ text: String) {
        switch text {
        case "avg", "mean": self = .avg
        case "min": self = .min
        case "max": self = .max
        case "count": self = .count
        case "rate": self = .rate
        default:
            // p50 = 0.50, p999 = 0.999: the digits are the fraction's digits (so p100 means nothing).
            let digits = text.dropFirst()
            guard text.hasPrefix("p"), digits.count >= 2, digits.allSatisfy(\.isASCII), Int(digits) != nil, !digits.hasPrefix("100"),
                  let q = Double("0." + digits), q > 0, q < 1 else { return nil }
            self = .percentile(q)
        }
    }

    func value(of s: DistributionSummary, window: Milliseconds) -> Double {
        switch self {
        case .percentile(let q): s.quantile(q)
        case .avg: s.mean
        case .min: s.min
        case .max: s.max
        case .count: Double(s.count)
        case .rate: Double(s.count) / (Double(window) / 1000)
        }
    }

    /// The PromQL for a gauge or counter series.
    func promQL(metric: String, window: Milliseconds, by: [String]) -> String {
        let w = "\(metric)[\(window)ms]"
        let grouping = by.isEmpty ? "" : " by (\(by.joined(separator: ", ")))"
        switch self {
        case .percentile(let q):
            return by.isEmpty ? "quantile_over_time(\(q), \(w))" : "quantile\(grouping) (\(q), quantile_over_time(\(q), \(w)))"
        case .avg: return by.isEmpty ? "avg_over_time(\(w))" : "avg\(grouping) (avg_over_time(\(w)))"
        case .min: return by.isEmpty ? "min_over_time(\(w))" : "min\(grouping) (min_over_time(\(w)))"
        case .max: return by.isEmpty ? "max_over_time(\(w))" : "max\(grouping) (max_over_time(\(w)))"
        case .count: return by.isEmpty ? "count_over_time(\(w))" : "sum\(grouping) (count_over_time(\(w)))"
        case .rate: return by.isEmpty ? "rate(\(w))" : "sum\(grouping) (rate(\(w)))"
        }
    }
}
