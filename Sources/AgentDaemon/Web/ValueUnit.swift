import TextRendering
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Query

/// The unit of an expression's values, for the graph's axis, worked out from the metric names it
/// reads (Prometheus's naming conventions: `_seconds`, `_bytes`, `_ratio`, …, and our logs'
/// `_ms`) and what the expression does to them: `rate` makes a unit per second, `count` and a
/// division of two series make plain numbers, a sum keeps the unit. When the expression does
/// something the rules cannot follow (a product, a function of unknown effect) it has no unit,
/// rather than a wrong one.
struct ValueUnit: Equatable, Sendable {
    /// What the values are called on the axis (`seconds`, `bytes per second`); empty for none.
    var name: String
    /// The short symbol after a value (`s`, `B/s`, `/s`); empty for none.
    var symbol: String
    /// Seconds scaled by `timeScale` (1 for seconds, 0.001 for milliseconds): tick labels pick ms, s, min.
    var timeScale: Double?

    static let none = ValueUnit(name: "", symbol: "", timeScale: nil)
    static let seconds = ValueUnit(name: "seconds", symbol: "s", timeScale: 1)
    static let milliseconds = ValueUnit(name: "milliseconds", symbol: "ms", timeScale: 0.001)
    static let bytes = ValueUnit(name: "bytes", symbol: "B", timeScale: nil)
    static let ratio = ValueUnit(name: "ratio", symbol: "", timeScale: nil)
    static let percent = ValueUnit(name: "percent", symbol: "%", timeScale: nil)
    static let celsius = ValueUnit(name: "degrees Celsius", symbol: "°C", timeScale: nil)

    /// This unit per second (what `rate` makes of it).
    var perSecond: ValueUnit {
        if self == .none || self == .ratio { return ValueUnit(name: "per second", symbol: "/s", timeScale: nil) }
        if timeScale != nil { return ValueUnit(name: "\(name) per second", symbol: "\(symbol)/s", timeScale: nil) }
        return ValueUnit(name: "\(name) per second", symbol: "\(symbol)/s", timeScale: nil)
    }

    /// The unit a metric name announces by its suffix.
    static func of(metric name: String) -> ValueUnit {
        var base = Substring(name)
        for suffix in ["_total", "_count", "_sum", "_bucket"] where base.hasSuffix(suffix) {
            // `_count` of a histogram counts events; the others keep the unit of what they add up.
            if suffix == "_count" { return .none }
            base = base.dropLast(suffix.count)
        }
        if base.hasSuffix("_seconds") { return .seconds }
        if base.hasSuffix("_milliseconds") || base.hasSuffix("_ms") { return .milliseconds }
        if base.hasSuffix("_bytes") { return .bytes }
        if base.hasSuffix("_ratio") { return .ratio }
        if base.hasSuffix("_percent") { return .percent }
        if base.hasSuffix("_celsius") { return .celsius }
        return .none
    }

