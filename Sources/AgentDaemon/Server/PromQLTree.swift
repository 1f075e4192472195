import TextRendering
import JSON
import Notify
import Query

/// An expression's syntax tree as JSON, the shape Prometheus 3's `/api/v1/parse_query` gives its
/// UI's tree view (`web/api/v1/translate_ast.go`): `{"type":"binaryExpr","op":"/","lhs":…}`.
enum PromQLTree {
    static func json(_ expr: Expr) -> JSON {
        switch expr {
        case .number(let n):
            return .object([("type", "numberLiteral"), ("val", .string(PrometheusFormat.float(n.value)))])
        case .string(let s):
            return .object([("type", "stringLiteral"), ("val", .string(s.value))])
        case .vectorSelector(let v):
            return .object([("type", "vectorSelector"), ("name", .string(v.name ?? "")), ("offset", .int(v.offset)),
                            ("matchers", matchers(v.matchers)), ("timestamp", timestamp(v.at)), ("startOrEnd", startOrEnd(v.at))])
        case .matrixSelector(let m):
            let v = m.selector
            return .object([("type", "matrixSelector"), ("name", .string(v.name ?? "")), ("range", .int(m.range)), ("offset", .int(v.offset)),
                            ("matchers", matchers(v.matchers)), ("timestamp", timestamp(v.at)), ("startOrEnd", startOrEnd(v.at))])
        case .subquery(let s):
            return .object([("type", "subquery"), ("expr", json(s.expr)), ("range", .int(s.range)), ("offset", .int(s.offset)),
                            ("step", .int(s.step ?? 0)), ("timestamp", timestamp(s.at)), ("startOrEnd", startOrEnd(s.at))])
        case .call(let c):
            let f = c.function
            return .object([
                ("type", "call"),
                ("func", .object([("name", .string(f.name)), ("argTypes", .array(f.argTypes.map(valueType))),
                                  ("variadic", .int(Int64(f.variadic))), ("returnType", valueType(f.returnType))])),
                ("args", .array(c.args.map(json))),
            ])
        case .aggregation(let a):
            return .object([("type", "aggregation"), ("op", .string(a.op.rawValue)), ("expr", json(a.expr)), ("param", a.param.map(json) ?? .null),
                            ("grouping", .array(a.grouping.map { .string($0) })), ("without", .bool(a.without))])
        case .binary(let b):
            var matching = JSON.null
            if let m = b.matching {
                matching = .object([("card", .string(cardinality(m.cardinality))), ("labels", .array(m.labels.map { .string($0) })),
                                    ("on", .bool(m.on)), ("include", .array(m.include.map { .string($0) }))])
            }
            return .object([("type", "binaryExpr"), ("op", .string(b.op.rawValue)), ("lhs", json(b.lhs)), ("rhs", json(b.rhs)),
                            ("matching", matching), ("bool", .bool(b.returnBool))])
        case .unary(let u):
            return .object([("type", "unaryExpr"), ("op", .string(u.negate ? "-" : "+")), ("expr", json(u.expr))])
        case .parenthesized(let p):
            return .object([("type", "parenExpr"), ("expr", json(p.expr))])
        }
    }

    static func matchers(_ ms: [LabelMatcher]) -> JSON {
        .array(ms.map { .object([("name", .string($0.name)), ("value", .string($0.value)), ("type", .string($0.op.rawValue))]) })
    }

    /// `@ 1700000000` as milliseconds; nil for none and for `@ start()`/`@ end()`.
    static func timestamp(_ at: AtModifier?) -> JSON {
        if case .timestamp(let t) = at { return .int(t) }
        return .null
    }

    static func startOrEnd(_ at: AtModifier?) -> JSON {
        switch at {
        case .start: "start"
        case .end: "end"
        default: .null
        }
    }

    /// Prometheus's `parser.ValueType` names.
    static func valueType(_ t: ValueType) -> JSON {
        switch t {
        case .scalar: "scalar"
        case .instantVector: "vector"
        case .rangeVector: "matrix"
        case .string: "string"
        }
    }

    static func cardinality(_ c: VectorMatching.Cardinality) -> String {
        switch c {
        case .oneToOne: "one-to-one"
        case .manyToOne: "many-to-one"
        case .oneToMany: "one-to-many"
        case .manyToMany: "many-to-many"
        }
    }
}
