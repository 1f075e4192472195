import TimeSeries

/// Label operations the evaluator needs, on the encoded bytes (`name 0xFF value 0xFF …`, sorted by
/// name), so that dropping `__name__` or computing a grouping key costs one buffer and no String.
extension Labels {
    static let metricNameBytes: [UInt8] = Array(Labels.metricName.utf8)

    /// The value bytes of label `name`, or nil when absent.
    func value(of name: [UInt8]) -> ArraySlice<UInt8>? {
        let b = encoded
        var i = 0
        let n = b.count
        while i < n {
            var j = i
            while b[j] != 0xFF { j += 1 }
            var k = j + 1
            while b[k] != 0xFF { k += 1 }
            if j - i == name.count, b[i..<j].elementsEqual(name) { return b[(j + 1)..<k] }
            i = k + 1
        }
        return nil
    }

    /// The value of label `name` as a String, or "" when absent.
    func string(of name: String) -> String {
        value(of: Array(name.utf8)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// Calls `body` with the byte ranges of each name and value, in name order.
    @inline(__always)
    func forEachPair(_ body: (_ name: Range<Int>, _ value: Range<Int>) -> Void) {
        let b = encoded
        var i = 0
        let n = b.count
        while i < n {
            var j = i
            while b[j] != 0xFF { j += 1 }
            var k = j + 1
            while b[k] != 0xFF { k += 1 }
            body(i..<j, (j + 1)..<k)
            i = k + 1
        }
    }

    /// A copy without `__name__` (cheap when there is none).
    var droppingMetricName: Labels {
        let b = encoded
        // Fast check: most label sets that have a name hold it early, but scan properly.
        guard let v = value(of: Labels.metricNameBytes) else { return self }
        _ = v
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        forEachPair { name, value in
            if b[name].elementsEqual(Labels.metricNameBytes) { return }
            out.append(contentsOf: b[name])
            out.append(0xFF)
            out.append(contentsOf: b[value])
            out.append(0xFF)
        }
        return Labels(encoded: out) ?? self
    }

    /// Appends to `key` the encoded pairs of the labels kept by a grouping (`by`: only `names`;
    /// `without`: all but `names` and `__name__`). `names` must be sorted for `by`.
    func appendGroupingKey(into key: inout [UInt8], names: [[UInt8]], without: Bool) {
        let b = encoded
        if without {
            forEachPair { name, value in
                let n = b[name]
                if n.elementsEqual(Labels.metricNameBytes) { return }
                for excluded in names where n.elementsEqual(excluded) { return }
                key.append(contentsOf: n)
                key.append(0xFF)
                key.append(contentsOf: b[value])
                key.append(0xFF)
            }
        } else {
            for name in names {
                guard let v = value(of: name), !v.isEmpty else { continue }
                key.append(contentsOf: name)
                key.append(0xFF)
                key.append(contentsOf: v)
                key.append(0xFF)
            }
        }
    }

    /// Label set from pairs that are already sorted and unique (a grouping key).
    static func fromSortedKey(_ key: [UInt8]) -> Labels {
        Labels(encoded: key) ?? Labels()
    }
}

/// Label names for grouping and matching, as sorted, de-duplicated byte arrays.
func sortedLabelNames(_ names: [String]) -> [[UInt8]] {
    Array(Set(names.map { Array($0.utf8) })).sorted { $0.lexicographicallyPrecedes($1) }
}
