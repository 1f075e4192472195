#if canImport(FoundationEssentials)
import TextRendering
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Query
import TimeSeries

extension RuleTestResult {
    /// What `agent test rules` prints for this file: one line when it passed; otherwise every
    /// failure with the expected and the actual alerts or samples side by side, lines that differ
    /// marked with `≠`.
    public func report(width: Int = 120) -> String {
        if !loadErrors.isEmpty {
            return "\(path): FAILED to load the rule files\n" + loadErrors.map { "  " + $0 }.joined(separator: "\n")
        }
        if passed {
            return "\(path): PASS, \(count(testCount, "test")) (\(count(alertChecks, "alert check")), \(count(exprChecks, "expression check")))"
        }
        var out = "\(path): FAIL, \(failedTests) of \(count(testCount, "test")) failed"
        for f in failures { out += "\n" + f.report(width: width) }
        return out
    }

    func count(_ n: Int, _ word: String) -> String { n == 1 ? "1 \(word)" : "\(n) \(word)s" }
}

extension RuleTestFailure {
    /// The failure as readable text, expected on the left and actual on the right.
    public func report(width: Int = 100) -> String {
        let head = "  \(test) (\(location))"
        switch kind {
        case .error(let message):
            return head + ": " + message
        case .exprError(let index, let expr, let evalTime, let message):
            return head + ", promql_expr_test \(index): expr \(GoFormat.quote(expr)) at \(PrometheusDuration.format(evalTime)) failed: \(message)"
        case .alerts(let index, let alertname, let evalTime, let expected, let got):
            let title = head + ", alert_rule_test \(index): firing alerts of \(alertname) at \(PrometheusDuration.format(evalTime))"
            let pairs = Self.pair(expected, got)
            var left: [String] = []
            var right: [String] = []
            var differs: [Bool] = []
            func row(_ l: String, _ r: String, _ d: Bool) {
                left.append(l)
                right.append(r)
                differs.append(d)
            }
            for (k, pair) in pairs.enumerated() {
                if k > 0 { row("", "", false) }
                let e = pair.0, g = pair.1
                row(e == nil ? "(no alert)" : "alert", g == nil ? "(no alert)" : "alert", (e == nil) != (g == nil))
                Self.rows(e?.labels, g?.labels, indent: "  ", row)
                if !(e?.annotations.isEmpty ?? true) || !(g?.annotations.isEmpty ?? true) {
                    row(e == nil ? "" : "  annotations:", g == nil ? "" : "  annotations:", false)
                    Self.rows(e?.annotations, g?.annotations, indent: "    ", row)
                }
            }
            return title + "\n" + Self.columns(
                header: ("expected: \(count(expected.count, "alert"))", "got: \(count(got.count, "alert"))"),
                left: left, right: right, differs: differs, width: width)
        case .samples(let index, let expr, let evalTime, let expected, let got):
            let title = head + ", promql_expr_test \(index): \(GoFormat.quote(expr)) at \(PrometheusDuration.format(evalTime))"
            var left: [String] = [], right: [String] = [], differs: [Bool] = []
            var e = 0, g = 0
            while e < expected.count || g < got.count {
                let el = e < expected.count ? expected[e] : nil
                let gl = g < got.count ? got[g] : nil
                if let el, let gl, el.labels == gl.labels {
                    left.append(Self.sample(el))
                    right.append(Self.sample(gl))
                    differs.append(!RuleTestRunner.valuesMatch(el.value, gl.value, fuzzy: false))
                    e += 1
                    g += 1
                } else if let el, gl == nil || el.labels.encoded.lexicographicallyPrecedes(gl!.labels.encoded) {
                    left.append(Self.sample(el))
                    right.append("")
                    differs.append(true)
                    e += 1
                } else if let gl {
                    left.append("")
                    right.append(Self.sample(gl))
                    differs.append(true)
                    g += 1
                }
            }
            if left.isEmpty {
                left.append("(nothing)")
                right.append("(nothing)")
                differs.append(false)
            }
            return title + "\n" + Self.columns(
                header: ("expected: \(count(expected.count, "sample"))", "got: \(count(got.count, "sample"))"),
                left: left, right: right, differs: differs, width: width)
        }
    }

