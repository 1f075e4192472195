import JSON
public import TimeSeries

/// An expected sample of a `promql_expr_test`: labels in series notation and a value.
public struct ExpectedSample: Sendable {
    public var labels: Labels
    public var value: Double

    public init(labels: Labels, value: Double) {
        self.labels = labels
        self.value = value
    }

    /// From promtool's form: `labels: 'up{job="api"}'` (or `{}` for a scalar), `value: 1`.
    public init(labels text: String, value: Double) throws(QueryError) {
        let trimmed = text.trimmingSpaces
        labels = trimmed.isEmpty || trimmed == "{}" ? Labels() : try SeriesNotation.parseSeries(trimmed)
        self.value = value
    }
}

/// One `promql_expr_test`: an expression, the time to evaluate it at (from the start of the
/// input) and the samples it must return.
public struct ExpressionTestCase: Sendable {
    public var expr: String
    public var evalTime: Milliseconds
    public var expected: [ExpectedSample]

    public init(expr: String, evalTime: Milliseconds, expected: [ExpectedSample]) {
        self.expr = expr
        self.evalTime = evalTime
        self.expected = expected
    }
}

/// Runs expression tests against an engine and compares as promtool does: both sides sorted by
/// labels, a scalar counting as one sample with no labels, and each failure described in
/// promtool's words (`expr: "…", time: 1m0s, exp: … got: …`).
///
/// Values compare equal when they are within a relative 1e-9 of each other (promtool compares
/// exactly; the tolerance only forgives the last bits of floating-point noise), or both NaN.
public enum ExpressionTester {
    /// Failure messages of the cases that did not pass (empty when all passed).
    public static func run(_ cases: [ExpressionTestCase], engine: Engine, start: Timestamp = 0) -> [String] {
        var failures: [String] = []
        for c in cases {
            if let failure = run(c, engine: engine, start: start) { failures.append(failure) }
        }
        return failures
    }

    /// The failure message of one case, or nil when it passed.
    public static func run(_ c: ExpressionTestCase, engine: Engine, start: Timestamp = 0) -> String? {
        let time = goDuration(c.evalTime)
        let value: QueryValue
        do {
            value = try engine.instant(try PromQL.parse(c.expr), at: start + c.evalTime)
        } catch {
            return "    expr: \(goQuote(c.expr)), time: \(time), err: \(error)"
        }
        let got = samples(of: value)
        let expected = c.expected.map { VectorSample(labels: $0.labels, value: $0.value) }
            .sorted { $0.labels.encoded.lexicographicallyPrecedes($1.labels.encoded) }
        if let problem = mismatch(expected: expected, got: got) {
            return "    expr: \(goQuote(c.expr)), time: \(time),\(problem)\n        exp: \(describe(expected))\n        got: \(describe(got))"
        }
        return nil
    }

    /// The samples of a result, sorted by labels (a scalar is one sample without labels).
    public static func samples(of value: QueryValue) -> [VectorSample] {
        switch value {
        case .scalar(let v, _): return [VectorSample(labels: Labels(), value: v)]
        case .vector(let v, _): return v.sorted { $0.labels.encoded.lexicographicallyPrecedes($1.labels.encoded) }
        case .string, .matrix: return []
        }
    }

    /// Nil when `got` matches `expected` (both sorted by labels), else a short note.
    public static func mismatch(expected: [VectorSample], got: [VectorSample]) -> String? {
        guard expected.count == got.count else { return "" }
        for (e, g) in zip(expected, got) {
            if e.labels != g.labels || !valuesEqual(e.value, g.value) { return "" }
        }
        return nil
    }

    /// Equal within a relative 1e-9, or both NaN.
    public static func valuesEqual(_ a: Double, _ b: Double) -> Bool {
        if a.isNaN || b.isNaN { return a.isNaN && b.isNaN }
        if a == b { return true }
        if a.isInfinite || b.isInfinite { return false }
        return abs(a - b) <= 1e-9 * max(abs(a), abs(b))
    }

    /// `{__name__="up", job="api"} 1E+00, …` or `nil`, as promtool prints sample lists.
    public static func describe(_ samples: [VectorSample]) -> String {
        guard !samples.isEmpty else { return "nil" }
        return samples.map { braces($0.labels) + " " + goExponent($0.value) }.joined(separator: ", ")
    }

    static func braces(_ labels: Labels) -> String {
        "{" + labels.labels.map { "\($0.name)=\(AST.quote($0.value))" }.joined(separator: ", ") + "}"
    }

    /// Go's `strconv.FormatFloat(v, 'E', -1, 64)`.
    static func goExponent(_ v: Double) -> String {
        v.isFinite ? GoFloat.exponentText(v).replacing("e", with: "E") : GoFloat.exponentText(v)
    }

    /// Go's `time.Duration.String()` for whole milliseconds: `0s`, `500ms`, `1m0s`, `1h30m0s`, `1.5s`.
    public static func goDuration(_ ms: Milliseconds) -> String {
        if ms == 0 { return "0s" }
        let negative = ms < 0
        let m = ms.magnitude
        if m < 1000 { return (negative ? "-" : "") + "\(m)ms" }
        let hours = m / 3_600_000
        let minutes = m / 60_000 % 60
        let seconds = m / 1000 % 60
        let fraction = m % 1000
        var s = "\(seconds)"
        if fraction != 0 {
            var f = String(fraction)
            f = String(repeating: "0", count: 3 - f.count) + f
            while f.hasSuffix("0") { f.removeLast() }
            s += "." + f
        }
        s += "s"
        var out = negative ? "-" : ""
        if hours > 0 { out += "\(hours)h\(minutes)m" } else if minutes > 0 { out += "\(minutes)m" }
        return out + s
    }

    static func goQuote(_ s: String) -> String { AST.quote(s) }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\n" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\n" { s.removeLast() }
        return String(s)
    }
}
