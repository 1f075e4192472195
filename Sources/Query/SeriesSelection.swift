public import TimeSeries

extension PromQL {
    /// Prometheus's `parser.ParseMetricSelector`: the matchers of one series selector
    /// (`up{job="api"}`, `{__name__=~"http_.*"}`), as `match[]` parameters give them. Anything else
    /// (an operator, a function, a range, `offset`, `@`) is a parse error; a selector whose
    /// matchers all match the empty string is refused as in a query.
    public static func parseMetricSelector(_ text: String) throws(QueryError) -> [LabelMatcher] {
        let expr = try parse(text)
        guard case .vectorSelector(let selector) = expr, selector.offset == 0, selector.at == nil else {
            throw QueryError(kind: .parse, message: "expected a series selector such as up{job=\"api\"}, got \(quoted(text))",
                             range: expr.position, line: 1, column: 1)
        }
        return selector.matchers
    }

    /// A duration as Prometheus prints one (`model.Duration.String`): `1h30m`, `15s`, `500ms`, `0s`.
    public static func formatDuration(_ ms: Int64) -> String { AST.duration(ms) }

    private static func quoted(_ s: String) -> String { AST.quote(s.count > 80 ? String(s.prefix(80)) + "…" : s) }
}

extension LabelMatcher {
    /// Whether `labels` satisfy this matcher (an absent label reads as the empty value).
    public func matches(_ labels: Labels) -> Bool {
        matches(labels.value(of: nameBytes) ?? [])
    }

    /// Whether this matcher accepts a series that lacks its label (`{x=""}`, `{x=~".*"}`).
    public var matchesEmptyValue: Bool { matchesEmpty }
}

/// A series as selectors see it: a stored series, or one of the `_count` and `_sum` views of a
/// distribution (which queries read as counters named `<name>_count` and `<name>_sum`).
public struct SelectedSeriesLabels: Sendable {
    public var ref: SeriesRef
    /// The labels a query shows for it (a view's `__name__` carries its suffix).
    public var labels: Labels
    public var kind: SeriesKind
}

/// Which series match a set of label matchers, by the store's index: what `/api/v1/series`,
/// `/api/v1/labels` and `/federate` select, with the names queries give them.
public enum SeriesSelection {
    /// The series (and distribution views) `matchers` select, in store order. A distribution
    /// `x` is offered as `x`, `x_count` and `x_sum`, each matched by its own labels.
    ///
    /// - Complexity: the smallest of the name's and the equality matchers' postings lists when a
    ///   name or an equality matcher is given; every series otherwise.
    public static func select(_ matchers: [LabelMatcher], in reader: StoreReader) -> [SelectedSeriesLabels] {
        var out: [SelectedSeriesLabels] = []
        func offer(_ ref: SeriesRef) {
            guard let labels = reader.labels(of: ref), let kind = reader.kind(of: ref) else { return }
            if matchesAll(matchers, labels) { out.append(SelectedSeriesLabels(ref: ref, labels: labels, kind: kind)) }
            guard kind == .distribution, let name = labels.metricName else { return }
            for suffix in ["_count", "_sum"] {
                let view = labels.setting(Labels.metricName, to: name + suffix)
                if matchesAll(matchers, view) { out.append(SelectedSeriesLabels(ref: ref, labels: view, kind: .counter)) }
            }
        }
        // Candidates: the postings of the most selective equality matcher on a non-empty value.
        var candidates: [SeriesRef]? = nil
        var best = Int.max
        for m in matchers where m.op == .equal && !m.value.isEmpty {
            let n = m.name == Labels.metricName ? reader.seriesCount(named: m.value) : reader.seriesCount(withLabel: m.name, equalTo: m.value)
            if n < best {
                best = n
                candidates = m.name == Labels.metricName ? reader.series(named: m.value) : reader.series(withLabel: m.name, equalTo: m.value)
            }
        }
        guard var refs = candidates else {
            for ref in reader.allSeries() { offer(ref) }
            return out
        }
        // A name matcher `x_count`/`x_sum` may mean a distribution `x`'s view, which the name's
        // postings do not hold.
        if let name = matchers.first(where: { $0.name == Labels.metricName && $0.op == .equal })?.value {
            for suffix in ["_count", "_sum"] where name.hasSuffix(suffix) {
                refs += reader.series(named: String(name.dropLast(suffix.count))).filter { reader.kind(of: $0) == .distribution }
            }
        }
        for ref in refs { offer(ref) }
        return out
    }

    /// Whether `labels` satisfy every matcher.
    public static func matchesAll(_ matchers: [LabelMatcher], _ labels: Labels) -> Bool {
        for m in matchers where !m.matches(labels) { return false }
        return true
    }
}
