import TextRendering
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import HTTPServing
import Query
import TimeSeries
import YAMLSupport

/// `/graph?expr=…&range=…[&end=…]`: a query box, a line chart of the expression over the range
/// and a table of its series. The URL holds the whole view, so it can be bookmarked and shared.
///
/// A bare selector of distribution series (a log field's values) is drawn as its quantiles: the
/// median as the line, 25–75 % and 5–95 % as bands, each from the sketches of one step's slots
/// (`quantile_over_time(q, sel[step])`), so the bands are within the sketch's accuracy.
///
/// Runs on the query lane: the queries stop at the request's deadline, and take the store's lock
/// once per step each; rendering happens after.
extension Daemon {
    struct GraphSnapshot {
        var expression: String
        var range: Milliseconds
        /// The end the URL fixed, nil for now.
        var fixedEnd: Timestamp?
        var start: Timestamp, end: Timestamp, step: Milliseconds
        var unit: ValueUnit
        var series: [GraphSeries] = []
        var isDistribution = false
        var problem: String?
        var warnings: [String] = []
        /// Metric names to start from, when there is no expression.
        var metricNames: [String] = []
        var now: Timestamp
        /// How long the range queries took (what `/api/v1/query_range` pays for the same).
        var queryTime: Duration?
    }

    struct GraphSeries {
        var labels: Labels
        /// Values on the grid (NaN: none); for a distribution, the median.
        var values: [Double]
        /// Distributions: 5 %, 25 %, 75 %, 95 % quantiles on the grid.
        var quantiles: [Double: [Double]] = [:]
    }

    static let graphRanges: [(String, Milliseconds)] = [
        ("5m", 300_000), ("15m", 900_000), ("30m", 1_800_000), ("1h", 3_600_000), ("3h", 10_800_000), ("6h", 21_600_000),
        ("12h", 43_200_000), ("1d", 86_400_000), ("2d", 172_800_000), ("1w", 604_800_000),
    ]
    /// About this many points per line: more than a chart shows at 1600 px, few enough to stay fast.
    static let graphPoints: Int64 = 240
    /// The chart draws at most this many lines (the table lists up to `graphTableRows`).
    static let graphLines = 100
    static let graphTableRows = 1_000
    static let bandQuantiles: [Double] = [0.05, 0.25, 0.5, 0.75, 0.95]

    func graphSnapshot(_ request: Request) -> GraphSnapshot {
        let now = clock()
        var s = GraphSnapshot(expression: "", range: 3_600_000, start: now - 3_600_000, end: now, step: 15_000, unit: .none, now: now)
        let form: FormValues
        do {
            form = try request.form()
        } catch {
            s.problem = "The address is not valid form encoding: \(error.message)"
            return s
        }
        // Prometheus's own graph links (`g0.expr`, `g0.range_input`): what an alert's generatorURL
        // points at, so a link from a notification opens its expression here.
        s.expression = form["expr"] ?? form["g0.expr"] ?? ""
        do throws(APIError) {
            if let r = try APIParameters.duration(form, form["range"] == nil && form["g0.range_input"] != nil ? "g0.range_input" : "range") { s.range = min(max(r, 60_000), 60 * 86_400_000) }
            s.fixedEnd = try APIParameters.time(form, "end").map(Daemon.evaluationTime)
        } catch {
            s.problem = error.message
            return s
        }
        let resolution = max(config.global.store.resolution, 1)
        s.step = max(resolution, (s.range / Self.graphPoints + resolution - 1) / resolution * resolution)
        s.end = (s.fixedEnd ?? now) / s.step * s.step
        s.start = s.end - s.range / s.step * s.step

        let text = s.expression.trimmingWhitespace(newlines: true)
        guard !text.isEmpty else {
            s.metricNames = store.read { r in
                var names = Set<String>()
                for ref in r.allSeries() { if let n = r.labels(of: ref)?.metricName { names.insert(n) } }
                return names.sorted()
            }
            return s
        }
        let expr: Expr
        do {
            expr = try PromQL.parse(text)
        } catch {
            s.problem = error.description
            return s
        }
        guard expr.type == .instantVector || expr.type == .scalar else {
            s.problem = "The expression is a \(expr.type); a graph needs an instant vector or a scalar (a range vector such as x[5m] goes inside a function: rate(x[5m]))."
            return s
        }
        s.unit = ValueUnit.of(expr) ?? .none
        let engine = engine(for: request, timeout: nil)
        let count = Int((s.end - s.start) / s.step) + 1
        let queryStarted = ContinuousClock.now
        do {
            if case .vectorSelector(let selector) = expr.unparenthesizedForUnit, let name = selector.name,
               store.read({ r in r.series(named: name).contains { r.kind(of: $0) == .distribution } }) {
                s.isDistribution = true
                var byLabels: [Labels: GraphSeries] = [:]
                for q in Self.bandQuantiles {
                    let query = try PromQL.parse("quantile_over_time(\(q), \(selector.description)[\(YAMLReader.formatDuration(s.step))])")
                    guard case .matrix(let found) = try engine.range(query, start: s.start, end: s.end, step: s.step) else { continue }
                    for series in found {
                        let values = grid(series.samples, start: s.start, step: s.step, count: count)
                        var entry = byLabels[series.labels] ?? GraphSeries(labels: series.labels, values: [])
                        if q == 0.5 { entry.values = values } else { entry.quantiles[q] = values }
                        byLabels[series.labels] = entry
                    }
                }
                s.series = byLabels.values.sorted { $0.labels.encoded.lexicographicallyPrecedes($1.labels.encoded) }
                // The median's name is the selector's: quantile_over_time drops the metric name.
                for i in s.series.indices { s.series[i].labels = s.series[i].labels.setting(Labels.metricName, to: name) }
            } else {
                switch try engine.range(expr, start: s.start, end: s.end, step: s.step) {
                case .matrix(let found):
                    s.series = found.map { GraphSeries(labels: $0.labels, values: grid($0.samples, start: s.start, step: s.step, count: count)) }
                case .scalar(let v, _):
                    s.series = [GraphSeries(labels: Labels(), values: Array(repeating: v, count: count))]
                case .vector(let v, _):
                    s.series = v.map { GraphSeries(labels: $0.labels, values: Array(repeating: $0.value, count: count)) }
                case .string:
                    break
                }
                // Warnings (a distribution read as a plain value, say) come from one instant evaluation at the end.
                var warnings: [String] = []
                _ = try? engine.instant(expr, at: s.end, cache: nil, warnings: &warnings)
                s.warnings = Array(Set(warnings)).sorted()
            }
        } catch {
            s.problem = error.description
        }
        s.queryTime = ContinuousClock.now - queryStarted
        return s
    }

