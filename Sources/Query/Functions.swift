/// Identifies a function for the evaluator (a switch over an enum, not over names).
enum FunctionID: Sendable {
    // Range-vector functions.
    case rate, irate, increase, delta, idelta, deriv, predictLinear, resets, changes
    case avgOverTime, minOverTime, maxOverTime, sumOverTime, countOverTime, lastOverTime
    case quantileOverTime, stddevOverTime, stdvarOverTime, absentOverTime, presentOverTime
    // Instant-vector functions.
    case absent, histogramQuantile
    case abs, ceil, floor, round, sqrt, exp, ln, log2, log10, sgn
    case sin, cos, tan, asin, acos, atan, sinh, cosh, tanh, asinh, acosh, atanh, deg, rad
    case clamp, clampMin, clampMax
    case scalar, vector, time, timestamp, pi
    case labelReplace, labelJoin, sort, sortDesc
    case minute, hour, dayOfMonth, dayOfWeek, dayOfYear, daysInMonth, month, year
}

/// A function's signature: argument types, how many trailing arguments are optional or
/// repeatable, and the type it returns. The table below is the whole function set.
public struct FunctionSignature: Sendable {
    /// The name as written in expressions.
    public let name: String
    /// The types of the arguments, in order.
    public let argTypes: [ValueType]
    /// How many trailing arguments may be left out (`round(v)`, `hour()`), or -1 when the last
    /// type repeats without limit (`label_join`).
    public let variadic: Int
    /// The type of the result.
    public let returnType: ValueType
    let id: FunctionID

    init(_ name: String, _ argTypes: [ValueType], _ returnType: ValueType, _ id: FunctionID, variadic: Int = 0) {
        self.name = name
        self.argTypes = argTypes
        self.variadic = variadic
        self.returnType = returnType
        self.id = id
    }

    /// Whether the result keeps `__name__` from its input (most functions drop it, as in Prometheus).
    var keepsMetricName: Bool {
        switch id {
        case .lastOverTime, .labelReplace, .labelJoin, .sort, .sortDesc: true
        default: false
        }
    }

    /// The supported functions by name.
    public static let all: [String: FunctionSignature] = {
        let v = ValueType.instantVector
        let m = ValueType.rangeVector
        let s = ValueType.scalar
        let str = ValueType.string
        let list: [FunctionSignature] = [
            .init("rate", [m], v, .rate),
            .init("irate", [m], v, .irate),
            .init("increase", [m], v, .increase),
            .init("delta", [m], v, .delta),
            .init("idelta", [m], v, .idelta),
            .init("deriv", [m], v, .deriv),
            .init("predict_linear", [m, s], v, .predictLinear),
            .init("resets", [m], v, .resets),
            .init("changes", [m], v, .changes),
            .init("avg_over_time", [m], v, .avgOverTime),
            .init("min_over_time", [m], v, .minOverTime),
            .init("max_over_time", [m], v, .maxOverTime),
            .init("sum_over_time", [m], v, .sumOverTime),
            .init("count_over_time", [m], v, .countOverTime),
            .init("last_over_time", [m], v, .lastOverTime),
            .init("quantile_over_time", [s, m], v, .quantileOverTime),
            .init("stddev_over_time", [m], v, .stddevOverTime),
            .init("stdvar_over_time", [m], v, .stdvarOverTime),
            .init("absent_over_time", [m], v, .absentOverTime),
            .init("present_over_time", [m], v, .presentOverTime),
            .init("absent", [v], v, .absent),
            .init("histogram_quantile", [s, v], v, .histogramQuantile),
            .init("abs", [v], v, .abs),
            .init("ceil", [v], v, .ceil),
            .init("floor", [v], v, .floor),
            .init("round", [v, s], v, .round, variadic: 1),
            .init("sqrt", [v], v, .sqrt),
            .init("exp", [v], v, .exp),
            .init("ln", [v], v, .ln),
            .init("log2", [v], v, .log2),
            .init("log10", [v], v, .log10),
            .init("sgn", [v], v, .sgn),
            .init("sin", [v], v, .sin),
            .init("cos", [v], v, .cos),
            .init("tan", [v], v, .tan),
            .init("asin", [v], v, .asin),
            .init("acos", [v], v, .acos),
            .init("atan", [v], v, .atan),
            .init("sinh", [v], v, .sinh),
            .init("cosh", [v], v, .cosh),
            .init("tanh", [v], v, .tanh),
            .init("asinh", [v], v, .asinh),
            .init("acosh", [v], v, .acosh),
            .init("atanh", [v], v, .atanh),
            .init("deg", [v], v, .deg),
            .init("rad", [v], v, .rad),
            .init("pi", [], s, .pi),
            .init("clamp", [v, s, s], v, .clamp),
            .init("clamp_min", [v, s], v, .clampMin),
            .init("clamp_max", [v, s], v, .clampMax),
            .init("scalar", [v], s, .scalar),
            .init("vector", [s], v, .vector),
            .init("time", [], s, .time),
            .init("timestamp", [v], v, .timestamp),
            .init("label_replace", [v, str, str, str, str], v, .labelReplace),
            .init("label_join", [v, str, str, str], v, .labelJoin, variadic: -1),
            .init("sort", [v], v, .sort),
            .init("sort_desc", [v], v, .sortDesc),
            .init("minute", [v], v, .minute, variadic: 1),
            .init("hour", [v], v, .hour, variadic: 1),
            .init("day_of_month", [v], v, .dayOfMonth, variadic: 1),
            .init("day_of_week", [v], v, .dayOfWeek, variadic: 1),
            .init("day_of_year", [v], v, .dayOfYear, variadic: 1),
            .init("days_in_month", [v], v, .daysInMonth, variadic: 1),
            .init("month", [v], v, .month, variadic: 1),
            .init("year", [v], v, .year, variadic: 1),
        ]
        return Dictionary(uniqueKeysWithValues: list.map { ($0.name, $0) })
    }()

    /// PromQL functions that exist in Prometheus but not here, with the reason given to the user.
    static let unsupported: [String: String] = {
        var out: [String: String] = [:]
        for name in [
            "histogram_count", "histogram_sum", "histogram_avg", "histogram_fraction", "histogram_stddev",
            "histogram_stdvar",
        ] {
            out[name] = "\(name)() works on native histograms, which this engine does not store; use histogram_quantile() over classic _bucket series, or quantile_over_time() over a distribution series"
        }
        for name in ["holt_winters", "double_exponential_smoothing"] {
            out[name] = "\(name)() is not supported; use predict_linear() or deriv() for trends"
        }
        out["sort_by_label"] = "sort_by_label() is not supported; use sort() or sort_desc()"
        out["sort_by_label_desc"] = "sort_by_label_desc() is not supported; use sort() or sort_desc()"
        out["mad_over_time"] = "mad_over_time() is not supported; use quantile_over_time() or stddev_over_time()"
        out["info"] = "info() is not supported; join with the info metric using group_left instead"
        out["first_over_time"] = "first_over_time() is not supported"
        out["limitk"] = "limitk is not supported; use topk or bottomk"
        out["limit_ratio"] = "limit_ratio is not supported"
        return out
    }()
}
