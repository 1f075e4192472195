/// Why an exposition body was rejected: the line and what was wrong with it.
///
/// As in Prometheus, one malformed line fails the whole scrape; the message quotes the offending
/// input so that the target's last error says what to fix.
public struct ExpositionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// 1-based line number of the offending line.
    public var line: Int
    /// What was wrong, quoting the input.
    public var message: String

    public init(line: Int, message: String) {
        self.line = line
        self.message = message
    }

    /// `line N: message`, the form Prometheus reports and `agent scrape` prints.
    public var description: String { "line \(line): \(message)" }
}

extension ExpositionError {
    /// Quotes at most `limit` bytes of input for an error message, escaping what is not printable.
    static func quote(_ bytes: UnsafeRawBufferPointer, limit: Int = 40) -> String {
        var out = "\""
        let shown = UnsafeRawBufferPointer(rebasing: bytes.prefix(limit))
        for scalar in String(decoding: shown, as: UTF8.self).unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\u{" + String(scalar.value, radix: 16) + "}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
        if bytes.count > limit { out += "…" }
        return out
    }
}
