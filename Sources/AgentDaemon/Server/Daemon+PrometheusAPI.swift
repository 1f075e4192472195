import TextRendering
import JSON
import HTTPServing
import Ingest
import Notify
import Query
import TimeSeries

/// Prometheus's series and metadata endpoints, answered as Prometheus 3 answers them
/// (`web/api/v1/api.go`): `labels`, `label/{name}/values`, `series`, `metadata`,
/// `targets/metadata`, `query_exemplars`, `format_query`, `parse_query`. Grafana's metric browser,
/// autocomplete and template variables, `promtool query labels|series` and the client libraries
/// call them.
///
/// Each validates its parameters first, in Prometheus's order and with its messages. Those that
/// read the store's index (`labels`, `values`, `series`) run on the query lane: they select under
/// one store lock, then check their deadline. Every list is bounded: by `limit` when given, and
/// always by `maxListedItems` (`maxListedSeries` for series); a cut list says so in `warnings`, as
/// Prometheus 3 does for `limit`.
extension Daemon {
    /// Most label names or values one answer lists.
    static let maxListedItems = 100_000
    /// Most series one `/api/v1/series` answer lists.
    static let maxListedSeries = 50_000
    /// Prometheus's warning for a list cut at `limit`.
    static let truncatedWarning = "results truncated due to limit"

    // MARK: Labels and series