    func count(_ n: Int, _ word: String) -> String { n == 1 ? "1 \(word)" : "\(n) \(word)s" }

    static func sample(_ s: VectorSample) -> String {
        "\(s.labels) \(PrometheusFormat.sampleValue(s.value))"
    }

    /// Label lines of two label sets, aligned by name.
    static func rows(_ a: Labels?, _ b: Labels?, indent: String, _ row: (String, String, Bool) -> Void) {
        var names: [String] = []
        for l in (a?.labels ?? []) + (b?.labels ?? []) where !names.contains(l.name) { names.append(l.name) }
        names.sort()
        for n in names {
            let av = a?[n], bv = b?[n]
            row(av.map { "\(indent)\(n)=\(GoFormat.quote($0))" } ?? "", bv.map { "\(indent)\(n)=\(GoFormat.quote($0))" } ?? "", av != bv)
        }
    }

    /// Pairs expected and actual alerts: identical ones first, then the closest (most shared labels).
    static func pair(_ expected: [AlertSummary], _ got: [AlertSummary]) -> [(AlertSummary?, AlertSummary?)] {
        var remaining = got
        var pairs: [(AlertSummary?, AlertSummary?)] = []
        var unmatched: [AlertSummary] = []
        for e in expected {
            if let i = remaining.firstIndex(of: e) {
                pairs.append((e, remaining.remove(at: i)))
            } else {
                unmatched.append(e)
            }
        }
        for e in unmatched {
            let scored = remaining.enumerated().map { (i, g) -> (Int, Int) in
                (i, g.labels.labels.filter { e.labels[$0.name] == $0.value }.count)
            }
            if let best = scored.max(by: { $0.1 < $1.1 }) {
                pairs.append((e, remaining.remove(at: best.0)))
            } else {
                pairs.append((e, nil))
            }
        }
        for g in remaining { pairs.append((nil, g)) }
        return pairs
    }

    /// Two columns, `≠` in the gutter where the sides differ. When a line does not fit its column,
    /// the expected and the actual lines are printed one block after the other instead (same
    /// marks): each block has its own side's lines only, since a line one side lacks is marked on
    /// the other.
    static func columns(header: (String, String), left: [String], right: [String], differs: [Bool], width: Int) -> String {
        let columnWidth = max(24, (width - 9) / 2)
        let widest = max(header.0.count, header.1.count, left.map(\.count).max() ?? 0, right.map(\.count).max() ?? 0)
        if widest > columnWidth {
            var out = "      " + header.0
            for i in left.indices where !left[i].isEmpty {
                out += "\n    " + (differs[i] ? "≠ " : "  ") + "  " + left[i]
            }
            out += "\n      " + header.1
            for i in right.indices where !right[i].isEmpty {
                out += "\n    " + (differs[i] ? "≠ " : "  ") + "  " + right[i]
            }
            return out
        }
        let w = max(header.0.count, left.map(\.count).max() ?? 0)
        func fit(_ s: String) -> String { s + String(repeating: " ", count: max(0, w - s.count)) }
        var out = "      " + fit(header.0) + " │ " + header.1 + "\n"
        out += "      " + String(repeating: "─", count: w) + "─┼─" + String(repeating: "─", count: max(header.1.count, right.map(\.count).max() ?? 0))
        for i in left.indices {
            out += "\n    " + (differs[i] ? "≠ " : "  ") + fit(left[i]) + " │ " + right[i]
        }
        return out
    }
}

