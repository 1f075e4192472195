public import TimeSeries

/// One value of an input series in promtool's notation.
public enum SeriesValue: Sendable, Equatable {
    /// A sample.
    case value(Double)
    /// No sample at this step (`_`).
    case missing
    /// A staleness marker (`stale`): the series ends here.
    case stale
}

/// promtool's series notation: `name{label="value"}` for the series and an expanding list of
/// values, one per evaluation interval starting at time 0:
///
/// - `1 2 3` — literal values (also `-1`, `1e3`, `Inf`, `-Inf`, `NaN`);
/// - `a+bxN` / `a-bxN` — N+1 values: a, a±b, …, a±N·b (`0+10x3` is `0 10 20 30`);
/// - `axN` — N+1 copies of a (`0x3` is four zeros: as in Prometheus's lexer, a series description
///   has no hexadecimal numbers, so `x` always introduces a repeat count);
/// - `_` — no sample; `_xN` — N steps without samples;
/// - `stale` — a staleness marker.
///
/// Independent of any file format: the rule-test YAML reader hands the strings to these functions.
public enum SeriesNotation {
    /// Most values one series may expand to (a typo such as `0+1x100000000` must not eat memory).
    public static let maxValues = 1_000_000

    /// Expands a values string.
    public static func parseValues(_ text: String) throws(QueryError) -> [SeriesValue] {
        var out: [SeriesValue] = []
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D { i += 1 }
            guard i < bytes.count else { break }
            let start = i
            while i < bytes.count, !(bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D) { i += 1 }
            let item = String(decoding: bytes[start..<i], as: UTF8.self)
            func fail(_ message: String) -> QueryError {
                let (line, column) = Source(bytes: bytes).lineColumn(of: start)
                return QueryError(kind: .parse, message: "\(message) in series values: \"\(item)\"", range: start..<i, line: line, column: column)
            }
            if item.hasPrefix("{{") {
                throw fail("native histogram notation ({{schema:… buckets:[…]}}) is not supported: the agent keeps float samples")
            }
            try expand(item, into: &out, fail: fail)
            if out.count > maxValues { throw fail("more than \(maxValues) values") }
        }
        return out
    }

    private static func expand(_ item: String, into out: inout [SeriesValue], fail: (String) -> QueryError) throws(QueryError) {
        // Split off a trailing "xN" (N digits) when there is one.
        var body = Substring(item)
        var times: Int? = nil
        if let x = item.lastIndex(of: "x"), x != item.startIndex {
            let digits = item[item.index(after: x)...]
            let head = item[..<x]
            if !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) {
                guard let n = Int(digits), n <= maxValues else { throw fail("repeat count too large") }
                times = n
                body = head
            }
        }
        if body == "_" {
            for _ in 0..<(times ?? 1) { out.append(.missing) }
            return
        }
        if body == "stale" {
            guard times == nil else { throw fail("stale cannot be repeated") }
            out.append(.stale)
            return
        }
        // a+b or a-b: the sign that is not the first character and does not follow an exponent mark.
        var split: String.Index? = nil
        var k = body.index(after: body.startIndex)
        while k < body.endIndex {
            let c = body[k]
            let previous = body[body.index(before: k)]
            if (c == "+" || c == "-") && previous != "e" && previous != "E" {
                split = k
                break
            }
            k = body.index(after: k)
        }
        if let split {
            guard let times else { throw fail("an increment needs a repeat count (a+bxN)") }
            guard let a = number(body[..<split]), let b = number(body[split...]) else { throw fail("bad number") }
            var v = a
            out.append(.value(v))
            if times > 0 {
                for _ in 1...times {
                    v += b
                    out.append(.value(v))
                }
            }
            return
        }
        guard let v = number(body) else { throw fail("bad number") }
        for _ in 0...(times ?? 0) { out.append(.value(v)) }
    }

    static func number(_ s: Substring) -> Double? {
        switch s.lowercased() {
        case "inf", "+inf": return .infinity
        case "-inf": return -.infinity
        case "nan": return .nan
        default:
            var text = String(s)
            var sign = 1.0
            if text.hasPrefix("+") { text.removeFirst() } else if text.hasPrefix("-") {
                text.removeFirst()
                sign = -1
            }
            // No hexadecimal here: Prometheus's lexer reads `0x1f` in a series description as `0`, `x`, `1f`.
            guard !text.isEmpty, text.first != "+", text.first != "-", !text.contains(where: { $0 == "x" || $0 == "X" }) else { return nil }
            return Lexer.numberValue(text).map { sign * $0 }
        }
    }

    /// The label set of a series description such as `http_requests_total{job="api", code="200"}`.
    public static func parseSeries(_ text: String) throws(QueryError) -> Labels {
        let expr = try PromQL.parse(text)
        guard case .vectorSelector(let sel) = expr, sel.offset == 0, sel.at == nil else {
            throw QueryError(kind: .parse, message: "a series is a metric name with optional labels, e.g. up{job=\"api\"}; got \(text)")
        }
        var pairs: [(String, String)] = []
        for m in sel.matchers {
            guard m.op == .equal else {
                throw QueryError(kind: .parse, message: "a series gives label values with =, not \(m.op.rawValue): \(text)")
            }
            pairs.append((m.name, m.value))
        }
        return Labels(pairs)
    }
}
