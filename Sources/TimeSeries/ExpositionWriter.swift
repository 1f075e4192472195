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
        var open = false
        writeLabels(labels, open: &open)
        finish(open: open, value: value, timestamp: timestamp)
    }

    /// One sample line of a stored series, as a federation page writes it: `name` + `suffix`, the
    /// series' labels (without `__name__`), then each of `extra` the series does not have itself
    /// (external labels, which never override), then `blank` with an empty value when neither has
    /// it (Prometheus's federation writes `instance=""`, so that a scraper with `honor_labels`
    /// keeps a series without an instance as it is), then `label` when given (a summary's
    /// `quantile`). Writes straight into the buffer: no allocation per line beyond the buffer's growth.
    public mutating func sample(_ name: String, suffix: StaticString = "", _ labels: Labels, adding extra: Labels,
                                blank: StaticString? = nil, label: (name: StaticString, value: StaticString)? = nil,
                                value: Double, timestamp: Timestamp?) {
        append(name)
        suffix.withUTF8Buffer { bytes.append(contentsOf: $0) }
        var open = false
        writeLabels(labels, open: &open)
        extra.forEach { n, v in
            var present = false
            labels.forEach { have, _ in if !present, have.elementsEqual(n) { present = true } }
            if !present { writeLabel(n, v, open: &open) }
        }
        if let blank {
            var present = false
            blank.withUTF8Buffer { b in
                labels.forEach { have, _ in if !present, have.elementsEqual(b) { present = true } }
                extra.forEach { have, _ in if !present, have.elementsEqual(b) { present = true } }
                if !present {
                    bytes.append(open ? UInt8(ascii: ",") : UInt8(ascii: "{"))
                    open = true
                    bytes.append(contentsOf: b)
                    append("=\"\"")
                }
            }
        }
        if let label {
            bytes.append(open ? UInt8(ascii: ",") : UInt8(ascii: "{"))
            open = true
            label.name.withUTF8Buffer { bytes.append(contentsOf: $0) }
            append("=\"")
            label.value.withUTF8Buffer { bytes.append(contentsOf: $0) }
            bytes.append(UInt8(ascii: "\""))
        }
        finish(open: open, value: value, timestamp: timestamp)
    }

    private mutating func writeLabels(_ labels: Labels, open: inout Bool) {
        labels.forEach { n, v in
            if n.elementsEqual(Labels.metricName.utf8) { return }
            writeLabel(n, v, open: &open)
        }
    }

    private mutating func writeLabel(_ n: ArraySlice<UInt8>, _ v: ArraySlice<UInt8>, open: inout Bool) {
        bytes.append(open ? UInt8(ascii: ",") : UInt8(ascii: "{"))
        open = true
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

    private mutating func finish(open: Bool, value: Double, timestamp: Timestamp?) {
        if open { bytes.append(UInt8(ascii: "}")) }
        bytes.append(UInt8(ascii: " "))
        appendValue(value)
        if let timestamp {
            bytes.append(UInt8(ascii: " "))
            appendInteger(timestamp)
        }
        bytes.append(UInt8(ascii: "\n"))
    }

    /// `format(v)` written into the buffer; integers (counts, timestamps) without a `String`.
    private mutating func appendValue(_ v: Double) {
        if v == v.rounded(), abs(v) < 1e15 {
            appendInteger(Int64(v))
        } else {
            append(ExpositionWriter.format(v))
        }
    }

    private mutating func appendInteger(_ n: Int64) {
        if n < 0 { bytes.append(UInt8(ascii: "-")) }
        // Digits least significant first, then reversed in place.
        let start = bytes.count
        var magnitude = n.magnitude
        repeat {
            bytes.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        bytes[start...].reverse()
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
