#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RE2
import TextRendering
import TimeSeries

extension Evaluator {
    mutating func scalarArgument(_ e: Expr, at t: Timestamp) throws(QueryError) -> Double {
        if case .scalar(let v) = try eval(e, at: t) { return v }
        return .nan
    }

    mutating func vectorArgument(_ e: Expr, at t: Timestamp) throws(QueryError) -> [Element] {
        if case .vector(let v) = try eval(e, at: t) { return v }
        return []
    }

    func stringArgument(_ e: Expr) -> String {
        if case .string(let s) = e.unparenthesized { return s.value }
        return ""
    }

    static func isRangeFunction(_ id: FunctionID) -> Bool {
        switch id {
        case .rate, .irate, .increase, .delta, .idelta, .deriv, .predictLinear, .resets, .changes,
            .avgOverTime, .minOverTime, .maxOverTime, .sumOverTime, .countOverTime, .lastOverTime,
            .quantileOverTime, .stddevOverTime, .stdvarOverTime, .presentOverTime, .absentOverTime:
            return true
        default:
            return false
        }
    }

    mutating func call(_ c: Call, at t: Timestamp) throws(QueryError) -> Value {
        let f = c.function
        switch f.id {
        case .rate, .irate, .increase, .delta, .idelta, .deriv, .predictLinear, .resets, .changes,
            .avgOverTime, .minOverTime, .maxOverTime, .sumOverTime, .countOverTime, .lastOverTime,
            .quantileOverTime, .stddevOverTime, .stdvarOverTime, .presentOverTime, .absentOverTime:
            return .vector(try rangeFunction(c, at: t))
        case .time:
            return .scalar(Double(t) / 1000)
        case .pi:
            return .scalar(Double.pi)
        case .vector:
            return .vector([Element(labels: Labels(), value: try scalarArgument(c.args[0], at: t), timestamp: t)])
        case .scalar:
            let v = try vectorArgument(c.args[0], at: t)
            return .scalar(v.count == 1 ? v[0].value : .nan)
        case .absent:
            // A selector is present when any series it picks has a sample in the lookback window;
            // a distribution counts too (it has no single value, but it is not absent).
            let present: Bool
            if case .vectorSelector(let sel) = c.args[0].unparenthesized {
                present = hasRecentData(sel, at: t)
            } else {
                present = !(try vectorArgument(c.args[0], at: t)).isEmpty
            }
            guard !present else { return .vector([]) }
            return .vector([Element(labels: Evaluator.absentLabels(c.args[0]), value: 1, timestamp: t)])
        case .histogramQuantile:
            let q = try scalarArgument(c.args[0], at: t)
            return .vector(try histogramQuantile(q, try vectorArgument(c.args[1], at: t), at: t, position: c.position))
        case .timestamp:
            let isSelector: Bool
            if case .vectorSelector = c.args[0].unparenthesized { isSelector = true } else { isSelector = false }
            var v = try vectorArgument(c.args[0], at: t)
            for i in v.indices {
                v[i].value = Double(isSelector ? v[i].timestamp : t) / 1000
                v[i].labels = v[i].labels.droppingMetricName
                v[i].timestamp = t
            }
            try checkUnique(v, c.position)
            return .vector(v)
        case .sort, .sortDesc:
            var v = try vectorArgument(c.args[0], at: t)
            let descending = f.id == .sortDesc
            v.sort { a, b in
                if a.value.isNaN { return false }
                if b.value.isNaN { return true }
                return descending ? a.value > b.value : a.value < b.value
            }
            return .vector(v)
        case .labelReplace:
            return .vector(try labelReplace(c, at: t))
        case .labelJoin:
            return .vector(try labelJoin(c, at: t))
        case .clamp, .clampMin, .clampMax:
            var v = try vectorArgument(c.args[0], at: t)
            var lo = -Double.infinity
            var hi = Double.infinity
            if f.id == .clamp {
                lo = try scalarArgument(c.args[1], at: t)
                hi = try scalarArgument(c.args[2], at: t)
                if lo > hi { return .vector([]) }
            } else if f.id == .clampMin {
                lo = try scalarArgument(c.args[1], at: t)
            } else {
                hi = try scalarArgument(c.args[1], at: t)
            }
            for i in v.indices {
                v[i].value = Evaluator.goMax(lo, Evaluator.goMin(hi, v[i].value))
                v[i].labels = v[i].labels.droppingMetricName
            }
            try checkUnique(v, c.position)
            return .vector(v)
        case .round:
            var v = try vectorArgument(c.args[0], at: t)
            let toNearest = c.args.count > 1 ? try scalarArgument(c.args[1], at: t) : 1
            let inverse = 1 / toNearest
            for i in v.indices {
                v[i].value = floor(v[i].value * inverse + 0.5) / inverse
                v[i].labels = v[i].labels.droppingMetricName
            }
            try checkUnique(v, c.position)
            return .vector(v)
        case .minute, .hour, .dayOfMonth, .dayOfWeek, .dayOfYear, .daysInMonth, .month, .year:
            var v = c.args.isEmpty ? [Element(labels: Labels(), value: Double(t) / 1000, timestamp: t)] : try vectorArgument(c.args[0], at: t)
            for i in v.indices {
                v[i].value = Evaluator.datePart(f.id, seconds: v[i].value)
                v[i].labels = v[i].labels.droppingMetricName
            }
            try checkUnique(v, c.position)
            return .vector(v)
        default:
            var v = try vectorArgument(c.args[0], at: t)
            for i in v.indices {
                v[i].value = Evaluator.mathFunction(f.id, v[i].value)
                v[i].labels = v[i].labels.droppingMetricName
            }
            try checkUnique(v, c.position)
            return .vector(v)
        }
    }

