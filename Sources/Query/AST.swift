import RE2
public import TimeSeries

/// The four types a PromQL expression can have.
public enum ValueType: Sendable, Equatable, CustomStringConvertible {
    case scalar, instantVector, rangeVector, string

    /// The name Prometheus uses in its messages ("instant vector", "range vector", …).
    public var description: String {
        switch self {
        case .scalar: "scalar"
        case .instantVector: "instant vector"
        case .rangeVector: "range vector"
        case .string: "string"
        }
    }
}

/// A parsed expression. Every node knows the byte range of the text it came from (`position`)
/// and its type; `description` prints it back in canonical PromQL.
public indirect enum Expr: Sendable {
    case number(NumberLiteral)
    case string(StringLiteral)
    case vectorSelector(VectorSelector)
    case matrixSelector(MatrixSelector)
    case subquery(Subquery)
    case call(Call)
    case aggregation(Aggregation)
    case binary(BinaryOperation)
    case unary(UnaryOperation)
    case parenthesized(Parenthesized)

    /// Byte range of this node in the expression text.
    public var position: Range<Int> {
        switch self {
        case .number(let n): n.position
        case .string(let s): s.position
        case .vectorSelector(let v): v.position
        case .matrixSelector(let m): m.position
        case .subquery(let s): s.position
        case .call(let c): c.position
        case .aggregation(let a): a.position
        case .binary(let b): b.position
        case .unary(let u): u.position
        case .parenthesized(let p): p.position
        }
    }

    /// The type of the value this expression evaluates to.
    public var type: ValueType {
        switch self {
        case .number: .scalar
        case .string: .string
        case .vectorSelector: .instantVector
        case .matrixSelector, .subquery: .rangeVector
        case .call(let c): c.function.returnType
        case .aggregation: .instantVector
        case .binary(let b): b.lhs.type == .scalar && b.rhs.type == .scalar ? .scalar : .instantVector
        case .unary(let u): u.expr.type
        case .parenthesized(let p): p.expr.type
        }
    }

    /// The expression with parentheses removed.
    var unparenthesized: Expr {
        var e = self
        while case .parenthesized(let p) = e { e = p.expr }
        return e
    }
}

/// A number literal such as `0.95`, `1e3`, `0x1f`, `Inf`.
public struct NumberLiteral: Sendable {
    public var value: Double
    public var position: Range<Int>
}

/// A string literal such as `"route"`.
public struct StringLiteral: Sendable {
    public var value: String
    public var position: Range<Int>
}

/// `@` modifier: evaluate a selector or subquery at a fixed time instead of the evaluation time.
public enum AtModifier: Sendable, Equatable {
    /// `@ <unix seconds>`, kept in milliseconds.
    case timestamp(Timestamp)
    /// `@ start()`: the start of a range query (the evaluation time of an instant query).
    case start
    /// `@ end()`: the end of a range query (the evaluation time of an instant query).
    case end
}

/// One label matcher of a selector: `name op "value"`.
public struct LabelMatcher: Sendable, CustomStringConvertible {
    /// The four matching operators.
    public enum Op: String, Sendable {
        case equal = "=", notEqual = "!=", regexMatch = "=~", regexNoMatch = "!~"
    }

    public let name: String
    public let op: Op
    public let value: String
    let nameBytes: [UInt8]
    let valueBytes: [UInt8]
    let regex: RegularExpression?

    /// A matcher; regex matchers compile their pattern (fully anchored, RE2 syntax) or throw.
    init(name: String, op: Op, value: String) throws(RegularExpressionError) {
        self.name = name
        self.op = op
        self.value = value
        nameBytes = Array(name.utf8)
        valueBytes = Array(value.utf8)
        regex = (op == .regexMatch || op == .regexNoMatch) ? try RegularExpression(value, options: .prometheus) : nil
    }

    /// Whether a label value (empty when the label is absent) satisfies this matcher.
    func matches<C: Collection>(_ v: C) -> Bool where C.Element == UInt8 {
        switch op {
        case .equal: v.elementsEqual(valueBytes)
        case .notEqual: !v.elementsEqual(valueBytes)
        case .regexMatch: regex!.matches(v)
        case .regexNoMatch: !regex!.matches(v)
        }
    }

    /// Whether the matcher accepts a series that lacks the label.
    var matchesEmpty: Bool { matches(EmptyCollection<UInt8>()) }

    public var description: String {
        "\(AST.labelName(name))\(op.rawValue)\(AST.quote(value))"
    }
}

