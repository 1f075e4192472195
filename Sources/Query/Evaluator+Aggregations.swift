import TimeSeries

extension Evaluator {
    /// `sum`, `avg`, `topk`, … over groups of an instant vector. Groups are keyed by the encoded
    /// bytes of the labels they keep (`by`: the listed ones; `without`: all but those and the
    /// name), which are also the result's labels; `topk`/`bottomk` keep their elements' own labels.
    mutating func aggregate(_ a: Aggregation, at t: Timestamp) throws(QueryError) -> [Element] {
        var parameter = 0.0
        var valueLabel = ""
        if let p = a.param {
            if a.op == .countValues {
                guard case .string(let s) = try eval(p, at: t) else { return [] }
                valueLabel = s
                guard AST.isPlainLabelName(valueLabel) else {
                    throw QueryError(kind: .evaluation, message: "invalid label name \(AST.quote(valueLabel)) for count_values", range: p.position, line: 0, column: 0)
                }
            } else {
                parameter = try scalarArgument(p, at: t)
            }
        }
        // sum by (route) (rate(x[5m])): the aggregation drops the name, so the call need not.
        let input: [Element]
        if a.op != .topk, a.op != .bottomk, !a.grouping.contains(Labels.metricName),
            case .call(let c) = a.expr.unparenthesized, Evaluator.isRangeFunction(c.function.id), Evaluator.canDeferNameDrop(c)
        {
            input = try rangeFunction(c, at: t, deferNameDrop: true)
        } else {
            input = try vectorArgument(a.expr, at: t)
        }
        if input.isEmpty { return [] }
        let names = sortedLabelNames(a.grouping)

        // Group membership: group index per element, group labels in first-seen order.
        var index: [[UInt8]: Int] = [:]
        var groupKeys: [[UInt8]] = []
        var membership = [Int](repeating: 0, count: input.count)
        var key: [UInt8] = []
        key.reserveCapacity(64)
        if !a.without && names.isEmpty {
            // `sum(x)`: every element has the empty key, so there is one group and nothing to hash
            // per element (a range query aggregates 1 000 elements at each of its steps).
            groupKeys = [[]]
        } else {
            for (i, e) in input.enumerated() {
                key.removeAll(keepingCapacity: true)
                e.labels.appendGroupingKey(into: &key, names: names, without: a.without)
                if let g = index[key] {
                    membership[i] = g
                } else {
                    membership[i] = groupKeys.count
                    index[key] = groupKeys.count
                    groupKeys.append(key)
                }
            }
        }
        let groupCount = groupKeys.count
        func labels(_ g: Int) -> Labels { Labels.fromSortedKey(groupKeys[g]) }

        switch a.op {
        case .sum:
            var sums = [KahanSum](repeating: KahanSum(), count: groupCount)
            for (i, e) in input.enumerated() { sums[membership[i]].add(e.value) }
            return (0..<groupCount).map { Element(labels: labels($0), value: sums[$0].value, timestamp: t) }
        case .count, .group:
            var counts = [Double](repeating: 0, count: groupCount)
            for i in input.indices { counts[membership[i]] += 1 }
            return (0..<groupCount).map { Element(labels: labels($0), value: a.op == .group ? 1 : counts[$0], timestamp: t) }
        case .min, .max:
            var values = [Double](repeating: .nan, count: groupCount)
            var seen = [Bool](repeating: false, count: groupCount)
            for (i, e) in input.enumerated() {
                let g = membership[i]
                let current = values[g]
                if !seen[g] || current.isNaN || (a.op == .max ? e.value > current : e.value < current) {
                    values[g] = e.value
                    seen[g] = true
                }
            }
            return (0..<groupCount).map { Element(labels: labels($0), value: values[$0], timestamp: t) }
        case .avg, .quantile:
            var members = [[Double]](repeating: [], count: groupCount)
            for (i, e) in input.enumerated() { members[membership[i]].append(e.value) }
            return (0..<groupCount).map { g in
                let v = a.op == .avg ? Evaluator.average(members[g]) : Evaluator.quantile(parameter, members[g])
                return Element(labels: labels(g), value: v, timestamp: t)
            }
        case .stddev, .stdvar:
            var count = [Double](repeating: 0, count: groupCount)
            var mean = [Double](repeating: 0, count: groupCount)
            var aux = [Double](repeating: 0, count: groupCount)
            for (i, e) in input.enumerated() {
                let g = membership[i]
                count[g] += 1
                let delta = e.value - mean[g]
                mean[g] += delta / count[g]
                aux[g] += delta * (e.value - mean[g])
            }
            return (0..<groupCount).map { g in
                let variance = aux[g] / count[g]
                return Element(labels: labels(g), value: a.op == .stddev ? variance.squareRoot() : variance, timestamp: t)
            }
        case .topk, .bottomk:
            if parameter.isNaN {
                throw QueryError(kind: .evaluation, message: "parameter value of \(a.op.rawValue) is NaN", range: a.position, line: 0, column: 0)
            }
            guard parameter.magnitude < 9.2e18 else {
                throw QueryError(kind: .evaluation, message: "scalar value \(PrometheusFormat.float(parameter)) overflows int64", range: a.position, line: 0, column: 0)
            }
            let k = Int(parameter)
            if k < 1 { return [] }
            var members = [[Int]](repeating: [], count: groupCount)
            for i in input.indices { members[membership[i]].append(i) }
            var out: [Element] = []
            let top = a.op == .topk
            for group in members {
                let ordered = group.sorted { x, y in
                    let vx = input[x].value
                    let vy = input[y].value
                    if vx.isNaN { return false }
                    if vy.isNaN { return true }
                    return top ? vx > vy : vx < vy
                }
                for i in ordered.prefix(k) {
                    var e = input[i]
                    e.timestamp = t
                    out.append(e)
                }
            }
            return out
        case .countValues:
            var counts: [Labels: Double] = [:]
            var order: [Labels] = []
            for (i, e) in input.enumerated() {
                let l = labels(membership[i]).setting(valueLabel, to: PrometheusFormat.float(e.value))
                if counts[l] == nil { order.append(l) }
                counts[l, default: 0] += 1
            }
            return order.map { Element(labels: $0, value: counts[$0]!, timestamp: t) }
        }
    }
}
