#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import TimeSeries

/// A line chart as inline SVG: one line per series on a shared time grid, optional quantile bands,
/// y ticks with units, time ticks in UTC, and the values the page's script shows under the pointer.
///
/// Layout without a fixed pixel size: the outer `<svg>` is as wide as the page and as tall as the
/// style sheet says, and positions everything in percentages of itself, so the tick labels keep
/// their real font size at 360 px and at 1600 px. The plot is a nested `<svg>` whose viewBox
/// (1000 × 1000) is stretched to the outer box (`preserveAspectRatio="none"`); its strokes do not
/// scale (`vector-effect`). Y tick labels sit inside the plot, at its left edge, so no margin has
/// to guess their width. No outside text goes into the SVG: series names live in the legend
/// table, whose rows the lines point to (`data-row`).
struct LineChart {
    /// One series on the grid: a value per grid point, NaN where it has none.
    struct Line {
        var values: [Double]
        /// The id of the legend row that names it.
        var rowID: String
        /// Quantile bands of a distribution: (lower, upper) per grid point, outer then inner.
        var bands: [(lower: [Double], upper: [Double])] = []
    }

    var start: Timestamp
    var step: Milliseconds
    var count: Int
    var lines: [Line]
    var unit: ValueUnit

    /// The plot's vertical extent, as fractions of the chart's height: room above for the top
    /// tick label, below for the time axis.
    static let top = 0.05, height = 0.83

    /// Y range and ticks: "nice" steps (1, 2, 5 × 10ⁿ) spanning every finite value.
    static func ticks(lo: Double, hi: Double, target: Int = 5) -> (lo: Double, hi: Double, ticks: [Double]) {
        var lo = lo, hi = hi
        if !lo.isFinite || !hi.isFinite { return (0, 1, [0, 0.5, 1]) }
        if lo == hi {
            let pad = lo == 0 ? 1 : abs(lo) * 0.1
            lo -= pad
            hi += pad
        }
        let raw = (hi - lo) / Double(target)
        let magnitude = pow(10, floor(log10(raw)))
        let residual = raw / magnitude
        let step = (residual <= 1 ? 1 : residual <= 2 ? 2 : residual <= 5 ? 5 : 10) * magnitude
        guard step.isFinite, step > 0 else { return (lo, hi, [lo, hi]) }
        let first = (lo / step).rounded(.down) * step, last = (hi / step).rounded(.up) * step
        var ticks: [Double] = []
        var v = first
        while v <= last + step / 2, ticks.count < 50 {
            ticks.append(abs(v) < step * 1e-9 ? 0 : v)
            v += step
        }
        return (first, last, ticks)
    }

    /// Time ticks: a round step giving about `target` ticks over the span.
    static func timeTicks(start: Timestamp, end: Timestamp, target: Int = 6) -> (step: Milliseconds, ticks: [Timestamp]) {
        let steps: [Milliseconds] = [1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000,
                                     3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000, 172_800_000, 604_800_000]
        let span = max(end - start, 1)
        let step = steps.first { span / $0 <= Int64(target) } ?? steps.last!
        var ticks: [Timestamp] = []
        var t = (start + step - 1) / step * step
        if start < 0 { t = start / step * step }
        while t <= end, ticks.count < 40 {
            if t >= start { ticks.append(t) }
            t += step
        }
        return (step, ticks)
    }

    /// A time tick's label: `HH:MM`, with seconds when the ticks are closer than a minute, with
    /// the date when they are a day or more apart.
    static func timeLabel(_ t: Timestamp, step: Milliseconds) -> String {
        let text = WebFormat.time(t)  // yyyy-mm-dd hh:mm:ssZ
        let chars = Array(text)
        guard chars.count >= 19 else { return text }
        if step >= 86_400_000 { return String(chars[5..<10]) }
        if step >= 60_000 { return String(chars[11..<16]) }
        return String(chars[11..<19])
    }