    /// Samples laid on the grid `start + i × step` (a range query's samples are at grid times).
    func grid(_ samples: [Sample], start: Timestamp, step: Milliseconds, count: Int) -> [Double] {
        var out = [Double](repeating: .nan, count: count)
        for sample in samples {
            let offset = sample.timestamp - start
            guard offset >= 0, offset % step == 0 else { continue }
            let i = Int(offset / step)
            if i < count { out[i] = sample.value }
        }
        return out
    }
}

enum GraphPage {
    static func render(_ s: Daemon.GraphSnapshot, healthy: Bool) -> [UInt8] {
        let drawn = min(s.series.count, Daemon.graphLines)
        let points = s.series.first?.values.count ?? 0
        var h = HTML(capacity: 24 * 1024 + drawn * points * (s.isDistribution ? 60 : 20) + min(s.series.count, Daemon.graphTableRows) * 300)
        WebPage.begin(&h, section: .graph, title: s.expression.isEmpty ? "Graph" : "Graph: " + s.expression, healthy: healthy)
        h.raw("<h1>Graph</h1><form class=\"query\" method=\"get\" action=\"graph\" role=\"search\">")
        h.raw("<textarea id=\"expr\" name=\"expr\" rows=\"2\" spellcheck=\"false\" autocapitalize=\"off\" aria-label=\"PromQL expression\" placeholder=\"PromQL expression, e.g. sum by (route) (rate(http_requests_total[5m]))\">")
        h.text(s.expression)
        h.raw("</textarea><select name=\"range\" aria-label=\"Range\">")
        var listed = false
        for (label, ms) in Daemon.graphRanges {
            h.raw("<option")
            h.attribute("value", label)
            if ms == s.range {
                h.raw(" selected")
                listed = true
            }
            h.raw(">")
            h.text(label)
            h.raw("</option>")
        }
        if !listed {
            h.raw("<option selected")
            h.attribute("value", YAMLReader.formatDuration(s.range))
            h.raw(">")
            h.text(YAMLReader.formatDuration(s.range))
            h.raw("</option>")
        }
        h.raw("</select>")
        if let end = s.fixedEnd {
            h.raw("<input type=\"hidden\" name=\"end\"")
            h.attribute("value", PrometheusFormat.timestamp(end))
            h.raw(">")
        }
        h.raw("<button type=\"submit\">Run</button></form>")
        if s.fixedEnd != nil {
            h.raw("<p class=\"note\">Ending at ")
            h.time(s.end, now: s.now)
            h.raw(" · <a")
            h.attribute("href", "graph?" + query(expr: s.expression, range: s.range, end: nil))
            h.raw(">end now</a></p>")
        }

        if let problem = s.problem {
            h.problem(problem)
        } else if s.expression.trimmingWhitespace(newlines: true).isEmpty {
            h.raw("<p>Type an expression, or start from a metric:</p>")
            if s.metricNames.isEmpty { h.empty("The store holds no series yet.") }
            h.raw("<ul class=\"chips metrics\">")
            for name in s.metricNames.prefix(500) {
                h.raw("<li><a")
                h.attribute("href", "graph?" + query(expr: name, range: s.range, end: s.fixedEnd))
                h.raw(">")
                h.isolated(name)
                h.raw("</a></li>")
            }
            h.raw("</ul>")
        } else {
            for w in s.warnings {
                h.raw("<p class=\"note warning\">")
                h.text(w)
                h.raw("</p>")
            }
            h.raw("<p class=\"note\">")
            h.text("\(s.series.count) series · \(WebFormat.time(s.start)) to \(WebFormat.time(s.end)) · a point every \(YAMLReader.formatDuration(s.step))")
            if s.isDistribution { h.text(" · distributions: the median, 25–75 % and 5–95 % bands per step") }
            if s.series.count > drawn { h.text(" · the chart shows the first \(drawn); narrow the expression to see the others") }
            h.raw("</p>")
            if s.series.isEmpty {
                h.empty("No data in this range.")
            } else {
                let lines = s.series.prefix(drawn).enumerated().map { i, series in
                    var line = LineChart.Line(values: series.values, rowID: "s\(i)")
                    if s.isDistribution, let p5 = series.quantiles[0.05], let p95 = series.quantiles[0.95],
                       let p25 = series.quantiles[0.25], let p75 = series.quantiles[0.75] {
                        line.bands = [(p5, p95), (p25, p75)]
                    }
                    return line
                }
                LineChart(start: s.start, step: s.step, count: points, lines: lines, unit: s.unit).write(into: &h)
                table(s, drawn: drawn, into: &h)
            }
        }
        WebPage.end(&h, now: s.now)
        return h.bytes
    }