    /// The unit of `expr`'s values, or nil when it cannot be told.
    static func of(_ expr: Expr) -> ValueUnit? {
        switch expr {
        case .number, .string: return ValueUnit.none
        case .vectorSelector(let v): return v.name.map(of(metric:)) ?? nil
        case .matrixSelector(let m): return m.selector.name.map(of(metric:)) ?? nil
        case .subquery(let s): return of(s.expr)
        case .parenthesized(let p): return of(p.expr)
        case .unary(let u): return of(u.expr)
        case .aggregation(let a):
            switch a.op {
            case .count, .countValues: return ValueUnit.none
            case .stdvar, .group: return nil
            default: return of(a.expr)
            }
        case .call(let c):
            let vectorArgs = c.args.filter { $0.type == .instantVector || $0.type == .rangeVector }
            switch c.function.name {
            case "rate", "irate", "deriv": return vectorArgs.first.flatMap(of)?.perSecond
            // The quantile is one of the bucket bounds: the unit of the metric whose buckets these are.
            case "histogram_quantile": return vectorArgs.first.flatMap(selectorName).map(of(metric:))
            case "count_over_time", "absent", "absent_over_time", "present_over_time", "changes", "resets", "count_values": return ValueUnit.none
            case "time", "timestamp": return .seconds
            case "increase", "delta", "idelta", "sum_over_time", "avg_over_time", "min_over_time", "max_over_time", "last_over_time",
                 "quantile_over_time", "stddev_over_time", "mad_over_time", "histogram_quantile", "abs", "ceil", "floor", "round",
                 "clamp", "clamp_min", "clamp_max", "predict_linear", "label_replace", "label_join", "sort", "sort_desc",
                 "max_over_time_with_timestamp", "first_over_time", "last_over_time_with_timestamp":
                return vectorArgs.first.flatMap(of)
            default: return nil
            }
        case .binary(let b):
            let l = of(b.lhs), r = of(b.rhs)
            switch b.op {
            case .add, .sub:
                if b.lhs.type == .scalar { return r }
                if b.rhs.type == .scalar || l == r { return l }
                return nil
            case .div:
                if b.rhs.type == .scalar, case .number(let n) = b.rhs.unparenthesizedForUnit, n.value == 1 { return l }
                if b.lhs.type != .scalar, b.rhs.type != .scalar, l != nil, l == r { return .ratio }
                return nil
            case .mul:
                if b.rhs.type == .scalar, case .number(let n) = b.rhs.unparenthesizedForUnit, n.value == 1 { return l }
                if b.lhs.type == .scalar, case .number(let n) = b.lhs.unparenthesizedForUnit, n.value == 1 { return r }
                return nil
            case .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual:
                if b.returnBool { return ValueUnit.none }
                return b.lhs.type == .scalar ? r : l
            case .and, .unless: return l
            case .or: return l == r ? l : nil
            default: return nil
            }
        }
    }

    /// The metric name of the first selector in `expr`.
    static func selectorName(_ expr: Expr) -> String? {
        switch expr {
        case .vectorSelector(let v): v.name
        case .matrixSelector(let m): m.selector.name
        case .subquery(let s): selectorName(s.expr)
        case .parenthesized(let p): selectorName(p.expr)
        case .unary(let u): selectorName(u.expr)
        case .aggregation(let a): selectorName(a.expr)
        case .call(let c): c.args.lazy.compactMap(selectorName).first
        case .binary(let b): selectorName(b.lhs) ?? selectorName(b.rhs)
        case .number, .string: nil
        }
    }

    /// How a tick label scales values of about `magnitude`: a divisor and its symbol.
    func scale(for magnitude: Double) -> (divisor: Double, symbol: String) {
        if let timeScale {
            let s = magnitude * timeScale
            if s >= 7200 { return (3600 / timeScale, "h") }
            if s >= 120 { return (60 / timeScale, "min") }
            if s >= 1 { return (1 / timeScale, "s") }
            if s >= 0.001 { return (0.001 / timeScale, "ms") }
            if s > 0 { return (0.000_001 / timeScale, "µs") }
            return (1, symbol)
        }
        let prefixes: [(Double, String)] = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]
        for (size, prefix) in prefixes where magnitude >= size { return (size, prefix + symbol) }
        if magnitude > 0, magnitude < 0.01 {
            for (size, prefix) in [(1e-3, "m"), (1e-6, "µ"), (1e-9, "n")] where magnitude >= size { return (size, prefix + symbol) }
        }
        return (1, symbol)
    }

    /// A tick label: the value divided by the scale, with up to 3 significant digits and the symbol.
    func format(_ v: Double, scale: (divisor: Double, symbol: String)) -> String {
        let scaled = v / scale.divisor
        var text = CFormat.printf("%.3g", scaled)
        if text == "-0" { text = "0" }
        guard !scale.symbol.isEmpty else { return text }
        return scale.symbol.hasPrefix("/") ? text + scale.symbol : text + " " + scale.symbol
    }
}

extension Expr {
    /// The expression without enclosing parentheses.
    var unparenthesizedForUnit: Expr {
        var e = self
        while case .parenthesized(let p) = e { e = p.expr }
        return e
    }
}
