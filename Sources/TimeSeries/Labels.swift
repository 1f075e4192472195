/// One label: a name and its value.
public struct Label: Hashable, Sendable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// A label set: the identity of a series.
///
/// Stored as one byte buffer of `name 0xFF value 0xFF …` sorted by name, with its hash computed
/// once. 0xFF never occurs in UTF-8, so the encoding is unambiguous; equality is one `memcmp` and
/// hashing feeds a single precomputed 64-bit value. Names are unique: adding a name again replaces
/// its value. An empty value means "no such label", as in Prometheus, and is not stored.
public struct Labels: Hashable, Sendable, CustomStringConvertible {
    /// The label that holds the metric name.
    public static let metricName = "__name__"

    @usableFromInline let bytes: [UInt8]
    @usableFromInline let hash64: UInt64

    /// The empty label set.
    public init() {
        bytes = []
        hash64 = Labels.hash(bytes: [])
    }

    /// A label set from name/value pairs in any order; later duplicates win, empty values are dropped.
    public init<S: Sequence>(_ pairs: S) where S.Element == (String, String) {
        var builder = LabelsBuilder()
        for (name, value) in pairs { builder.set(name, value) }
        self = builder.build()
    }

    /// A label set from a dictionary.
    public init(_ dictionary: [String: String]) {
        self.init(dictionary.map { ($0.key, $0.value) })
    }

    /// A label set with a metric name and further labels.
    public init(name: String, _ labels: [String: String] = [:]) {
        var builder = LabelsBuilder()
        builder.set(Labels.metricName, name)
        for (n, v) in labels { builder.set(n, v) }
        self = builder.build()
    }

    @usableFromInline init(sortedEncoded bytes: [UInt8]) {
        self.bytes = bytes
        self.hash64 = Labels.hash(bytes: bytes)
    }

    /// The encoded form (`name 0xFF value 0xFF …`, sorted by name): what checkpoints store.
    public var encoded: [UInt8] { bytes }

    /// Rebuilds a label set from `encoded`; nil when the bytes are not a valid, sorted encoding.
    public init?(encoded: [UInt8]) {
        var previous: ArraySlice<UInt8>? = nil
        var i = 0
        var fields = 0
        while i < encoded.count {
            guard let nameEnd = encoded[i...].firstIndex(of: 0xFF), nameEnd > i else { return nil }
            let name = encoded[i..<nameEnd]
            guard let valueEnd = encoded[(nameEnd + 1)...].firstIndex(of: 0xFF), valueEnd > nameEnd + 1 else { return nil }
            if let previous, !previous.lexicographicallyPrecedes(name) { return nil }
            previous = name
            i = valueEnd + 1
            fields += 1
        }
        self.init(sortedEncoded: encoded)
    }

    public static func == (lhs: Labels, rhs: Labels) -> Bool {
        lhs.hash64 == rhs.hash64 && lhs.bytes == rhs.bytes
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(hash64)
    }

    /// A stable 64-bit hash of the label set (FNV-1a over the encoding), the same in every process.
    public var stableHash: UInt64 { hash64 }

    @usableFromInline static func hash(bytes: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes {
            h ^= UInt64(b)
            h &*= 0x0000_0100_0000_01b3
        }
        return h
    }

    /// Number of labels.
    public var count: Int {
        var n = 0
        for b in bytes where b == 0xFF { n += 1 }
        return n / 2
    }

    /// True when there is no label.
    public var isEmpty: Bool { bytes.isEmpty }

