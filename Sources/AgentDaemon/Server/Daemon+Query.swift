import Foundation
import Query
import TimeSeries

/// The query side of the API: Prometheus's `/api/v1/query` and `/api/v1/query_range` (so Grafana's
/// Prometheus data source can read the agent), and `/api/v1/summary`, which `agent query p95 …` uses.
extension Daemon {
    var engine: Engine { Engine(store: store) }

    func queryAPI(path: String, parameters p: [String: String]) -> APIResponse? {
        switch path {
        case "/api/v1/query":
            guard let text = p["query"], !text.isEmpty else { return .error(400, type: "bad_data", "missing parameter \"query\"") }
            guard let at = p["time"].map(Daemon.parseTime) ?? clock() else { return .error(400, type: "bad_data", "cannot parse \"time\": \(p["time"] ?? "")") }
            do {
                let value = try engine.instant(try PromQL.parse(text), at: at)
                return Daemon.successJSON(value.json)
            } catch {
                return .error(error.kind == .evaluation || error.kind == .limit ? 422 : 400, type: error.kind == .evaluation ? "execution" : "bad_data", error.description)
            }
        case "/api/v1/query_range":
            guard let text = p["query"], !text.isEmpty else { return .error(400, type: "bad_data", "missing parameter \"query\"") }
            guard let start = p["start"].flatMap(Daemon.parseTime), let end = p["end"].flatMap(Daemon.parseTime) else {
                return .error(400, type: "bad_data", "start and end are required (RFC 3339 or Unix seconds)")
            }
            guard let step = p["step"].flatMap(Daemon.parseStep), step > 0 else { return .error(400, type: "bad_data", "step is required: a duration (15s) or seconds") }
            guard end >= start else { return .error(400, type: "bad_data", "end is before start") }
            do {
                return Daemon.successJSON(try engine.range(try PromQL.parse(text), start: start, end: end, step: step).json)
            } catch {
                return .error(error.kind == .evaluation || error.kind == .limit ? 422 : 400, type: error.kind == .evaluation ? "execution" : "bad_data", error.description)
            }
        case "/api/v1/summary":
            return summary(p)
        default:
            return nil
        }
    }

    static func successJSON(_ data: String) -> APIResponse {
        APIResponse(status: 200, body: Data(("{\"status\":\"success\",\"data\":" + data + "}").utf8))
    }

    /// Unix seconds (with fraction) or RFC 3339, as Prometheus's API accepts.
    static func parseTime(_ text: String) -> Timestamp? {
        if let seconds = Double(text), seconds.isFinite { return Timestamp((seconds * 1000).rounded()) }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return Timestamp((date.timeIntervalSince1970 * 1000).rounded()) }
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return Timestamp((date.timeIntervalSince1970 * 1000).rounded()) }
        return nil
    }

    static func parseStep(_ text: String) -> Milliseconds? {
        if let seconds = Double(text), seconds.isFinite { return Milliseconds((seconds * 1000).rounded()) }
        return PromQL.parseDuration(text)
    }

    /// `stat` of `metric` over `window` per group: distributions merge their sketches per group
    /// (a true percentile of everything in the group); gauges and counters go through PromQL.
    func summary(_ p: [String: String]) -> APIResponse {
        guard let metric = p["metric"], !metric.isEmpty else { return .error(400, type: "bad_data", "missing parameter \"metric\"") }
        guard let stat = p["stat"].flatMap(SummaryStat.init) else {
            return .error(400, type: "bad_data", "stat must be pNN (p50, p95, p99, p999, …), avg, min, max, count or rate")
        }
        guard let window = PromQL.parseDuration(p["window"] ?? "5m"), window > 0 else { return .error(400, type: "bad_data", "window must be a duration such as 5m") }
        let by = (p["by"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard let end = p["time"].map(Daemon.parseTime) ?? clock() else { return .error(400, type: "bad_data", "cannot parse \"time\"") }
        let range = p["range"].flatMap(PromQL.parseDuration) ?? 0
        let step = p["step"].flatMap(PromQL.parseDuration) ?? max(range / 60, 1000)
        let times: [Timestamp] = range > 0 ? Array(stride(from: end - range, through: end, by: Int(step))) : [end]

        let kinds = store.read { r in Set(r.series(named: metric).compactMap { r.kind(of: $0) }) }
        if kinds.isEmpty { return .error(404, type: "not_found", "no series named \(metric)") }
        if kinds == [.distribution] {
            return Daemon.successJSON(distributionSummary(metric: metric, stat: stat, window: window, by: by, times: times))
        }
        // Gauges and counters: the statistic per series over the window, then grouped.
        let expression = stat.promQL(metric: metric, window: window, by: by)
        do {
            let expr = try PromQL.parse(expression)
            let value = range > 0 ? try engine.range(expr, start: times.first!, end: end, step: step) : try engine.instant(expr, at: end)
            return Daemon.successJSON(value.json)
        } catch {
            return .error(422, type: "execution", "\(expression): \(error.description)")
        }
    }

    /// Merges the sketches of each group's series over `(t - window, t]` for every `t` in `times`.
    func distributionSummary(metric: String, stat: SummaryStat, window: Milliseconds, by: [String], times: [Timestamp]) -> String {
        var groups: [Labels: [Sample]] = [:]
        store.read { r in
            let refs = r.series(named: metric)
            var keyOf: [(SeriesRef, Labels)] = []
            for ref in refs {
                guard let labels = r.labels(of: ref) else { continue }
                let key = by.isEmpty ? labels : labels.keeping(Set(by)).setting(Labels.metricName, to: metric)
                keyOf.append((ref, key))
            }
            for t in times {
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
        let w = "\(metric)[\(window / 1000)s]"
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