    /// Whether any series `sel` picks has data in the lookback window at `t`.
    mutating func hasRecentData(_ sel: VectorSelector, at t: Timestamp) -> Bool {
        let at = effectiveTime(sel.at, offset: sel.offset, t)
        for s in select(sel) {
            switch s.view {
            case .scalar:
                if let sample = reader.latestSample(of: s.ref, at: at, lookback: lookback), !sample.value.isStaleMarker { return true }
            case .distribution, .distributionCount, .distributionSum:
                cumulative.removeAll(keepingCapacity: true)
                reader.cumulative(of: s.ref, from: at - lookback, through: at, into: &cumulative)
                if !cumulative.isEmpty { return true }
            }
        }
        return false
    }

    static func mathFunction(_ id: FunctionID, _ x: Double) -> Double {
        switch id {
        case .abs: return Swift.abs(x)
        case .ceil: return ceil(x)
        case .floor: return floor(x)
        case .sqrt: return sqrt(x)
        case .exp: return exp(x)
        case .ln: return log(x)
        case .log2: return log2(x)
        case .log10: return log10(x)
        case .sgn: return x.isNaN ? x : x > 0 ? 1 : x < 0 ? -1 : 0
        case .sin: return sin(x)
        case .cos: return cos(x)
        case .tan: return tan(x)
        case .asin: return asin(x)
        case .acos: return acos(x)
        case .atan: return atan(x)
        case .sinh: return sinh(x)
        case .cosh: return cosh(x)
        case .tanh: return tanh(x)
        case .asinh: return asinh(x)
        case .acosh: return acosh(x)
        case .atanh: return atanh(x)
        case .deg: return x * 180 / Double.pi
        case .rad: return x * Double.pi / 180
        default: return x
        }
    }

    /// Go's `math.Max`: +Inf wins over NaN, otherwise NaN propagates.
    static func goMax(_ a: Double, _ b: Double) -> Double {
        if a == .infinity || b == .infinity { return .infinity }
        if a.isNaN || b.isNaN { return .nan }
        return a > b ? a : b
    }

    /// Go's `math.Min`: -Inf wins over NaN, otherwise NaN propagates.
    static func goMin(_ a: Double, _ b: Double) -> Double {
        if a == -.infinity || b == -.infinity { return -.infinity }
        if a.isNaN || b.isNaN { return .nan }
        return a < b ? a : b
    }

