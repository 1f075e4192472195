/// Form values as Go's `net/url.ParseQuery` reads them: `key=value` pairs split on `&`, `+` as a
/// space, `%XX` escapes, repeated keys kept in order (`match[]=a&match[]=b`).
///
/// As in Go ≥ 1.17, a `;` in a pair is an error ("invalid semicolon separator in query"), and so
/// is a malformed escape (`invalid URL escape "%zz"`); Prometheus's handlers answer either with
/// 400 `bad_data` ("error parsing form values: …"). Decoded bytes that are not UTF-8 are kept as
/// Go keeps them, replaced here by U+FFFD since Swift strings are Unicode.
public struct FormValues: Sendable, Equatable {
    /// Every pair in order.
    public private(set) var pairs: [(key: String, value: String)] = []

    public init() {}

    /// Parses `text` (a query string or a form body); throws Go's error for the first bad pair.
    public init(parsing text: String) throws(FormError) {
        var firstError: FormError?
        let bytes = Array(text.utf8)
        for pair in bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            if pair.contains(UInt8(ascii: ";")) {
                // Go sets this error whatever came before (the others only when none did).
                firstError = FormError(message: "invalid semicolon separator in query")
                continue
            }
            let eq = pair.firstIndex(of: UInt8(ascii: "="))
            let rawKey = eq.map { pair[..<$0] } ?? pair[...]
            let rawValue = eq.map { pair[($0 + 1)...] } ?? pair[pair.endIndex...]
            do throws(FormError) {
                let key = try FormValues.unescape(rawKey)
                let value = try FormValues.unescape(rawValue)
                pairs.append((key, value))
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        if let firstError { throw firstError }
    }

    /// The first value of `key`, if any (Go's `Values.Get`, Prometheus's `r.FormValue`).
    public subscript(key: String) -> String? { pairs.first { $0.key == key }?.value }

    /// Every value of `key`, in order (`match[]`).
    public func values(of key: String) -> [String] { pairs.filter { $0.key == key }.map(\.value) }

    /// Appends the pairs of `other` after these (Go's `Request.Form`: body pairs, then URL pairs).
    public mutating func append(contentsOf other: FormValues) { pairs += other.pairs }

    /// Appends one pair.
    public mutating func append(_ key: String, _ value: String) { pairs.append((key, value)) }

    public var isEmpty: Bool { pairs.isEmpty }

    public static func == (a: FormValues, b: FormValues) -> Bool {
        a.pairs.count == b.pairs.count && zip(a.pairs, b.pairs).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    /// Go's `unescape(s, encodeQueryComponent)`: `+` is a space, `%` must be followed by two hex digits.
    static func unescape(_ bytes: ArraySlice<UInt8>) throws(FormError) -> String {
        guard bytes.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) else {
            return String(decoding: bytes, as: UTF8.self)
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let c = bytes[i]
            if c == UInt8(ascii: "%") {
                let a = bytes.index(after: i)
                let b = a < bytes.endIndex ? bytes.index(after: a) : a
                guard b < bytes.endIndex, let hi = RequestParser.hexValue(bytes[a]), let lo = RequestParser.hexValue(bytes[b]) else {
                    // Go quotes at most the three bytes from the '%'.
                    var end = i
                    for _ in 0..<3 where end < bytes.endIndex { end = bytes.index(after: end) }
                    throw FormError(message: "invalid URL escape \(quoted(String(decoding: bytes[i..<end], as: UTF8.self)))")
                }
                out.append(hi << 4 | lo)
                i = bytes.index(after: b)
            } else {
                out.append(c == UInt8(ascii: "+") ? 32 : c)
                i = bytes.index(after: i)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Percent-decodes a path segment (Go's `PathUnescape`: `+` stays a plus); nil when malformed.
    public static func unescapePath(_ text: some StringProtocol) -> String? {
        guard text.utf8.contains(UInt8(ascii: "%")) else { return String(text) }
        var out: [UInt8] = []
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%") {
                guard i + 2 < bytes.count, let hi = RequestParser.hexValue(bytes[i + 1]), let lo = RequestParser.hexValue(bytes[i + 2]) else { return nil }
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// A form that Go's `url.ParseQuery` refuses, with Go's message.
public struct FormError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Go's `%q` of a short string: quotes, with `"` and `\` escaped and controls as `\xNN`.
func quoted(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        default:
            if scalar.value < 32 || scalar.value == 127 {
                let hex = String(scalar.value, radix: 16)
                out += "\\x" + (hex.count < 2 ? "0" : "") + hex
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}
