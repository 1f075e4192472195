/// The two text exposition formats a scrape body can be in.
public enum ExpositionFormat: Sendable, Hashable, CustomStringConvertible {
    /// Prometheus text format 0.0.4 (`text/plain; version=0.0.4`).
    case prometheusText
    /// OpenMetrics 1.0 (`application/openmetrics-text; version=1.0.0`).
    case openMetrics

    /// What a scrape asks for, in the order of preference Prometheus uses.
    public static let acceptHeader =
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

    /// The format a `Content-Type` names; `fallback` when it is missing or names neither format.
    ///
    /// Servers that answer with `text/html` or no type at all are common enough (a reverse proxy, a
    /// hand-written endpoint) that Prometheus falls back to the text format instead of failing.
    public init(contentType: String?, fallback: ExpositionFormat = .prometheusText) {
        guard let contentType else {
            self = fallback
            return
        }
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first ?? ""
        switch mediaType.trimmingSpaces.lowercased() {
        case "application/openmetrics-text": self = .openMetrics
        case "text/plain": self = .prometheusText
        default: self = fallback
        }
    }

    public var description: String {
        switch self {
        case .prometheusText: "prometheus"
        case .openMetrics: "openmetrics"
        }
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while let first = s.first, first == " " || first == "\t" { s.removeFirst() }
        while let last = s.last, last == " " || last == "\t" { s.removeLast() }
        return s
    }
}