    func write(into h: inout HTML) {
        var lo = Double.infinity, hi = -Double.infinity
        for line in lines {
            for v in line.values where v.isFinite {
                lo = min(lo, v)
                hi = max(hi, v)
            }
            for band in line.bands {
                for v in band.lower where v.isFinite { lo = min(lo, v) }
                for v in band.upper where v.isFinite { hi = max(hi, v) }
            }
        }
        let (ylo, yhi, yticks) = LineChart.ticks(lo: lo, hi: hi)
        let end = start + Int64(max(count - 1, 0)) * step
        let scale = unit.scale(for: max(abs(ylo), abs(yhi)))

        h.raw("<div class=\"chartbox\"><svg class=\"chart\" role=\"img\" aria-label=\"")
        h.text("Line chart of \(lines.count) series from \(WebFormat.time(start)) to \(WebFormat.time(end))")
        h.raw("\" data-start=\"")
        h.integer(Int(start))
        h.raw("\" data-step=\"")
        h.integer(Int(step))
        h.raw("\" data-n=\"")
        h.integer(count)
        h.raw("\" data-min=\"")
        h.shortest(ylo)
        h.raw("\" data-max=\"")
        h.shortest(yhi)
        h.raw("\" data-top=\"")
        h.shortest(LineChart.top)
        h.raw("\" data-height=\"")
        h.shortest(LineChart.height)
        h.raw("\"")
        h.attribute("data-unit", unit.symbol)
        h.raw(" xmlns=\"http://www.w3.org/2000/svg\">")

        // Grid and y ticks (percentages of the outer box).
        for v in yticks {
            let y = (LineChart.top + (yhi - v) / (yhi - ylo) * LineChart.height) * 100
            h.raw("<line class=\"grid\" x1=\"0\" x2=\"100%\" y1=\"")
            h.tenths(y)
            h.raw("%\" y2=\"")
            h.tenths(y)
            h.raw("%\"/>")
        }
        let (tstep, tticks) = LineChart.timeTicks(start: start, end: end)
        for t in tticks where end > start {
            let x = Double(t - start) / Double(end - start) * 100
            h.raw("<line class=\"grid\" y1=\"")
            h.tenths(LineChart.top * 100)
            h.raw("%\" y2=\"")
            h.tenths((LineChart.top + LineChart.height) * 100)
            h.raw("%\" x1=\"")
            h.tenths(x)
            h.raw("%\" x2=\"")
            h.tenths(x)
            h.raw("%\"/>")
        }

        // The plot.
        h.raw("<svg x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" viewBox=\"0 0 1000 1000\" preserveAspectRatio=\"none\">")
        func py(_ v: Double) -> Double { (LineChart.top + (yhi - v) / (yhi - ylo) * LineChart.height) * 1000 }
        func px(_ i: Int) -> Double { count > 1 ? Double(i) * 1000 / Double(count - 1) : 500 }
        for (k, line) in lines.enumerated() {
            for (b, band) in line.bands.enumerated() {
                h.raw(b == 0 ? "<path class=\"band k" : "<path class=\"band inner k")
                h.integer(k % 10)
                h.raw("\" d=\"")
                LineChart.bandPath(&h, lower: band.lower, upper: band.upper, x: px, y: py)
                h.raw("\"/>")
            }
        }
        for (k, line) in lines.enumerated() {
            h.raw("<path class=\"line k")
            h.integer(k % 10)
            h.raw("\" vector-effect=\"non-scaling-stroke\"")
            h.attribute("data-row", line.rowID)
            h.raw(" data-v=\"")
            for (i, v) in line.values.enumerated() {
                if i > 0 { h.raw(",") }
                if v.isFinite { h.shortest(v) }
            }
            h.raw("\" d=\"")
            LineChart.linePath(&h, line.values, x: px, y: py)
            h.raw("\"/>")
        }
        h.raw("</svg>")

        // Tick labels over the plot.
        for v in yticks {
            let y = (LineChart.top + (yhi - v) / (yhi - ylo) * LineChart.height) * 100
            h.raw("<text class=\"axis\" x=\"4\" dy=\"-3\" y=\"")
            h.tenths(y)
            h.raw("%\">")
            h.text(unit.format(v, scale: scale))
            h.raw("</text>")
        }
        for t in tticks where end > start {
            let x = Double(t - start) / Double(end - start) * 100
            h.raw(x > 94 ? "<text class=\"axis\" text-anchor=\"end\" x=\"" : x < 6 ? "<text class=\"axis\" x=\"" : "<text class=\"axis\" text-anchor=\"middle\" x=\"")
            h.tenths(x)
            h.raw("%\" y=\"")
            h.tenths((LineChart.top + LineChart.height) * 100)
            h.raw("%\" dy=\"14\">")
            h.text(LineChart.timeLabel(t, step: tstep))
            h.raw("</text>")
        }
        h.raw("<text class=\"unit\" x=\"100%\" y=\"100%\" dy=\"-3\" text-anchor=\"end\">")
        h.text(unit.symbol.isEmpty ? "time (UTC)" : "\(unit.name) · time (UTC)")
        h.raw("</text><line class=\"cursor\" visibility=\"hidden\" x1=\"0\" x2=\"0\" y1=\"")
        h.tenths(LineChart.top * 100)
        h.raw("%\" y2=\"")
        h.tenths((LineChart.top + LineChart.height) * 100)
        h.raw("%\"/></svg></div>")
    }

