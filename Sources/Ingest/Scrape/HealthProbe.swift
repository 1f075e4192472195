#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import JSON
import RE2
import TimeSeries

/// Turns a health target's responses into `probe_*` series, as blackbox_exporter names them, with
/// Gatus-style conditions.
///
/// Each probe writes, with the target's labels: `probe_success`, `probe_http_status_code` (0
/// without a response), `probe_duration_seconds`, `probe_http_content_length` (body bytes, -1
/// without a response), `probe_failed_condition{condition}` (1 failed, 0 held) for every
/// condition, `probe_consecutive_failures`, and `up` (= `probe_success`, so one "target down"
/// rule covers both kinds of target). The conditions are, in order: `response received`, the
/// status condition, `response_time < …` when a limit is set, then each body condition.
///
/// Owned by one `ScrapeLoop`, under its lock.
struct HealthProbe {
    let target: ScrapeTarget
    let expectations: HealthExpectations
    let targetLabels: [(name: String, value: String)]
    /// Compiled `matches` patterns (RE2, anchored as Prometheus anchors them), by condition index.
    let patterns: [Int: Result<RegularExpression, RegularExpressionError>]
    /// Probes failed in a row.
    var consecutiveFailures = 0
    var refs: [Labels: SeriesRef] = [:]

    init(target: ScrapeTarget) {
        self.target = target
        self.expectations = target.health
        self.targetLabels = target.targetLabels
        var patterns: [Int: Result<RegularExpression, RegularExpressionError>] = [:]
        for (i, condition) in target.health.body.enumerated() {
            if case .json(_, .matches(let pattern)) = condition.check {
                patterns[i] = Result { () throws(RegularExpressionError) in try JSONCondition.compile(pattern) }
            }
        }
        self.patterns = patterns
    }

    /// One probe's outcome: each condition with whether it failed, and why.
    struct Outcome {
        var conditions: [(name: String, failure: String?)] = []
        var success: Bool { conditions.allSatisfy { $0.failure == nil } }
        var firstFailure: String? {
            conditions.first { $0.failure != nil }.map { "\($0.name) failed: \($0.failure!)" }
        }
    }

    /// Checks a response (or the lack of one) against the expectations.
    func evaluate(_ result: Result<HTTPResponse, HTTPError>, responseTime: Duration) -> Outcome {
        var outcome = Outcome()
        let e = expectations
        let response: HTTPResponse?
        switch result {
        case .success(let r):
            response = r
            outcome.conditions.append(("response received", nil))
        case .failure(let error):
            response = nil
            outcome.conditions.append(("response received", error.message))
        }
        let noResponse = "no response"
        if let response {
            let ok = e.statusCodes.isEmpty ? (200..<300).contains(response.status) : e.statusCodes.contains(response.status)
            outcome.conditions.append((e.statusConditionName, ok ? nil : "got \(HTTPResponse.statusText(response.status))"))
        } else {
            outcome.conditions.append((e.statusConditionName, noResponse))
        }
        if let limit = e.maxResponseTime {
            let name = "response_time < \(formatMilliseconds(Int(limit)))"
            let tookMs = responseTime.asSeconds * 1000
            if response == nil {
                outcome.conditions.append((name, noResponse))
            } else {
                outcome.conditions.append((name, tookMs < Double(limit) ? nil : "took \(formatNumber((tookMs * 10).rounded() / 10))ms"))
            }
        }
        var json: JSON?? = nil  // parsed once, on the first JSON condition
        for (i, condition) in e.body.enumerated() {
            guard let response else {
                outcome.conditions.append((condition.name, noResponse))
                continue
            }
            switch condition.check {
            case .contains(let text):
                let found = response.body.firstRange(of: Array(text.utf8)) != nil
                outcome.conditions.append((condition.name, found ? nil : "not in the body"))
            case .notContains(let text):
                let found = response.body.firstRange(of: Array(text.utf8)) != nil
                outcome.conditions.append((condition.name, found ? "found in the body" : nil))
            case .json(let path, let check):
                if json == nil {
                    json = .some(JSON.parse(response.body))
                }
                guard let document = json!, !document.isNull || path.isEmpty else {
                    outcome.conditions.append((condition.name, "the body is not JSON"))
                    continue
                }
                outcome.conditions.append((condition.name, failure(of: check, at: path, in: document, pattern: patterns[i])))
            }
        }
        return outcome
    }

    /// Why a JSON condition fails, or nil when it holds.
    func failure(of check: JSONCondition, at path: String, in document: JSON, pattern: Result<RegularExpression, RegularExpressionError>?) -> String? {
        let value: JSON?
        switch JSONPath.lookup(path, in: document) {
        case .failure(let problem): return problem
        case .success(let found): value = found
        }
        guard let value, !value.isNull else {
            if case .exists = check { return "null" }
            if case .notEquals = check { return nil }
            return "null"
        }
        let text = JSONPath.text(of: value)
        let number = JSONPath.number(of: value)
        func compare(_ bound: Double, _ holds: (Double, Double) -> Bool) -> String? {
            guard let number else { return "got \(quoted(text)), not a number" }
            return holds(number, bound) ? nil : "got \(text)"
        }
        switch check {
        case .exists:
            return nil
        case .equals(let expected):
            if text == expected { return nil }
            if let number, let wanted = Double(expected), number == wanted { return nil }
            return "got \(quoted(text))"
        case .notEquals(let unwanted):
            if text == unwanted { return "got \(quoted(text))" }
            if let number, let wanted = Double(unwanted), number == wanted { return "got \(quoted(text))" }
            return nil
        case .matches(let source):
            switch pattern {
            case .success(let regex)?: return regex.matches(text) ? nil : "got \(quoted(text))"
            case .failure(let error)?: return "invalid regular expression \(quoted(source)): \(error.message)"
            case nil: return "invalid regular expression \(quoted(source))"
            }
        case .lessThan(let bound): return compare(bound, <)
        case .lessOrEqual(let bound): return compare(bound, <=)
        case .greaterThan(let bound): return compare(bound, >)
        case .greaterOrEqual(let bound): return compare(bound, >=)
        }
    }