    /// The legend and the values: one row per series (the first `drawn` with their colour).
    static func table(_ s: Daemon.GraphSnapshot, drawn: Int, into h: inout HTML) {
        h.raw("<div class=\"scroll\"><table class=\"legend\"><caption>")
        h.text(s.isDistribution ? "Quantiles in the last step" : "Values over the range")
        if !s.unit.name.isEmpty { h.text(", in \(s.unit.name)") }
        h.raw("</caption><thead><tr><th scope=\"col\">series</th>")
        if s.isDistribution {
            h.raw("<th scope=\"col\" class=\"num\">5 %</th><th scope=\"col\" class=\"num\">25 %</th><th scope=\"col\" class=\"num\">median</th>")
            h.raw("<th scope=\"col\" class=\"num\">75 %</th><th scope=\"col\" class=\"num\">95 %</th>")
        } else {
            h.raw("<th scope=\"col\" class=\"num\">last</th><th scope=\"col\" class=\"num\">min</th><th scope=\"col\" class=\"num\">avg</th><th scope=\"col\" class=\"num\">max</th>")
        }
        h.raw("</tr></thead><tbody>")
        for (i, series) in s.series.prefix(Daemon.graphTableRows).enumerated() {
            if i < drawn {
                h.raw("<tr id=\"s")
                h.integer(i)
                h.raw("\" class=\"k")
                h.integer(i % 10)
                h.raw("\"><td class=\"name\"><span class=\"sw\" aria-hidden=\"true\"></span>")
            } else {
                h.raw("<tr><td class=\"name\">")
            }
            if series.labels.isEmpty { h.raw("<span class=\"series\">scalar</span>") } else { h.labels(series.labels) }
            h.raw("</td>")
            let last: (([Double]) -> Double) = { $0.last(where: \.isFinite) ?? .nan }
            if s.isDistribution {
                for q in [0.05, 0.25] { h.numberCell(WebFormat.value(last(series.quantiles[q] ?? []))) }
                h.numberCell(WebFormat.value(last(series.values)))
                for q in [0.75, 0.95] { h.numberCell(WebFormat.value(last(series.quantiles[q] ?? []))) }
            } else {
                let finite = series.values.filter(\.isFinite)
                h.numberCell(WebFormat.value(last(series.values)))
                h.numberCell(WebFormat.value(finite.min() ?? .nan))
                h.numberCell(WebFormat.value(finite.isEmpty ? .nan : finite.reduce(0, +) / Double(finite.count)))
                h.numberCell(WebFormat.value(finite.max() ?? .nan))
            }
            h.raw("</tr>")
        }
        h.raw("</tbody></table></div>")
        if s.series.count > Daemon.graphTableRows {
            h.raw("<p class=\"note\">")
            h.text("The table shows the first \(Daemon.graphTableRows) of \(s.series.count) series.")
            h.raw("</p>")
        }
    }

    /// The query string of a graph view.
    static func query(expr: String, range: Milliseconds, end: Timestamp?) -> String {
        var q = "expr=" + percentEncoded(expr) + "&range=" + percentEncoded(YAMLReader.formatDuration(range))
        if let end { q += "&end=" + PrometheusFormat.timestamp(end) }
        return q
    }

    /// Form encoding of a value: unreserved characters as they are, the rest as %XX.
    static func percentEncoded(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(UnicodeScalar(b))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%"
                out.unicodeScalars.append(UnicodeScalar(hex[Int(b >> 4)]))
                out.unicodeScalars.append(UnicodeScalar(hex[Int(b & 15)]))
            }
        }
        return out
    }
}