    /// `minute()`, `hour()`, … of a Unix time in seconds, in UTC.
    static func datePart(_ id: FunctionID, seconds: Double) -> Double {
        guard seconds.isFinite, Swift.abs(seconds) < 1e15 else { return .nan }
        let whole = Int64(seconds.rounded(.towardZero))
        var days = whole / 86_400
        var rest = whole % 86_400
        if rest < 0 {
            rest += 86_400
            days -= 1
        }
        let (year, month, day) = CivilDate.from(days: days)
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let monthDays: [Int64] = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        switch id {
        case .minute: return Double(rest / 60 % 60)
        case .hour: return Double(rest / 3600)
        case .dayOfMonth: return Double(day)
        case .dayOfWeek: return Double(((days % 7) + 11) % 7)  // 1970-01-01 was a Thursday (4)
        case .dayOfYear: return Double(monthDays[0..<Int(month - 1)].reduce(0, +) + day)
        case .daysInMonth: return Double(monthDays[Int(month - 1)])
        case .month: return Double(month)
        case .year: return Double(year)
        default: return .nan
        }
    }

    /// Labels for `absent(x{a="b"})`: the equality matchers' labels (not the name); a label given
    /// twice is left out.
    static func absentLabels(_ arg: Expr) -> Labels {
        let selector: VectorSelector
        switch arg.unparenthesized {
        case .vectorSelector(let v): selector = v
        case .matrixSelector(let m): selector = m.selector
        default: return Labels()
        }
        var seen: [String: Int] = [:]
        for m in selector.matchers where m.name != Labels.metricName { seen[m.name, default: 0] += 1 }
        var pairs: [(String, String)] = []
        for m in selector.matchers where m.op == .equal && m.name != Labels.metricName && seen[m.name] == 1 {
            pairs.append((m.name, m.value))
        }
        return Labels(pairs)
    }

    // MARK: Range-vector functions

    /// Everything a range function needs besides the samples.
    struct RangeContext {
        var id: FunctionID
        var from: Timestamp
        var through: Timestamp
        var range: Int64
        var evalTime: Timestamp
        var parameter: Double
    }

    /// Whether an aggregation may skip dropping `__name__` from this call's results because it
    /// discards the name anyway: the call reads one metric name (so its series stay distinct
    /// without names, and Prometheus's duplicate-labelset check cannot fire).
    static func canDeferNameDrop(_ c: Call) -> Bool {
        guard !c.function.keepsMetricName, c.function.id != .absentOverTime else { return false }
        let index = c.function.id == .quantileOverTime ? 1 : 0
        guard index < c.args.count, case .matrixSelector(let m) = c.args[index].unparenthesized else { return false }
        return m.selector.name != nil
    }

