#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TimeSeries

extension Evaluator {
    mutating func binary(_ b: BinaryOperation, at t: Timestamp) throws(QueryError) -> Value {
        let lhs = try eval(b.lhs, at: t)
        // `x and …` / `x unless …` with an empty left side need not evaluate the right.
        if case .vector(let l) = lhs, l.isEmpty, b.op == .and || b.op == .unless { return .vector([]) }
        let rhs = try eval(b.rhs, at: t)
        switch (lhs, rhs) {
        case (.scalar(let l), .scalar(let r)):
            let (v, keep) = Evaluator.apply(b.op, l, r)
            return .scalar(b.op.isComparison ? (keep ? 1 : 0) : v)
        case (.vector(let v), .scalar(let s)):
            return .vector(try vectorScalar(b, v, s, scalarOnLeft: false, at: t))
        case (.scalar(let s), .vector(let v)):
            return .vector(try vectorScalar(b, v, s, scalarOnLeft: true, at: t))
        case (.vector(let l), .vector(let r)):
            let matching = b.matching ?? VectorMatching(cardinality: .oneToOne, labels: [], on: false, include: [])
            switch b.op {
            case .and, .or, .unless: return .vector(setOperation(b.op, l, r, matching))
            default: return .vector(try vectorVector(b, l, r, matching, at: t))
            }
        default:
            throw QueryError(kind: .type, message: "binary expression must contain only scalar and instant vector types", range: b.position, line: 0, column: 0)
        }
    }

    /// The result of `l op r` and, for comparisons, whether it holds (the value is then `l`).
    static func apply(_ op: BinaryOp, _ l: Double, _ r: Double) -> (Double, Bool) {
        switch op {
        case .add: return (l + r, true)
        case .sub: return (l - r, true)
        case .mul: return (l * r, true)
        case .div: return (l / r, true)
        case .mod: return (fmod(l, r), true)
        case .pow: return (pow(l, r), true)
        case .atan2: return (atan2(l, r), true)
        case .equal: return (l, l == r)
        case .notEqual: return (l, l != r)
        case .less: return (l, l < r)
        case .lessEqual: return (l, l <= r)
        case .greater: return (l, l > r)
        case .greaterEqual: return (l, l >= r)
        case .and, .or, .unless: return (l, true)
        }
    }

    /// Arithmetic drops the metric name; comparisons, set operators and (as in Prometheus) `atan2` keep it.
    static func dropsMetricName(_ op: BinaryOp) -> Bool {
        switch op {
        case .add, .sub, .mul, .div, .mod, .pow: true
        default: false
        }
    }

    mutating func vectorScalar(_ b: BinaryOperation, _ v: [Element], _ s: Double, scalarOnLeft: Bool, at t: Timestamp) throws(QueryError) -> [Element] {
        var out: [Element] = []
        out.reserveCapacity(v.count)
        let drop = Evaluator.dropsMetricName(b.op) || b.returnBool
        for var e in v {
            var (value, keep) = scalarOnLeft ? Evaluator.apply(b.op, s, e.value) : Evaluator.apply(b.op, e.value, s)
            // A comparison keeps the vector's value even when the scalar is on the left.
            if b.op.isComparison && scalarOnLeft { value = e.value }
            if b.returnBool {
                value = keep ? 1 : 0
                keep = true
            }
            guard keep else { continue }
            e.value = value
            e.timestamp = t
            if drop { e.labels = e.labels.droppingMetricName }
            out.append(e)
        }
        if drop { try checkUnique(out, b.position) }
        return out
    }

    /// The key two elements match on: the `on` labels, or all but the `ignoring` ones and the name.
    func signature(_ labels: Labels, _ m: VectorMatching, _ names: [[UInt8]], into key: inout [UInt8]) {
        key.removeAll(keepingCapacity: true)
        labels.appendGroupingKey(into: &key, names: names, without: !m.on)
    }

    /// `{a="b", c="d"}`, as Prometheus prints label sets in messages.
    static func braces(_ labels: Labels) -> String {
        "{" + labels.labels.map { "\($0.name)=\(AST.quote($0.value))" }.joined(separator: ", ") + "}"
    }

