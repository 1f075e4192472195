/// A string written as a JSON string literal: quotes, backslashes and control characters escaped
/// (RFC 8259), everything else as it is.
///
/// For the JSON both the small `agent` (`JSONValue`) and the daemon's query API (`QueryValue`) write
/// by hand, without Foundation's encoder.
public enum JSONString {
    /// Appends `s`, quoted and escaped, to `out`.
    public static func append(_ s: String, to out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        out += "\""
    }
}