    /// A range function over each series of its range argument. With `deferNameDrop` (see
    /// `canDeferNameDrop`), results keep `__name__` for an aggregation to discard.
    mutating func rangeFunction(_ c: Call, at t: Timestamp, deferNameDrop: Bool = false) throws(QueryError) -> [Element] {
        let id = c.function.id
        let matrixIndex = id == .quantileOverTime ? 1 : 0
        var parameter = 0.0
        if id == .quantileOverTime { parameter = try scalarArgument(c.args[0], at: t) }
        if id == .predictLinear { parameter = try scalarArgument(c.args[1], at: t) }
        let keepName = c.function.keepsMetricName || deferNameDrop
        var out: [Element] = []
        switch c.args[matrixIndex].unparenthesized {
        case .matrixSelector(let m):
            let through = effectiveTime(m.selector.at, offset: m.selector.offset, t)
            let range = Evaluator.clamp(m.range)
            let context = RangeContext(id: id, from: through - range, through: through, range: range, evalTime: t, parameter: parameter)
            let chosen = select(m.selector)
            out.reserveCapacity(chosen.count)
            for s in chosen {
                if case .distribution = s.view {
                    if let v = distributionValue(s, context) {
                        out.append(Element(labels: keepName ? s.labels : s.labels.droppingMetricName, value: v, timestamp: t))
                    }
                    continue
                }
                _ = readRange(s, from: context.from, through: context.through)
                if samples.isEmpty { continue }
                var hidden = 0.0
                if case .scalar(counter: true) = s.view, id == .rate || id == .increase {
                    hidden = reader.hiddenResetIncrease(of: s.ref, from: context.from, through: context.through)
                }
                if let v = Evaluator.rangeValue(samples, context, hiddenIncrease: hidden) {
                    out.append(Element(labels: keepName ? s.labels : s.labels.droppingMetricName, value: v, timestamp: t))
                }
            }
        case .subquery(let sq):
            let through = effectiveTime(sq.at, offset: sq.offset, t)
            let range = Evaluator.clamp(sq.range)
            let context = RangeContext(id: id, from: through - range, through: through, range: range, evalTime: t, parameter: parameter)
            for series in try subquery(sq, at: t) where !series.samples.isEmpty {
                if let v = Evaluator.rangeValue(series.samples, context, hiddenIncrease: 0) {
                    out.append(Element(labels: keepName ? series.labels : series.labels.droppingMetricName, value: v, timestamp: t))
                }
            }
        default:
            throw QueryError(kind: .type, message: "\(c.function.name)() needs a range vector selector or a subquery", range: c.position, line: 0, column: 0)
        }
        if id == .absentOverTime {
            return out.isEmpty ? [Element(labels: Evaluator.absentLabels(c.args[0]), value: 1, timestamp: t)] : []
        }
        if !deferNameDrop { try checkUnique(out, c.position) }
        return out
    }

    /// A distribution series answered from its merged sketch over the window's slots.
    mutating func distributionValue(_ s: SelectedSeries, _ c: RangeContext) -> Double? {
        switch c.id {
        case .quantileOverTime, .countOverTime, .sumOverTime, .avgOverTime, .minOverTime, .maxOverTime,
            .presentOverTime, .absentOverTime:
            break
        default:
            warn("\(s.labels.metricName ?? "series") is a distribution: only quantile_over_time, count/sum/avg/min/max_over_time and present/absent_over_time read it directly; use \(s.labels.metricName ?? "it")_count or _sum with other functions; \(s.labels) was skipped")
            return nil
        }
        guard let summary = reader.summary(of: s.ref, from: c.from, through: c.through), summary.count > 0 else { return nil }
        switch c.id {
        case .quantileOverTime:
            if c.parameter.isNaN { return .nan }
            if c.parameter < 0 { return -.infinity }
            if c.parameter > 1 { return .infinity }
            return summary.quantile(c.parameter)
        case .countOverTime: return Double(summary.count)
        case .sumOverTime: return summary.sum
        case .avgOverTime: return summary.mean
        case .minOverTime: return summary.min
        case .maxOverTime: return summary.max
        default: return 1
        }
    }

