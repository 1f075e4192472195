import HTTPServing
import TextRendering
import Notify
import Query
import TimeSeries

/// The API's parameters as Prometheus's web/api/v1 reads them, every number checked before it
/// becomes a `Timestamp`, a duration or a count: what is out of range is a 400 `bad_data` with
/// Prometheus's message, never a trap.
///
/// Times (`parseTime`): Unix seconds with a fraction (rounded to the millisecond) or RFC 3339,
/// within Prometheus's `minTime`…`maxTime` (±292 billion years, which still fits Int64
/// milliseconds); NaN and ±Inf are refused. Durations (`parseDuration`): seconds with a fraction or
/// a Prometheus duration (`5m`, `1h30m`), at most Go's `time.Duration` (Int64 nanoseconds, ≈ 292
/// years), as in Prometheus.
enum APIParameters {
    /// Prometheus's `minTime` (`time.Unix(math.MinInt64/1000+62135596801, 0)`), in ms.
    static let minTime: Timestamp = (Int64.min / 1000 + 62_135_596_801) * 1000
    /// Prometheus's `maxTime` (`time.Unix(math.MaxInt64/1000-62135596801, 999999999)`), in ms.
    static let maxTime: Timestamp = (Int64.max / 1000 - 62_135_596_801) * 1000 + 999
    /// Their RFC 3339 forms, which Go cannot parse (five-digit years) and Prometheus accepts by name.
    static let minTimeText = "-292273086-05-16T16:47:06Z"
    static let maxTimeText = "292277026596-12-04T15:30:07.999999999Z"
    /// The longest duration: Go's `time.Duration` is Int64 nanoseconds.
    static let maxDuration: Milliseconds = Int64.max / 1_000_000
    /// Most points of a range query per series (Prometheus's 11 000).
    static let maxPoints: Int64 = 11_000

    /// A time parameter; nil when absent or empty.
    static func time(_ form: FormValues, _ name: String) throws(APIError) -> Timestamp? {
        guard let text = form[name], !text.isEmpty else { return nil }
        guard let t = parseTime(text) else {
            throw APIError.invalidParameter(name, "invalid time value for '\(name)': cannot parse \(quotedGo(text)) to a valid timestamp")
        }
        return t
    }

    /// Prometheus's `parseTime`: Unix seconds (a float) or RFC 3339, within `minTime`…`maxTime`.
    static func parseTime(_ text: String) -> Timestamp? {
        if let seconds = Double(text) {
            guard seconds.isFinite, seconds >= Double(minTime / 1000), seconds < Double(maxTime / 1000) + 1 else { return nil }
            let whole = seconds.rounded(.towardZero)
            let (ms, o1) = Int64(whole).multipliedReportingOverflow(by: 1000)
            let (t, o2) = ms.addingReportingOverflow(Int64(((seconds - whole) * 1000).rounded()))
            guard !o1, !o2, t >= minTime, t <= maxTime else { return nil }
            return t
        }
        if let t = RFC3339.parse(text) { return t }
        switch text {
        case minTimeText: return minTime
        case maxTimeText: return maxTime
        default: return nil
        }
    }

    /// A duration parameter in ms; nil when absent or empty.
    static func duration(_ form: FormValues, _ name: String) throws(APIError) -> Milliseconds? {
        guard let text = form[name], !text.isEmpty else { return nil }
        return try duration(text, name)
    }

    /// Prometheus's API `parseDuration`: seconds (a float) or a duration literal, within Go's
    /// `time.Duration`.
    static func duration(_ text: String, _ name: String) throws(APIError) -> Milliseconds {
        if let seconds = Double(text) {
            guard seconds.isFinite, abs(seconds) <= Double(maxDuration / 1000) else {
                throw APIError.invalidParameter(name, "cannot parse \(quotedGo(text)) to a valid duration. It overflows int64")
            }
            return Int64((seconds * 1000).rounded())
        }
        guard let ms = PromQL.parseDuration(text), ms <= maxDuration else {
            throw APIError.invalidParameter(name, "cannot parse \(quotedGo(text)) to a valid duration")
        }
        return ms
    }