extension RuleTestResult {
    /// Only what differs, one line per alert or sample: `-` the expectation, `+` what came
    /// (`agent test rules --diff`, as promtool's `--diff` shows only the differences).
    public func diff() -> String {
        if !loadErrors.isEmpty || passed { return report() }
        var out = "\(path): FAIL, \(failedTests) of \(count(testCount, "test")) failed"
        for f in failures { out += "\n" + f.diff() }
        return out
    }

    /// promtool's JUnit XML (`--junit FILE`) for the results of several files: a `testsuite` per
    /// file, a `testcase` per test, a `failure` per failed check, an `error` when the file could not run.
    public static func junitXML(_ results: [RuleTestResult], timestamp: String) -> String {
        var out = "<testsuites>"
        for r in results {
            let failureCount = r.failures.count
            let errorCount = r.loadErrors.isEmpty ? 0 : 1
            let caseCount = r.loadErrors.isEmpty ? r.tests.count : 1
            out += "<testsuite name=\"\(xmlEscaped(r.path))\" tests=\"\(caseCount)\" failures=\"\(failureCount)\" errors=\"\(errorCount)\" skipped=\"0\" timestamp=\"\(xmlEscaped(timestamp))\">"
            if !r.loadErrors.isEmpty {
                out += "<testcase name=\"unknown\"><error>\(xmlEscaped(r.loadErrors.joined(separator: "\n")))</error></testcase>"
            }
            var remaining = r.failures[...]
            for test in r.tests {
                out += "<testcase name=\"\(xmlEscaped(test.name))\">"
                for _ in 0..<test.failures {
                    guard let f = remaining.popFirst() else { break }
                    out += "<failure>\(xmlEscaped(f.report()))</failure>"
                }
                out += "</testcase>"
            }
            out += "</testsuite>"
        }
        return out + "</testsuites>"
    }

    /// Go's `xml.EscapeText`: the five characters `html` escapes, and tab, newline and carriage return.
    static func xmlEscaped(_ s: String) -> String {
        TemplateFunctions.htmlEscape(s).replacingScalars(of: "\t", with: "&#x9;").replacingScalars(of: "\n", with: "&#xA;")
            .replacingScalars(of: "\r", with: "&#xD;")
    }
}

extension RuleTestFailure {
    /// The failure's differing alerts or samples only, `-` expected and `+` got.
    public func diff() -> String {
        let head = "  \(test) (\(location))"
        switch kind {
        case .error, .exprError:
            return report()
        case .alerts(let index, let alertname, let evalTime, let expected, let got):
            var out = head + ", alert_rule_test \(index): firing alerts of \(alertname) at \(PrometheusDuration.format(evalTime))"
            for (e, g) in Self.pair(expected, got) where e != g {
                if let e { out += "\n    - " + Self.line(e) }
                if let g { out += "\n    + " + Self.line(g) }
            }
            return out
        case .samples(let index, let expr, let evalTime, let expected, let got):
            var out = head + ", promql_expr_test \(index): \(GoFormat.quote(expr)) at \(PrometheusDuration.format(evalTime))"
            let gotByLabels = Dictionary(got.map { ($0.labels, $0.value) }, uniquingKeysWith: { a, _ in a })
            let expectedByLabels = Dictionary(expected.map { ($0.labels, $0.value) }, uniquingKeysWith: { a, _ in a })
            for e in expected where gotByLabels[e.labels].map({ !RuleTestRunner.valuesMatch($0, e.value, fuzzy: false) }) ?? true {
                out += "\n    - " + Self.sample(e)
                if let g = gotByLabels[e.labels] { out += "\n    + " + Self.sample(VectorSample(labels: e.labels, value: g)) }
            }
            for g in got where expectedByLabels[g.labels] == nil { out += "\n    + " + Self.sample(g) }
            return out
        }
    }

    static func line(_ a: AlertSummary) -> String {
        a.annotations.isEmpty ? "\(a.labels)" : "\(a.labels) annotations \(a.annotations)"
    }
}