    /// The value of a range function over one series' samples (non-empty), or nil when the
    /// function has no value for it (e.g. `rate` of a single sample).
    static func rangeValue(_ s: [Sample], _ c: RangeContext, hiddenIncrease: Double) -> Double? {
        switch c.id {
        case .rate: return extrapolatedRate(s, c, isCounter: true, isRate: true, hiddenIncrease: hiddenIncrease)
        case .increase: return extrapolatedRate(s, c, isCounter: true, isRate: false, hiddenIncrease: hiddenIncrease)
        case .delta: return extrapolatedRate(s, c, isCounter: false, isRate: false, hiddenIncrease: 0)
        case .irate, .idelta:
            guard s.count >= 2 else { return nil }
            let last = s[s.count - 1]
            let previous = s[s.count - 2]
            let isRate = c.id == .irate
            var v = isRate && last.value < previous.value ? last.value : last.value - previous.value
            let interval = last.timestamp - previous.timestamp
            guard interval != 0 else { return nil }
            if isRate { v /= Double(interval) / 1000 }
            return v
        case .deriv:
            guard s.count >= 2 else { return nil }
            return linearRegression(s, interceptTime: s[0].timestamp).slope
        case .predictLinear:
            guard s.count >= 2 else { return nil }
            let (slope, intercept) = linearRegression(s, interceptTime: c.evalTime)
            return slope * c.parameter + intercept
        case .resets:
            var resets = 0
            var previous = s[0].value
            for sample in s.dropFirst() {
                if sample.value < previous { resets += 1 }
                previous = sample.value
            }
            return Double(resets)
        case .changes:
            var changes = 0
            var previous = s[0].value
            for sample in s.dropFirst() {
                let current = sample.value
                if current != previous && !(current.isNaN && previous.isNaN) { changes += 1 }
                previous = current
            }
            return Double(changes)
        case .avgOverTime: return average(s.lazy.map(\.value))
        case .minOverTime:
            var m = s[0].value
            for x in s where x.value < m || m.isNaN { m = x.value }
            return m
        case .maxOverTime:
            var m = s[0].value
            for x in s where x.value > m || m.isNaN { m = x.value }
            return m
        case .sumOverTime:
            var sum = KahanSum()
            for x in s { sum.add(x.value) }
            return sum.value
        case .countOverTime: return Double(s.count)
        case .lastOverTime: return s[s.count - 1].value
        case .quantileOverTime: return quantile(c.parameter, s.map(\.value))
        case .stddevOverTime, .stdvarOverTime:
            var count = 0.0
            var mean = KahanSum()
            var aux = KahanSum()
            for x in s {
                count += 1
                let delta = x.value - mean.value
                mean.add(delta / count)
                aux.add(delta * (x.value - mean.value))
            }
            let variance = aux.value / count
            return c.id == .stddevOverTime ? sqrt(variance) : variance
        case .presentOverTime, .absentOverTime: return 1
        default: return nil
        }
    }

    /// `rate`, `increase` and `delta` with Prometheus's extrapolation: the increase between the
    /// first and last sample (counter resets added back) is extrapolated to the window's edges when
    /// the samples reach within 1.1 average intervals of them, else by half an interval; a counter
    /// is never extrapolated below zero.
    static func extrapolatedRate(_ s: [Sample], _ c: RangeContext, isCounter: Bool, isRate: Bool, hiddenIncrease: Double) -> Double? {
        guard s.count >= 2 else { return nil }
        let first = s[0]
        let last = s[s.count - 1]
        var result = last.value - first.value
        if isCounter {
            var previous = first.value
            for x in s.dropFirst() {
                if x.value < previous { result += previous }
                previous = x.value
            }
            result += hiddenIncrease
        }
        var durationToStart = Double(first.timestamp - c.from) / 1000
        var durationToEnd = Double(c.through - last.timestamp) / 1000
        let sampledInterval = Double(last.timestamp - first.timestamp) / 1000
        let averageInterval = sampledInterval / Double(s.count - 1)
        let threshold = averageInterval * 1.1
        if durationToStart >= threshold { durationToStart = averageInterval / 2 }
        if isCounter && result > 0 && first.value >= 0 {
            let durationToZero = sampledInterval * (first.value / result)
            if durationToZero < durationToStart { durationToStart = durationToZero }
        }
        if durationToEnd >= threshold { durationToEnd = averageInterval / 2 }
        var factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval
        if isRate { factor /= Double(c.range) / 1000 }
        return result * factor
    }

    /// Least-squares slope and intercept of value over time in seconds relative to `interceptTime`.
    static func linearRegression(_ s: [Sample], interceptTime: Timestamp) -> (slope: Double, intercept: Double) {
        var n = 0.0
        var sumX = KahanSum(), sumY = KahanSum(), sumXY = KahanSum(), sumX2 = KahanSum()
        let initial = s[0].value
        var constant = true
        for (i, x) in s.enumerated() {
            if constant && i > 0 && x.value != initial { constant = false }
            n += 1
            let t = Double(x.timestamp - interceptTime) / 1000
            sumX.add(t)
            sumY.add(x.value)
            sumXY.add(t * x.value)
            sumX2.add(t * t)
        }
        if constant {
            if initial.isInfinite { return (.nan, .nan) }
            return (0, initial)
        }
        let covXY = sumXY.value - sumX.value * sumY.value / n
        let varX = sumX2.value - sumX.value * sumX.value / n
        let slope = covXY / varX
        return (slope, sumY.value / n - slope * sumX.value / n)
    }