    func setOperation(_ op: BinaryOp, _ l: [Element], _ r: [Element], _ m: VectorMatching) -> [Element] {
        let names = sortedLabelNames(m.labels)
        var key: [UInt8] = []
        switch op {
        case .and, .unless:
            var right = Set<[UInt8]>()
            for e in r {
                signature(e.labels, m, names, into: &key)
                right.insert(key)
            }
            return l.filter { e in
                signature(e.labels, m, names, into: &key)
                return right.contains(key) == (op == .and)
            }
        default:
            var left = Set<[UInt8]>()
            for e in l {
                signature(e.labels, m, names, into: &key)
                left.insert(key)
            }
            var out = l
            for e in r {
                signature(e.labels, m, names, into: &key)
                if !left.contains(key) { out.append(e) }
            }
            return out
        }
    }

    /// Vector matching as Prometheus 3's `VectorBinop` does it: an empty side gives an empty result
    /// before anything is checked (so duplicates on the other side are no error); otherwise
    /// duplicate series on the "one" side are an error whether or not they match, and a second
    /// match for a result is an error even when the comparison then filters it out.
    mutating func vectorVector(_ b: BinaryOperation, _ lhsIn: [Element], _ rhsIn: [Element], _ m: VectorMatching, at t: Timestamp) throws(QueryError) -> [Element] {
        if lhsIn.isEmpty || rhsIn.isEmpty { return [] }
        let names = sortedLabelNames(m.labels)
        let oneToMany = m.cardinality == .oneToMany
        // Handle one-to-many as many-to-one with the sides swapped, and swap the operands back.
        let lhs = oneToMany ? rhsIn : lhsIn
        let rhs = oneToMany ? lhsIn : rhsIn
        var key: [UInt8] = []
        var rightIndex: [[UInt8]: Int] = [:]
        rightIndex.reserveCapacity(rhs.count)
        for (i, e) in rhs.enumerated() {
            signature(e.labels, m, names, into: &key)
            if let previous = rightIndex[key] {
                let side = oneToMany ? "left" : "right"
                let group = m.on ? e.labels.keeping(Set(m.labels)) : e.labels.removing(Set(m.labels + [Labels.metricName]))
                throw QueryError(kind: .evaluation, message: "found duplicate series for the match group \(Evaluator.braces(group)) on the \(side) hand-side of the operation: [\(Evaluator.braces(e.labels)), \(Evaluator.braces(rhs[previous].labels))];many-to-many matching not allowed: matching labels must be unique on one side", range: b.position, line: 0, column: 0)
            }
            rightIndex[key] = i
        }
        var matchedOnce = Set<[UInt8]>()
        var matchedMany: [[UInt8]: Set<Labels>] = [:]
        var out: [Element] = []
        let drop = Evaluator.dropsMetricName(b.op)
        let includeBytes = m.include.map { Array($0.utf8) }
        let matchNames = Set(m.labels)
        for e in lhs {
            signature(e.labels, m, names, into: &key)
            guard let ri = rightIndex[key] else { continue }
            let other = rhs[ri]
            let (fl, fr) = oneToMany ? (other.value, e.value) : (e.value, other.value)
            var (value, keep) = Evaluator.apply(b.op, fl, fr)
            if b.returnBool { value = keep ? 1 : 0 }
            // One-to-one: a second match is an error even when the comparison drops it.
            if m.cardinality == .oneToOne {
                guard matchedOnce.insert(key).inserted else {
                    throw QueryError(kind: .evaluation, message: "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)", range: b.position, line: 0, column: 0)
                }
                if !keep && !b.returnBool { continue }
            }
            // The result's labels: the "many" side's, without the name for arithmetic; one-to-one
            // keeps only the `on` labels (or drops the `ignoring` ones); group_x copies labels from the "one" side.
            var labels = e.labels
            if drop || b.returnBool { labels = labels.droppingMetricName }
            if m.cardinality == .oneToOne {
                if m.on {
                    labels = labels.keeping(matchNames)
                } else if !m.labels.isEmpty {
                    labels = labels.removing(matchNames)
                }
            }
            if !includeBytes.isEmpty {
                var builder = LabelsBuilder(labels)
                for (name, bytes) in zip(m.include, includeBytes) {
                    let v = other.labels.value(of: bytes).map { String(decoding: $0, as: UTF8.self) } ?? ""
                    builder.set(name, v)
                }
                labels = builder.build()
            }
            if m.cardinality != .oneToOne {
                guard matchedMany[key, default: []].insert(labels).inserted else {
                    throw QueryError(kind: .evaluation, message: "multiple matches for labels: grouping labels must ensure unique matches", range: b.position, line: 0, column: 0)
                }
                if !keep && !b.returnBool { continue }
            }
            out.append(Element(labels: labels, value: value, timestamp: t))
        }
        return out
    }
}