    /// `/api/v1/labels`: `match[]`, `start`, `end`, `limit`.
    func labelNames(_ request: Request, _ form: FormValues) throws(APIError) -> HTTPServing.HTTPResponse {
        let limit = try APIParameters.listLimit(form)
        let (start, end) = try APIParameters.optionalRange(form)
        let sets = try APIParameters.matcherSets(form.values(of: "match[]"))
        var names = Set<String>()
        for labels in try selectedLabels(sets, start: start, end: end, request: request) {
            labels.forEach { n, _ in names.insert(String(decoding: n, as: UTF8.self)) }
        }
        return Self.list(names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }, limit: limit)
    }

    /// `/api/v1/label/{name}/values`: `match[]`, `start`, `end`, `limit`. The name may be any UTF-8
    /// text (Prometheus 3), or `U__`-escaped (`U__my_2e_label` for `my.label`).
    func labelValues(_ request: Request, _ form: FormValues) throws(APIError) -> HTTPServing.HTTPResponse {
        var name = request.pathParameters["name"] ?? ""
        if name.hasPrefix("U__") { name = Self.unescapeName(name) }
        guard !name.isEmpty else { throw APIError(.badData, "invalid label name: \(quotedGo(name))") }
        let limit = try APIParameters.listLimit(form)
        let (start, end) = try APIParameters.optionalRange(form)
        let sets = try APIParameters.matcherSets(form.values(of: "match[]"))
        var values = Set<String>()
        for labels in try selectedLabels(sets, start: start, end: end, request: request) {
            if let v = labels[name], !v.isEmpty { values.insert(v) }
        }
        return Self.list(values.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }, limit: limit)
    }

    /// `/api/v1/series`: `match[]` (required), `start`, `end`, `limit`.
    func series(_ request: Request, _ form: FormValues) throws(APIError) -> HTTPServing.HTTPResponse {
        let given = form.values(of: "match[]")
        guard !given.isEmpty else { throw APIError(.badData, "no match[] parameter provided") }
        let limit = try APIParameters.listLimit(form)
        let (start, end) = try APIParameters.optionalRange(form)
        let sets: [[LabelMatcher]]
        do throws(APIError) { sets = try APIParameters.matcherSets(given) } catch { throw APIError.invalidParameter("match[]", error.message) }
        // Sorted once decoded: comparing encoded label sets pair by pair would decode both at every
        // comparison (10 000 series: 200 ms instead of tens).
        var all = try selectedLabels(sets, start: start, end: end, request: request).map(\.labels)
        all.sort(by: Self.precedes)
        try Self.checkDeadline(request)
        let cap = limit > 0 ? min(limit, Self.maxListedSeries) : Self.maxListedSeries
        var warnings: [String] = []
        if all.count > cap { warnings.append(limit > 0 && limit <= Self.maxListedSeries ? Self.truncatedWarning : Self.capWarning(Self.maxListedSeries)) }
        return .apiSuccess(data: .array(all.prefix(cap).map { .object($0.map { ($0.name, .string($0.value)) }) }), warnings: warnings)
    }

    /// The label sets of the series one of `sets` selects (every series when `sets` is empty; a
    /// distribution also under its `_count` and `_sum` names) that have samples in `start…end`,
    /// once each, in store order.
    func selectedLabels(_ sets: [[LabelMatcher]], start: Timestamp, end: Timestamp, request: Request) throws(APIError) -> [Labels] {
        let (from, through) = (Self.evaluationTime(start), Self.evaluationTime(end))
        var seen = Set<Labels>()
        var out: [Labels] = []
        store.read { reader in
            for set in sets.isEmpty ? [[]] : sets {
                for s in SeriesSelection.select(set, in: reader) where Self.hasSamples(s, from: from, through: through, reader) {
                    if seen.insert(s.labels).inserted { out.append(s.labels) }
                }
            }
        }
        try Self.checkDeadline(request)
        return out
    }

    /// Whether a selected series has a sample (or observation) in `from…through`.
    static func hasSamples(_ s: SelectedSeriesLabels, from: Timestamp, through: Timestamp, _ reader: StoreReader) -> Bool {
        guard from <= through, let latest = reader.latest(of: s.ref), latest.timestamp >= from else { return false }
        if latest.timestamp <= through { return true }
        if reader.kind(of: s.ref) == .distribution {
            var points: [CumulativeSample] = []
            reader.cumulative(of: s.ref, from: from - 1, through: through, into: &points)
            return !points.isEmpty
        }
        return reader.latestSample(of: s.ref, at: through, lookback: through - from + 1) != nil
    }

    // MARK: Metadata

    /// `/api/v1/metadata`: `limit` (families), `limit_per_metric`, `metric`. Family → the distinct
    /// TYPE/HELP/UNIT the targets gave it.
    func metricMetadata(_ request: Request, _ form: FormValues) throws(APIError) -> HTTPServing.HTTPResponse {
        let limit = try APIParameters.count(form, "limit")
        let perMetric = try APIParameters.count(form, "limit_per_metric")
        let metric = form["metric"] ?? ""
        var order: [String] = []
        var byFamily: [String: [MetricMetadata]] = [:]
        for target in scrapes?.targetSnapshots() ?? [] {
            for m in target.metadata where metric.isEmpty || m.family == metric {
                var known = byFamily[m.family] ?? []
                if perMetric > 0 && known.count >= perMetric { continue }
                if known.contains(where: { $0.type == m.type && $0.help == m.help && $0.unit == m.unit }) { continue }
                if known.isEmpty { order.append(m.family) }
                known.append(m)
                byFamily[m.family] = known
            }
        }
        // Prometheus stops adding families at `limit` (a negative one is none); its map is written in name order.
        var families = order
        if limit >= 0 && families.count > limit { families = Array(families.prefix(limit)) }
        if families.count > Self.maxListedItems { families = Array(families.prefix(Self.maxListedItems)) }
        families.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        return .apiSuccess(data: .object(families.map { family in
            (family, .array(byFamily[family]!.map { m in
                .object([("type", .string(m.type.description)), ("help", .string(m.help)), ("unit", .string(m.unit))])
            }))
        }))
    }

    /// `/api/v1/targets/metadata`: `match_target` (a selector over target labels), `metric`, `limit`.
    func targetMetadata(_ request: Request, _ form: FormValues) throws(APIError) -> HTTPServing.HTTPResponse {
        let limit = try APIParameters.count(form, "limit")
        var matchers: [LabelMatcher] = []
        if let text = form["match_target"], !text.isEmpty {
            do { matchers = try PromQL.parseMetricSelector(text) } catch { throw APIError.invalidParameter("match_target", error.description) }
        }
        let metric = form["metric"] ?? ""
        var out: [JSON] = []
        let cap = limit >= 0 ? min(limit, Self.maxListedItems) : Self.maxListedItems
        for target in scrapes?.targetSnapshots() ?? [] where target.target.format == .prometheus {
            guard out.count < cap else { break }
            let labels = Labels(target.target.targetLabels.map { ($0.name, $0.value) })
            guard SeriesSelection.matchesAll(matchers, labels) else { continue }
            for m in target.metadata where metric.isEmpty || m.family == metric {
                var members: [(String, JSON)] = [("target", Self.json(labels))]
                if metric.isEmpty { members.append(("metric", .string(m.family))) }
                members += [("type", .string(m.type.description)), ("help", .string(m.help)), ("unit", .string(m.unit))]
                out.append(.object(members))
            }
        }
        return .apiSuccess(data: .array(out))
    }

    // MARK: Expressions

    /// `/api/v1/query_exemplars`: `query`, `start`, `end`. The agent keeps no exemplars: an empty
    /// list once the parameters are valid (no data at all for a query without selectors, as Prometheus).
    func queryExemplars(_ request: Request, _ form: FormValues) throws(APIError) -> HTTPServing.HTTPResponse {
        let (start, end) = try APIParameters.optionalRange(form)
        guard end >= start else { throw APIError(.badData, "end timestamp must not be before start timestamp") }
        let expr: Expr
        do { expr = try PromQL.parse(form["query"] ?? "") } catch { throw APIError(.badData, error.description) }
        return .apiSuccess(data: Self.hasSelector(expr) ? .array([]) : nil)
    }

    /// `/api/v1/format_query`: the expression printed canonically (Prometheus's `Pretty`, on one line).
    func formatQuery(_ request: Request, _ form: FormValues) throws(APIError) -> HTTPServing.HTTPResponse {
        do {
            return .apiSuccess(data: .string(try PromQL.parse(form["query"] ?? "").description))
        } catch {
            throw APIError.invalidParameter("query", error.description)
        }
    }

    /// `/api/v1/parse_query`: the expression's syntax tree, as Prometheus 3's `translateAST` writes it.
    func parseQuery(_ request: Request, _ form: FormValues) throws(APIError) -> HTTPServing.HTTPResponse {
        do {
            return .apiSuccess(data: PromQLTree.json(try PromQL.parse(form["query"] ?? "")))
        } catch {
            throw APIError.invalidParameter("query", error.description)
        }
    }

    static func hasSelector(_ expr: Expr) -> Bool {
        switch expr {
        case .vectorSelector, .matrixSelector: true
        case .subquery(let s): hasSelector(s.expr)
        case .call(let c): c.args.contains(where: hasSelector)
        case .aggregation(let a): hasSelector(a.expr) || (a.param.map(hasSelector) ?? false)
        case .binary(let b): hasSelector(b.lhs) || hasSelector(b.rhs)
        case .unary(let u): hasSelector(u.expr)
        case .parenthesized(let p): hasSelector(p.expr)
        default: false
        }
    }

    /// Stops a handler whose client went away or whose time is up.
    static func checkDeadline(_ request: Request) throws(APIError) {
        if request.cancellation.isCancelled { throw APIError(.canceled, "the request was canceled") }
        if let deadline = request.deadline, Monotonic.now() > deadline {
            throw APIError(.timeout, "the request timed out (listen.query_timeout)")
        }
    }

    /// Prometheus 3's `model.UnescapeName` for `U__` names: `__` is `_`, `_HEX_` a code point; a
    /// malformed escape leaves the name as given.
    static func unescapeName(_ name: String) -> String {
        let bytes = Array(name.utf8.dropFirst(3))
        var out = ""
        var i = 0
        while i < bytes.count {
            guard bytes[i] == UInt8(ascii: "_") else {
                out.unicodeScalars.append(Unicode.Scalar(bytes[i]))
                i += 1
                continue
            }
            i += 1
            guard i < bytes.count else { return name }
            if bytes[i] == UInt8(ascii: "_") {
                out += "_"
                i += 1
                continue
            }
            var value: UInt32 = 0
            var digits = 0
            while i < bytes.count, bytes[i] != UInt8(ascii: "_") {
                guard digits < 6, let d = hexDigit(bytes[i]) else { return name }
                value = value * 16 + UInt32(d)
                digits += 1
                i += 1
            }
            guard i < bytes.count, digits > 0, let scalar = Unicode.Scalar(value) else { return name }
            out.unicodeScalars.append(scalar)
            i += 1
        }
        return out
    }

    private static func hexDigit(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    // MARK: Answers

    /// A list of strings cut at `limit` (0: none) and at `maxListedItems`, with Prometheus's warning.
    static func list(_ items: [String], limit: Int) -> HTTPServing.HTTPResponse {
        let cap = limit > 0 ? min(limit, maxListedItems) : maxListedItems
        var warnings: [String] = []
        if items.count > cap { warnings.append(limit > 0 && limit <= maxListedItems ? truncatedWarning : capWarning(maxListedItems)) }
        return .apiSuccess(data: .array(items.prefix(cap).map { .string($0) }), warnings: warnings)
    }

    static func capWarning(_ cap: Int) -> String {
        "\(truncatedWarning): the agent lists at most \(cap) items per request; narrow match[] or the time range"
    }

    /// A label set as Prometheus writes one: an object in label order.
    static func json(_ labels: Labels) -> JSON {
        .object(labels.labels.map { ($0.name, .string($0.value)) })
    }

    /// A label set as an object from name/value pairs, sorted by name.
    static func json(_ pairs: [(name: String, value: String)]) -> JSON {
        .object(pairs.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }.map { ($0.name, .string($0.value)) })
    }

    /// Prometheus's `labels.Compare`: name, then value, pair by pair; a prefix first.
    static func precedes(_ x: [Label], _ y: [Label]) -> Bool {
        for (l, r) in zip(x, y) {
            if l.name != r.name { return l.name.utf8.lexicographicallyPrecedes(r.name.utf8) }
            if l.value != r.value { return l.value.utf8.lexicographicallyPrecedes(r.value.utf8) }
        }
        return x.count < y.count
    }
}

extension HTTPServing.HTTPResponse {
    /// `{"status":"success","data":…,"warnings":[…]}` as Prometheus's `respond` writes it: `data`
    /// left out when nil, `warnings` when empty.
    static func apiSuccess(data: JSON?, warnings: [String] = []) -> HTTPServing.HTTPResponse {
        var members: [(String, JSON)] = [("status", "success")]
        if let data { members.append(("data", data)) }
        if !warnings.isEmpty { members.append(("warnings", .array(warnings.map { .string($0) }))) }
        return HTTPResponse(status: 200, contentType: "application/json", body: JSON.object(members).encoded())
    }

}