/// An instant vector selector: `http_requests_total{job="api"} offset 5m`.
public struct VectorSelector: Sendable {
    /// The metric name, when given before the braces or as `__name__="…"`.
    public var name: String?
    /// All matchers, including the one on `__name__` when a name was given.
    public var matchers: [LabelMatcher]
    /// `offset` in milliseconds (negative offsets look forward).
    public var offset: Int64
    public var at: AtModifier?
    public var position: Range<Int>
}

/// A range vector selector: `http_requests_total[5m]`.
public struct MatrixSelector: Sendable {
    public var selector: VectorSelector
    /// The range in milliseconds.
    public var range: Int64
    public var position: Range<Int>
}

/// A subquery: `rate(x[5m])[1h:1m]`.
public struct Subquery: Sendable {
    public var expr: Expr
    public var range: Int64
    /// The resolution in milliseconds, or nil for the engine's default.
    public var step: Int64?
    public var offset: Int64
    public var at: AtModifier?
    public var position: Range<Int>
}

/// A function call: `rate(x[5m])`.
public struct Call: Sendable {
    public var function: FunctionSignature
    public var args: [Expr]
    public var position: Range<Int>
}

/// The aggregation operators.
public enum AggregationOp: String, Sendable, CaseIterable {
    case sum, avg, min, max, count, stddev, stdvar, topk, bottomk, quantile
    case countValues = "count_values"
    case group

    /// The type of the parameter this operator takes, if any.
    var parameterType: ValueType? {
        switch self {
        case .topk, .bottomk, .quantile: .scalar
        case .countValues: .string
        default: nil
        }
    }
}

/// An aggregation: `sum by (route) (rate(x[5m]))`.
public struct Aggregation: Sendable {
    public var op: AggregationOp
    public var param: Expr?
    public var expr: Expr
    /// The `by` labels, or the `without` labels when `without` is true.
    public var grouping: [String]
    public var without: Bool
    public var position: Range<Int>
}

/// Binary operators, in PromQL's precedence classes.
public enum BinaryOp: String, Sendable, CaseIterable {
    case add = "+", sub = "-", mul = "*", div = "/", mod = "%", pow = "^", atan2
    case equal = "==", notEqual = "!=", less = "<", lessEqual = "<=", greater = ">", greaterEqual = ">="
    case and, or, unless

    /// 1 (`or`) binds loosest, 6 (`^`) tightest.
    var precedence: Int {
        switch self {
        case .or: 1
        case .and, .unless: 2
        case .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual: 3
        case .add, .sub: 4
        case .mul, .div, .mod, .atan2: 5
        case .pow: 6
        }
    }

    var isComparison: Bool { precedence == 3 }
    var isSetOperator: Bool { self == .and || self == .or || self == .unless }
    var isRightAssociative: Bool { self == .pow }
}

/// How the two sides of a vector/vector operation are matched.
public struct VectorMatching: Sendable {
    /// One-to-one, many-to-one (`group_left`), one-to-many (`group_right`), many-to-many (set operators).
    public enum Cardinality: Sendable { case oneToOne, manyToOne, oneToMany, manyToMany }
    public var cardinality: Cardinality
    /// The `on` labels, or the `ignoring` labels when `on` is false.
    public var labels: [String]
    public var on: Bool
    /// Labels copied from the "one" side (`group_left(…)`).
    public var include: [String]
}

/// A binary operation: `a / on(route) group_left b`.
public struct BinaryOperation: Sendable {
    public var op: BinaryOp
    public var lhs: Expr
    public var rhs: Expr
    /// Present when both sides are instant vectors.
    public var matching: VectorMatching?
    /// `bool` on a comparison: return 0/1 instead of filtering.
    public var returnBool: Bool
    public var position: Range<Int>
}

/// Unary minus or plus.
public struct UnaryOperation: Sendable {
    public var negate: Bool
    public var expr: Expr
    public var position: Range<Int>
}

/// `( expr )`.
public struct Parenthesized: Sendable {
    public var expr: Expr
    public var position: Range<Int>
}

/// Printing helpers shared by `description`s.
enum AST {
    static func quote(_ s: String) -> String {
        var out = "\""
        for ch in s.unicodeScalars {
            switch ch {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if ch.value < 0x20 || ch.value == 0x7F {
                    out += "\\x" + (ch.value < 0x10 ? "0" : "") + String(ch.value, radix: 16)
                } else {
                    out.unicodeScalars.append(ch)
                }
            }
        }
        return out + "\""
    }

