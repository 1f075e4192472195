/// Renders samples in the Prometheus text exposition format (0.0.4) into a byte buffer.
///
/// Label values are escaped; values use Prometheus's spelling of special floats (`NaN`, `+Inf`,
/// `-Inf`). The buffer is the caller's, so a page is built without an allocation per sample.
public struct ExpositionWriter: Sendable {
    /// The page so far.
    public var bytes: [UInt8] = []

    public init(capacity: Int = 4096) { bytes.reserveCapacity(capacity) }

    /// `# HELP` and `# TYPE` lines for a metric family.
    public mutating func family(_ name: String, type: String, help: String) {
        append("# HELP ")
        append(name)
        append(" ")
        for ch in help.utf8 {
            switch ch {
            case UInt8(ascii: "\\"): append("\\\\")
            case UInt8(ascii: "\n"): append("\\n")
            default: bytes.append(ch)
            }
        }
        append("\n# TYPE ")
        append(name)
        append(" ")
        append(type)
        bytes.append(UInt8(ascii: "\n"))
    }

    /// One sample line: `name{labels} value [timestamp]`; `labels` may hold `__name__`, which `name` overrides.
    public mutating func sample(_ name: String, _ labels: Labels = Labels(), value: Double, timestamp: Timestamp? = nil) {
        append(name)
        var first = true
        labels.forEach { n, v in
            if n.elementsEqual(Labels.metricName.utf8) { return }
            bytes.append(first ? UInt8(ascii: "{") : UInt8(ascii: ","))
            first = false
            bytes.append(contentsOf: n)
            append("=\"")
            for ch in v {
                switch ch {
                case UInt8(ascii: "\\"): append("\\\\")
                case UInt8(ascii: "\""): append("\\\"")
                case UInt8(ascii: "\n"): append("\\n")
                default: bytes.append(ch)
                }
            }
            bytes.append(UInt8(ascii: "\""))
        }
        if !first { bytes.append(UInt8(ascii: "}")) }
        bytes.append(UInt8(ascii: " "))
        append(ExpositionWriter.format(value))
        if let timestamp {
            bytes.append(UInt8(ascii: " "))
            append(String(timestamp))
        }
        bytes.append(UInt8(ascii: "\n"))
    }

    /// A sample whose labels are given as pairs (for self-metrics).
    public mutating func sample(_ name: String, _ pairs: KeyValuePairs<String, String>, value: Double) {
        sample(name, Labels(pairs.map { ($0.key, $0.value) }), value: value)
    }

    @inline(__always) mutating func append(_ s: String) { bytes.append(contentsOf: s.utf8) }

    /// Prometheus's text for a value: integers without a fraction, `NaN`, `+Inf`, `-Inf`.
    public static func format(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v == .infinity { return "+Inf" }
        if v == -.infinity { return "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }
}
