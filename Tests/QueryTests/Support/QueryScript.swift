import Query
import TimeSeries

/// A compact script of loads and evaluations, in the manner of Prometheus's promqltest files, so
/// that the specification of each function reads as data:
///
/// ```
/// load 1m
///   http_requests_total{path="/"} 0+10x10
///   distribution latency_ms{route="/a"} 1 2 3
/// eval instant at 5m rate(http_requests_total[5m])
///   {path="/"} 0.16666666666666666
/// eval_ordered instant at 5m sort(x)        (order matters)
/// eval_fail instant at 5m a / b
///   multiple matches for labels            (a substring of the error)
/// clear
/// ```
/// Expected lines are `labels value` (labels in series notation; a bare value is a scalar).
struct QueryScript {
    struct Failure: CustomStringConvertible {
        var line: Int
        var message: String
        var description: String { "script line \(line): \(message)" }
    }

    static func run(_ text: String) -> [Failure] {
        var failures: [Failure] = []
        var series: [InputSeries] = []
        var interval: Milliseconds = 60_000
        var engine: Engine? = nil
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var i = 0
        func fail(_ line: Int, _ message: String) { failures.append(Failure(line: line + 1, message: message)) }
        func isIndented(_ s: String) -> Bool { s.hasPrefix(" ") || s.hasPrefix("\t") }
        func trimmed(_ s: String) -> String {
            var t = Substring(s)
            while let f = t.first, f == " " || f == "\t" { t.removeFirst() }
            while let l = t.last, l == " " || l == "\t" { t.removeLast() }
            return String(t)
        }
        while i < lines.count {
            let line = trimmed(lines[i])
            if line.isEmpty || line.hasPrefix("#") {
                i += 1
                continue
            }
            if line == "clear" {
                series = []
                engine = nil
                i += 1
                continue
            }
            if line.hasPrefix("load ") {
                guard let ms = Self.duration(String(line.dropFirst(5))) else {
                    fail(i, "bad load interval")
                    return failures
                }
                interval = ms
                i += 1
                while i < lines.count, isIndented(lines[i]), !trimmed(lines[i]).isEmpty {
                    var entry = trimmed(lines[i])
                    var kind: SeriesKind? = nil
                    for (word, k) in [("distribution ", SeriesKind.distribution), ("counter ", .counter), ("gauge ", .gauge)] where entry.hasPrefix(word) {
                        kind = k
                        entry.removeFirst(word.count)
                    }
                    // The series description ends at the first space outside braces and quotes.
                    let (description, values) = Self.splitSeries(entry)
                    do {
                        series.append(try InputSeries(series: description, values: values, kind: kind))
                    } catch {
                        fail(i, "bad series: \(error)")
                    }
                    i += 1
                }
                engine = nil
                continue
            }
            let isFail = line.hasPrefix("eval_fail instant at ")
            let isOrdered = line.hasPrefix("eval_ordered instant at ")
            guard line.hasPrefix("eval instant at ") || isFail || isOrdered else {
                fail(i, "unknown command: \(line)")
                i += 1
                continue
            }
            let rest = String(line.drop(while: { $0 != " " }).dropFirst().dropFirst("instant at ".count))
            let timeText = String(rest.prefix { $0 != " " })
            let expr = String(rest.dropFirst(timeText.count + 1))
            let commandLine = i
            i += 1
            var expectedLines: [(Int, String)] = []
            while i < lines.count, isIndented(lines[i]), !trimmed(lines[i]).isEmpty {
                expectedLines.append((i, trimmed(lines[i])))
                i += 1
            }
            guard let time = Self.duration(timeText) else {
                fail(commandLine, "bad time \(timeText)")
                continue
            }
            if engine == nil {
                do {
                    engine = Engine(store: try TestStore.make(series, interval: interval))
                } catch {
                    fail(commandLine, "cannot load: \(error)")
                    return failures
                }
            }
            let result: QueryValue
            do {
                result = try engine!.instant(try PromQL.parse(expr), at: time)
            } catch {
                if isFail {
                    for (_, e) in expectedLines where !error.description.contains(e) {
                        fail(commandLine, "\(expr): error \"\(error)\" does not contain \"\(e)\"")
                    }
                } else {
                    fail(commandLine, "\(expr): unexpected error \(error)")
                }
                continue
            }
            if isFail {
                fail(commandLine, "\(expr): expected an error, got \(result)")
                continue
            }
            var expected: [VectorSample] = []
            for (n, e) in expectedLines {
                guard let space = e.lastIndex(of: " ") ?? (e.isEmpty ? nil : e.startIndex) else { continue }
                let labelsText = space == e.startIndex ? "" : String(e[..<space])
                let valueText = space == e.startIndex ? e : String(e[e.index(after: space)...])
                guard let value = Self.number(valueText) else {
                    fail(n, "bad expected value \(valueText)")
                    continue
                }
                do {
                    expected.append(VectorSample(labels: try ExpectedSample(labels: labelsText, value: value).labels, value: value))
                } catch {
                    fail(n, "bad expected labels: \(error)")
                }
            }
            var got: [VectorSample]
            switch result {
            case .scalar(let v, _): got = [VectorSample(labels: Labels(), value: v)]
            case .vector(let v, _): got = v
            default:
                fail(commandLine, "\(expr): result is a \(result.resultType)")
                continue
            }
            if !isOrdered {
                expected.sort { $0.labels.encoded.lexicographicallyPrecedes($1.labels.encoded) }
                got.sort { $0.labels.encoded.lexicographicallyPrecedes($1.labels.encoded) }
            }
            if ExpressionTester.mismatch(expected: expected, got: got) != nil {
                fail(commandLine, "\(expr) at \(timeText)\n    exp: \(ExpressionTester.describe(expected))\n    got: \(ExpressionTester.describe(got))")
            }
        }
        return failures
    }

    static func splitSeries(_ entry: String) -> (String, String) {
        var depth = 0
        var quoted = false
        var previous: Character = " "
        for (offset, c) in entry.enumerated() {
            if c == "\"" && previous != "\\" { quoted.toggle() }
            if !quoted {
                if c == "{" { depth += 1 }
                if c == "}" { depth -= 1 }
                if c == " " && depth == 0 {
                    return (String(entry.prefix(offset)), String(entry.dropFirst(offset + 1)))
                }
            }
            previous = c
        }
        return (entry, "")
    }

    static func duration(_ text: String) -> Milliseconds? {
        if text == "0" { return 0 }
        if let ms = PromQL.parseDuration(text) { return ms }
        return nil
    }

    static func number(_ text: String) -> Double? {
        switch text {
        case "NaN": return .nan
        case "Inf", "+Inf": return .infinity
        case "-Inf": return -.infinity
        default: return Double(text)
        }
    }
}