    static func isPlainLabelName(_ s: String) -> Bool {
        guard let first = s.utf8.first, Lexer.isWordStart(first) else { return false }
        return s.utf8.allSatisfy { Lexer.isWordStart($0) || Lexer.isDigit($0) }
    }

    static func isPlainMetricName(_ s: String) -> Bool {
        guard let first = s.utf8.first, Lexer.isWordStart(first) || first == UInt8(ascii: ":") else { return false }
        return s.utf8.allSatisfy { Lexer.isWordByte($0) }
    }

    static func labelName(_ s: String) -> String { isPlainLabelName(s) ? s : quote(s) }

    static func duration(_ ms: Int64) -> String {
        if ms == 0 { return "0s" }
        var rest = ms.magnitude
        var out = ms < 0 ? "-" : ""
        let units: [(String, UInt64)] = [("y", 365 * 86_400_000), ("w", 7 * 86_400_000), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)]
        for (unit, size) in units where rest >= size {
            out += "\(rest / size)\(unit)"
            rest %= size
        }
        return out
    }

    static func number(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "Inf" : "-Inf" }
        return PrometheusFormat.float(v)
    }

    static func grouping(_ labels: [String]) -> String {
        "(" + labels.map(labelName).joined(separator: ", ") + ")"
    }

    static func modifiers(offset: Int64, at: AtModifier?) -> String {
        var out = ""
        if let at {
            switch at {
            case .timestamp(let t): out += " @ " + PrometheusFormat.timestamp(t)
            case .start: out += " @ start()"
            case .end: out += " @ end()"
            }
        }
        if offset > 0 { out += " offset " + duration(offset) }
        if offset < 0 { out += " offset -" + duration(-offset) }
        return out
    }
}

extension VectorSelector: CustomStringConvertible {
    public var description: String {
        let shown = matchers.filter { !($0.name == Labels.metricName && $0.op == .equal && $0.value == name) }
        var out = ""
        if let name {
            out = AST.isPlainMetricName(name) ? name : "{" + AST.quote(name) + (shown.isEmpty ? "" : ", ")
            if AST.isPlainMetricName(name) {
                if !shown.isEmpty { out += "{" + shown.map(\.description).joined(separator: ", ") + "}" }
            } else {
                out += shown.map(\.description).joined(separator: ", ") + "}"
            }
        } else {
            out = "{" + shown.map(\.description).joined(separator: ", ") + "}"
        }
        return out + AST.modifiers(offset: offset, at: at)
    }
}

extension Expr: CustomStringConvertible {
    /// The expression in canonical PromQL; parsing it again gives the same tree.
    public var description: String {
        switch self {
        case .number(let n): return AST.number(n.value)
        case .string(let s): return AST.quote(s.value)
        case .vectorSelector(let v): return v.description
        case .matrixSelector(let m):
            var plain = m.selector
            plain.offset = 0
            plain.at = nil
            return plain.description + "[" + AST.duration(m.range) + "]" + AST.modifiers(offset: m.selector.offset, at: m.selector.at)
        case .subquery(let s):
            return s.expr.description + "[" + AST.duration(s.range) + ":" + (s.step.map(AST.duration) ?? "") + "]"
                + AST.modifiers(offset: s.offset, at: s.at)
        case .call(let c):
            return c.function.name + "(" + c.args.map(\.description).joined(separator: ", ") + ")"
        case .aggregation(let a):
            var out = a.op.rawValue
            if !a.grouping.isEmpty || a.without {
                out += (a.without ? " without " : " by ") + AST.grouping(a.grouping) + " "
            }
            out += "("
            if let p = a.param { out += p.description + ", " }
            return out + a.expr.description + ")"
        case .binary(let b):
            var out = b.lhs.description + " " + b.op.rawValue
            if b.returnBool { out += " bool" }
            if let m = b.matching {
                if m.on || !m.labels.isEmpty { out += (m.on ? " on" : " ignoring") + AST.grouping(m.labels) }
                switch m.cardinality {
                case .manyToOne: out += " group_left" + (m.include.isEmpty ? "" : AST.grouping(m.include))
                case .oneToMany: out += " group_right" + (m.include.isEmpty ? "" : AST.grouping(m.include))
                default: break
                }
            }
            return out + " " + b.rhs.description
        case .unary(let u): return (u.negate ? "-" : "+") + u.expr.description
        case .parenthesized(let p): return "(" + p.expr.description + ")"
        }
    }
}
