/// A string written as a JSON string literal into a `String`, escaped as `JSON` writes strings.
///
/// For the JSON written by hand as text: the query API's answers (`QueryValue`), error bodies,
/// Go's `%q` in messages.
public enum JSONString {
    /// Appends `s`, quoted and escaped, to `out`.
    public static func append(_ s: String, to out: inout String) {
        if JSON.needsNoEscaping(s) {
            out += "\""
            out += s
            out += "\""
            return
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(s.utf8.count + 8)
        JSON.writeString(s, into: &bytes, escapeHTML: false)
        out += String(decoding: bytes, as: UTF8.self)
    }

    /// `s` quoted and escaped.
    public static func quoted(_ s: String) -> String {
        var out = ""
        append(s, to: &out)
        return out
    }
}