    /// `M x y L x y …`, a new `M` after each gap; a lone point becomes a dot (a zero-length
    /// segment with round caps).
    static func linePath(_ h: inout HTML, _ values: [Double], x: (Int) -> Double, y: (Double) -> Double) {
        var drawing = false
        for (i, v) in values.enumerated() {
            guard v.isFinite else {
                drawing = false
                continue
            }
            let nextFinite = i + 1 < values.count && values[i + 1].isFinite
            h.raw(drawing ? "L" : "M")
            h.tenths(x(i))
            h.raw(" ")
            h.tenths(y(v))
            if !drawing, !nextFinite { h.raw("h0.1") }
            drawing = true
        }
    }

    /// Closed areas between `lower` and `upper`, one per run of points where both have values.
    static func bandPath(_ h: inout HTML, lower: [Double], upper: [Double], x: (Int) -> Double, y: (Double) -> Double) {
        let n = min(lower.count, upper.count)
        var i = 0
        while i < n {
            guard lower[i].isFinite, upper[i].isFinite else {
                i += 1
                continue
            }
            var j = i
            while j + 1 < n, lower[j + 1].isFinite, upper[j + 1].isFinite { j += 1 }
            for k in i...j {
                h.raw(k == i ? "M" : "L")
                h.tenths(x(k))
                h.raw(" ")
                h.tenths(y(upper[k]))
            }
            for k in stride(from: j, through: i, by: -1) {
                h.raw("L")
                h.tenths(x(k))
                h.raw(" ")
                h.tenths(y(lower[k]))
            }
            h.raw("Z")
            i = j + 1
        }
    }
}

/// A small inline chart of an alert's last 30 minutes (no axes: the cell beside it gives min and max).
enum SparklineSVG {
    static func write(_ h: inout HTML, values: [Double], tier: String?) {
        var lo = Double.infinity, hi = -Double.infinity
        for v in values where v.isFinite {
            lo = min(lo, v)
            hi = max(hi, v)
        }
        guard lo.isFinite else { return }
        let n = values.count
        func x(_ i: Int) -> Double { n > 1 ? Double(i) * 120 / Double(n - 1) : 60 }
        func y(_ v: Double) -> Double { hi == lo ? 15 : 27 - (v - lo) / (hi - lo) * 24 }
        h.raw("<svg class=\"spark")
        if let tier = tier.flatMap(TierStyle.cssClass) {
            h.raw(" ")
            h.trusted(tier)
        }
        h.raw("\" viewBox=\"0 0 120 30\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"")
        h.text("last 30 minutes: from \(WebFormat.value(lo)) to \(WebFormat.value(hi))")
        h.raw("\" xmlns=\"http://www.w3.org/2000/svg\"><path class=\"area\" d=\"")
        // The area under each run of values.
        var i = 0
        while i < n {
            guard values[i].isFinite else {
                i += 1
                continue
            }
            var j = i
            while j + 1 < n, values[j + 1].isFinite { j += 1 }
            h.raw("M")
            h.tenths(x(i))
            h.raw(" 30")
            for k in i...j {
                h.raw("L")
                h.tenths(x(k))
                h.raw(" ")
                h.tenths(y(values[k]))
            }
            h.raw("L")
            h.tenths(x(j))
            h.raw(" 30Z")
            i = j + 1
        }
        h.raw("\"/><path vector-effect=\"non-scaling-stroke\" d=\"")
        LineChart.linePath(&h, values, x: x, y: y)
        h.raw("\"/></svg>")
    }
}

/// The CSS class of a severity tier (known tiers only; any other severity has no colour).
enum TierStyle {
    static func cssClass(_ severity: String) -> String? {
        switch severity {
        case "critical", "high", "medium", "low": severity
        default: nil
        }
    }
}