    /// The labels in name order.
    public var labels: [Label] {
        var result: [Label] = []
        forEach { name, value in
            result.append(Label(name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self)))
        }
        return result
    }

    /// Calls `body` with each name and value as bytes, in name order, without allocating.
    @inlinable
    public func forEach(_ body: (ArraySlice<UInt8>, ArraySlice<UInt8>) throws -> Void) rethrows {
        var i = 0
        var nameStart = 0
        var nameEnd = -1
        while i < bytes.count {
            if bytes[i] == 0xFF {
                if nameEnd < 0 {
                    nameEnd = i
                } else {
                    try body(bytes[nameStart..<nameEnd], bytes[(nameEnd + 1)..<i])
                    nameStart = i + 1
                    nameEnd = -1
                }
            }
            i += 1
        }
    }

    /// The value of label `name`, or nil when absent.
    public subscript(name: String) -> String? {
        var result: String?
        var nameBytes = name
        nameBytes.withUTF8 { wanted in
            forEach { n, v in
                if result == nil, n.elementsEqual(wanted) { result = String(decoding: v, as: UTF8.self) }
            }
        }
        return result
    }

    /// The metric name (`__name__`), if any.
    public var metricName: String? { self[Labels.metricName] }

    /// A copy with `name` set to `value` (removed when `value` is empty).
    public func setting(_ name: String, to value: String) -> Labels {
        var builder = LabelsBuilder(self)
        builder.set(name, value)
        return builder.build()
    }

    /// A copy without the named labels.
    public func removing(_ names: Set<String>) -> Labels {
        var builder = LabelsBuilder()
        for label in labels where !names.contains(label.name) { builder.set(label.name, label.value) }
        return builder.build()
    }

    /// A copy keeping only the named labels.
    public func keeping(_ names: Set<String>) -> Labels {
        var builder = LabelsBuilder()
        for label in labels where names.contains(label.name) { builder.set(label.name, label.value) }
        return builder.build()
    }

    /// A copy without the metric name, as PromQL functions and aggregations return.
    public var withoutMetricName: Labels { removing([Labels.metricName]) }

    /// `name{a="1", b="2"}` in the Prometheus text form, values escaped.
    public var description: String {
        var name = ""
        var rest: [String] = []
        for label in labels {
            if label.name == Labels.metricName { name = label.value; continue }
            rest.append("\(label.name)=\"\(Labels.escape(label.value))\"")
        }
        if rest.isEmpty { return name.isEmpty ? "{}" : name }
        return name + "{" + rest.joined(separator: ", ") + "}"
    }

    /// Escapes `\`, `"` and newline as the exposition format does.
    public static func escape(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for ch in value.unicodeScalars {
            switch ch {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }
}

/// Builds a `Labels` from names and values given as bytes or strings, in any order.
///
/// Reusable: `build()` leaves the builder intact and `removeAll()` keeps its storage, so a parser
/// can build one label set per line without allocating anything but the result.
public struct LabelsBuilder: Sendable {
    @usableFromInline var names: [[UInt8]] = []
    @usableFromInline var values: [[UInt8]] = []

    public init() {}

    /// A builder holding the labels of `labels`.
    public init(_ labels: Labels) {
        labels.forEach { n, v in
            names.append(Array(n))
            values.append(Array(v))
        }
    }

    /// Sets a label from bytes; an empty value removes it.
    public mutating func set<N: Collection, V: Collection>(bytes name: N, _ value: V) where N.Element == UInt8, V.Element == UInt8 {
        if let i = names.firstIndex(where: { $0.elementsEqual(name) }) {
            if value.isEmpty {
                names.remove(at: i)
                values.remove(at: i)
            } else {
                values[i].removeAll(keepingCapacity: true)
                values[i].append(contentsOf: value)
            }
            return
        }
        guard !value.isEmpty else { return }
        names.append(Array(name))
        values.append(Array(value))
    }

    /// Sets a label; an empty value removes it.
    public mutating func set(_ name: String, _ value: String) {
        set(bytes: name.utf8, value.utf8)
    }

    /// Removes every label, keeping storage.
    public mutating func removeAll() {
        names.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
    }

    /// Number of labels set.
    public var count: Int { names.count }

    /// The label set.
    public func build() -> Labels {
        var order = Array(names.indices)
        order.sort { names[$0].lexicographicallyPrecedes(names[$1]) }
        var total = 0
        for i in order { total += names[i].count + values[i].count + 2 }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(total)
        for i in order {
            bytes.append(contentsOf: names[i])
            bytes.append(0xFF)
            bytes.append(contentsOf: values[i])
            bytes.append(0xFF)
        }
        return Labels(sortedEncoded: bytes)
    }
}