    /// Prometheus 3's `parseLimitParam` (`labels`, `label/…/values`, `series`): absent is 0 (no
    /// limit), otherwise a non-negative integer.
    static func listLimit(_ form: FormValues) throws(APIError) -> Int {
        guard let text = form["limit"], !text.isEmpty else { return 0 }
        guard let n = Int(text) else { throw APIError.invalidParameter("limit", atoiError(text)) }
        guard n >= 0 else { throw APIError.invalidParameter("limit", "limit must be non-negative") }
        return n
    }

    /// The `limit`s of the metadata endpoints: any integer, -1 when absent ("limit must be a number").
    static func count(_ form: FormValues, _ name: String) throws(APIError) -> Int {
        guard let text = form[name], !text.isEmpty else { return -1 }
        guard let n = Int(text) else { throw APIError(.badData, "\(name) must be a number") }
        return n
    }

    /// `status/tsdb`'s `limit`: a positive number, `fallback` when absent.
    static func positiveLimit(_ form: FormValues, fallback: Int) throws(APIError) -> Int {
        guard let text = form["limit"], !text.isEmpty else { return fallback }
        guard let n = Int(text), n >= 1 else { throw APIError(.badData, "limit must be a positive number") }
        return n
    }

    /// Go's `strconv.Atoi` error for `text`.
    static func atoiError(_ text: String) -> String {
        let digits = text.drop { $0 == "+" || $0 == "-" }
        let syntax = !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber } && text.count - digits.count <= 1
        return "strconv.Atoi: parsing \(quotedGo(text)): \(syntax ? "value out of range" : "invalid syntax")"
    }

    /// `start` and `end` of the metadata-style endpoints, each defaulting to `minTime` and `maxTime`.
    static func optionalRange(_ form: FormValues) throws(APIError) -> (start: Timestamp, end: Timestamp) {
        let start = try time(form, "start") ?? minTime
        let end = try time(form, "end") ?? maxTime
        return (start, end)
    }

    /// The `match[]` selectors; a malformed one is `bad_data` with the parser's message.
    static func matcherSets(_ texts: [String]) throws(APIError) -> [[LabelMatcher]] {
        var sets: [[LabelMatcher]] = []
        for text in texts {
            do { sets.append(try PromQL.parseMetricSelector(text)) } catch { throw APIError(.badData, error.description) }
        }
        return sets
    }

    /// The form of a request (body pairs, then URL pairs); a malformed one is 400, as Prometheus's
    /// `r.ParseForm()` error.
    static func form(_ request: Request) throws(APIError) -> FormValues {
        do {
            return try request.form()
        } catch {
            throw APIError(.badData, "error parsing form values: \(error.message)")
        }
    }

    /// `start`, `end` and `step` of a range query, checked as Prometheus checks them.
    static func range(_ form: FormValues) throws(APIError) -> (start: Timestamp, end: Timestamp, step: Milliseconds) {
        guard let start = try time(form, "start") else { throw APIError.invalidParameter("start", "cannot parse \"\" to a valid timestamp") }
        guard let end = try time(form, "end") else { throw APIError.invalidParameter("end", "cannot parse \"\" to a valid timestamp") }
        guard end >= start else { throw APIError(.badData, "end timestamp must not be before start time") }
        guard let step = try duration(form, "step") else { throw APIError.invalidParameter("step", "cannot parse \"\" to a valid duration") }
        guard step > 0 else { throw APIError(.badData, "zero or negative query resolution step widths are not accepted. Try a positive integer") }
        try checkPoints(start: start, end: end, step: step)
        return (start, end, step)
    }

    /// Prometheus refuses more than 11 000 points per series.
    static func checkPoints(start: Timestamp, end: Timestamp, step: Milliseconds) throws(APIError) {
        let (span, overflow) = end.subtractingReportingOverflow(start)
        guard !overflow, span / step <= maxPoints else {
            throw APIError(.badData, "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")
        }
    }

    /// The API's answer for a failed query: parse and type errors are the `query` parameter's
    /// fault (400), a timeout 503, a cancellation 499, the rest an execution error (422).
    static func queryError(_ error: QueryError) -> APIError {
        switch error.kind {
        case .parse, .type, .unsupported: APIError.invalidParameter("query", error.description)
        case .timeout: APIError(.timeout, error.message)
        case .canceled: APIError(.canceled, error.message)
        case .evaluation, .limit: APIError(.execution, error.description)
        }
    }
}