    /// Evaluates and writes one probe; the report's error is the first failed condition.
    mutating func record(
        _ result: Result<HTTPResponse, HTTPError>, at timestamp: Timestamp, elapsed: () -> Duration, into store: SeriesStore
    ) -> ScrapeReport {
        let responseTime: Duration
        switch result {
        case .success(let r): responseTime = r.timings.total
        case .failure(let e): responseTime = e.timings.total
        }
        let outcome = evaluate(result, responseTime: responseTime)
        consecutiveFailures = outcome.success ? 0 : consecutiveFailures + 1
        var report = ScrapeReport(timestamp: timestamp)
        if let failure = outcome.firstFailure {
            report.error = ScrapeError(outcome.conditions[0].failure != nil ? .http : .status, failure)
        }
        if case .success(let r) = result {
            report.httpStatus = r.status
            report.bodyBytes = r.body.count
        }
        report.duration = elapsed()
        var samples: [(name: String, extra: (String, String)?, value: Double)] = [
            ("probe_success", nil, outcome.success ? 1 : 0),
            ("up", nil, outcome.success ? 1 : 0),
            ("probe_http_status_code", nil, Double(report.httpStatus ?? 0)),
            ("probe_duration_seconds", nil, report.duration.asSeconds),
            ("probe_http_content_length", nil, report.httpStatus == nil ? -1 : Double(report.bodyBytes)),
            ("probe_consecutive_failures", nil, Double(consecutiveFailures)),
        ]
        for condition in outcome.conditions {
            samples.append(("probe_failed_condition", ("condition", condition.name), condition.failure == nil ? 0 : 1))
        }
        let labels = targetLabels
        var refs = self.refs
        let written = store.write { writer in
            var n = 0
            for sample in samples {
                var builder = LabelsBuilder()
                for (name, value) in labels { builder.set(name, value) }
                if let (name, value) = sample.extra { builder.set(name, value) }
                builder.set(Labels.metricName, sample.name)
                let series = builder.build()
                var ref = refs[series] ?? writer.ref(for: series, kind: .gauge)
                guard let known = ref else { continue }
                var result = writer.append(known, value: sample.value, at: timestamp)
                if result == .unknownSeries {
                    ref = writer.ref(for: series, kind: .gauge)
                    if let renewed = ref { result = writer.append(renewed, value: sample.value, at: timestamp) }
                }
                refs[series] = ref
                if result == .ok { n += 1 }
                report.refused.count(result)
            }
            return n
        }
        self.refs = refs
        report.samplesScraped = written
        report.samplesPostRelabeling = written
        return report
    }

    /// Marks every probe series stale (the target is going away).
    mutating func markAllStale(into store: SeriesStore, at timestamp: Timestamp) -> Int {
        let refs = self.refs
        self.refs = [:]
        return store.write { writer in
            refs.values.reduce(0) { $0 + (writer.append($1, value: .staleMarker, at: timestamp) == .ok ? 1 : 0) }
        }
    }
}

/// Paths into a parsed JSON document: `status`, `checks.db.status`, `items[0].name`, `[2]`, with
/// an optional leading `$.`.
enum JSONPath {
    /// The value at `path`, or why there is none.
    enum Lookup {
        case success(JSON?)
        case failure(String)
    }

    static func lookup(_ path: String, in document: JSON) -> Lookup {
        var rest = Substring(path)
        if rest.hasPrefix("$") { rest = rest.dropFirst() }
        if rest.hasPrefix(".") { rest = rest.dropFirst() }
        var current: JSON? = document
        var walked = ""
        while !rest.isEmpty {
            if rest.hasPrefix("[") {
                guard let close = rest.firstIndex(of: "]"), let index = Int(rest[rest.index(after: rest.startIndex)..<close]) else {
                    return .failure("invalid path \(quoted(path))")
                }
                guard case .array(let array) = current else { return .failure("\(walked.isEmpty ? "the body" : walked) is not an array") }
                guard index >= 0 && index < array.count else { return .failure("\(walked)[\(index)] is out of range (\(array.count) elements)") }
                current = array[index]
                walked += "[\(index)]"
                rest = rest[rest.index(after: close)...]
                if rest.hasPrefix(".") { rest = rest.dropFirst() }
                continue
            }
            let end = rest.firstIndex { $0 == "." || $0 == "[" } ?? rest.endIndex
            let key = String(rest[..<end])
            guard let object = current?.members else { return .failure("\(walked.isEmpty ? "the body" : walked) is not an object") }
            walked += walked.isEmpty ? key : ".\(key)"
            guard let value = object.last(where: { $0.0 == key })?.1 else { return .failure("\(walked) is missing") }
            current = value
            rest = rest[end...]
            if rest.hasPrefix(".") { rest = rest.dropFirst() }
        }
        return .success(current)
    }

    /// The value as text: strings as they are, numbers and booleans as JSON writes them, the rest as JSON.
    static func text(of value: JSON) -> String {
        switch value {
        case .string(let s): return s
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return formatNumber(Double(i))
        case .double(let d): return formatNumber(d)
        case .null: return "null"
        case .array, .object: return value.json
        }
    }

    /// The value as a number: JSON numbers, and strings that spell one.
    static func number(of value: JSON) -> Double? {
        if let d = value.double { return d }
        if let s = value.string { return Double(s) }
        return nil
    }
}