    /// The mean, by Kahan summation; if the sum of finite values overflows, an incremental mean.
    static func average<S: Sequence>(_ values: S) -> Double where S.Element == Double {
        var sum = KahanSum()
        var count = 0.0
        var sawInfinity = false
        for v in values {
            count += 1
            sum.add(v)
            if v.isInfinite { sawInfinity = true }
        }
        guard sum.value.isInfinite, !sawInfinity else { return sum.value / count }
        var mean = 0.0
        var n = 0.0
        for v in values {
            n += 1
            mean += v / n - mean / n
        }
        return mean
    }

    /// φ-quantile of values with linear interpolation between the closest ranks (Prometheus's
    /// `quantile`); ±Inf outside [0, 1], NaN for NaN φ or no values.
    static func quantile(_ q: Double, _ values: [Double]) -> Double {
        if values.isEmpty || q.isNaN { return .nan }
        if q < 0 { return -.infinity }
        if q > 1 { return .infinity }
        let sorted = values.sorted { a, b in
            // NaNs sort first, as Go's sort of vectorByValueHeap does.
            if a.isNaN { return !b.isNaN }
            if b.isNaN { return false }
            return a < b
        }
        let n = Double(sorted.count)
        let rank = q * (n - 1)
        let lower = Swift.max(0, rank.rounded(.down))
        let upper = Swift.min(n - 1, lower + 1)
        let weight = rank - rank.rounded(.down)
        return sorted[Int(lower)] * (1 - weight) + sorted[Int(upper)] * weight
    }

    // MARK: histogram_quantile

    mutating func histogramQuantile(_ q: Double, _ v: [Element], at t: Timestamp, position: Range<Int>) throws(QueryError) -> [Element] {
        let le = Array("le".utf8)
        var groups: [[UInt8]: Int] = [:]
        var labels: [Labels] = []
        var buckets: [[(upper: Double, count: Double)]] = []
        var key: [UInt8] = []
        for e in v {
            guard let raw = e.labels.value(of: le), let upper = Evaluator.parseGoFloat(String(decoding: raw, as: UTF8.self)) else {
                warn("histogram_quantile: \(e.labels) has no valid \"le\" label and was ignored")
                continue
            }
            key.removeAll(keepingCapacity: true)
            e.labels.appendGroupingKey(into: &key, names: [le], without: true)
            let index: Int
            if let existing = groups[key] {
                index = existing
            } else {
                index = labels.count
                groups[key] = index
                labels.append(Labels.fromSortedKey(key))
                buckets.append([])
            }
            buckets[index].append((upper, e.value))
        }
        var out: [Element] = []
        for (i, group) in buckets.enumerated() {
            out.append(Element(labels: labels[i], value: Evaluator.bucketQuantile(q, group), timestamp: t))
        }
        return out
    }

    /// Go's `strconv.ParseFloat` for `le` values: decimal, exponent, `+Inf`/`Inf`/`-Inf`, `NaN`.
    static func parseGoFloat(_ s: String) -> Double? {
        switch s.lowercased() {
        case "+inf", "inf", "+infinity", "infinity": return .infinity
        case "-inf", "-infinity": return -.infinity
        case "nan": return .nan
        default:
            guard !s.isEmpty, s.utf8.allSatisfy({ Lexer.isDigit($0) || "+-.eExXpPabcdefABCDEF".utf8.contains($0) }) else { return nil }
            return Double(s)
        }
    }

    /// The φ-quantile of a classic histogram given as (upper bound, cumulative count) buckets:
    /// linear interpolation inside the bucket holding the rank, the lowest bucket starting at 0
    /// (or returning its bound when that is ≤ 0), the +Inf bucket answering with the next-highest
    /// bound. NaN without a +Inf bucket, with fewer than two buckets or with no observations.
    static func bucketQuantile(_ q: Double, _ input: [(upper: Double, count: Double)]) -> Double {
        if q.isNaN { return .nan }
        if q < 0 { return -.infinity }
        if q > 1 { return .infinity }
        var b = input.sorted { $0.upper < $1.upper }
        guard let highest = b.last, highest.upper == .infinity else { return .nan }
        // Merge buckets with the same bound.
        var merged: [(upper: Double, count: Double)] = []
        for x in b {
            if let last = merged.last, last.upper == x.upper {
                merged[merged.count - 1].count += x.count
            } else {
                merged.append(x)
            }
        }
        b = merged
        // Float error can make counts slightly non-monotonic; ignore relative differences ≤ 1e-12.
        var previous = b[0].count
        for i in 1..<b.count {
            let current = b[i].count
            let delta = Swift.abs(current - previous)
            if delta == 0 { continue }
            if delta / current <= 1e-12 {
                b[i].count = previous
            } else {
                previous = current
            }
        }
        // Force monotonicity (the envelope), as Prometheus does for inconsistent data.
        var maxCount = b[0].count
        for i in 1..<b.count {
            if b[i].count > maxCount { maxCount = b[i].count } else if b[i].count < maxCount { b[i].count = maxCount }
        }
        guard b.count >= 2 else { return .nan }
        let observations = b[b.count - 1].count
        guard observations != 0 else { return .nan }
        var rank = q * observations
        var index = b.count - 1
        for i in 0..<(b.count - 1) where b[i].count >= rank {
            index = i
            break
        }
        if index == b.count - 1 { return b[b.count - 2].upper }
        if index == 0 && b[0].upper <= 0 { return b[0].upper }
        var start = 0.0
        let end = b[index].upper
        var count = b[index].count
        if index > 0 {
            start = b[index - 1].upper
            count -= b[index - 1].count
            rank -= b[index - 1].count
        }
        return start + (end - start) * (rank / count)
    }

    // MARK: Label functions

    mutating func labelReplace(_ c: Call, at t: Timestamp) throws(QueryError) -> [Element] {
        let destination = stringArgument(c.args[1])
        let replacement = stringArgument(c.args[2])
        let source = stringArgument(c.args[3])
        let pattern = stringArgument(c.args[4])
        let regex: RegularExpression
        do { regex = try RegularExpression(pattern, options: .prometheus) } catch {
            throw QueryError(kind: .evaluation, message: "invalid regular expression in label_replace(): \(error.message)", range: c.args[4].position, line: 0, column: 0)
        }
        var v = try vectorArgument(c.args[0], at: t)
        let sourceBytes = Array(source.utf8)
        for i in v.indices {
            let value = Array(v[i].labels.value(of: sourceBytes) ?? [])
            guard let match = regex.firstMatch(in: value) else { continue }
            let result = regex.expand(replacement, match, in: value)
            v[i].labels = v[i].labels.setting(destination, to: String(decoding: result, as: UTF8.self))
        }
        try checkUnique(v, c.position)
        return v
    }

    mutating func labelJoin(_ c: Call, at t: Timestamp) throws(QueryError) -> [Element] {
        let destination = stringArgument(c.args[1])
        let separator = stringArgument(c.args[2])
        let sources = c.args.dropFirst(3).map { stringArgument($0) }
        var v = try vectorArgument(c.args[0], at: t)
        for i in v.indices {
            let joined = sources.map { v[i].labels.string(of: $0) }.joined(separator: separator)
            v[i].labels = v[i].labels.setting(destination, to: joined)
        }
        try checkUnique(v, c.position)
        return v
    }
}

/// Kahan–Neumaier compensated summation, as Prometheus sums.
struct KahanSum {
    var sum = 0.0
    var compensation = 0.0

    mutating func add(_ x: Double) {
        let t = sum + x
        if t.isInfinite {
            compensation = 0
        } else if Swift.abs(sum) >= Swift.abs(x) {
            compensation += (sum - t) + x
        } else {
            compensation += (x - t) + sum
        }
        sum = t
    }

    var value: Double { compensation.isFinite ? sum + compensation : sum }
}
