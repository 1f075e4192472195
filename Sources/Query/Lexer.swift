/// The kinds of token in a PromQL expression.
///
/// Words (metric names, label names, keywords, function names) are all `identifier`: whether
/// `sum` or `offset` is a keyword depends on where it stands, so the parser decides, as
/// Prometheus's lexer does with its inside-braces state.
enum TokenKind: Equatable, Sendable {
    case identifier, number, duration, string
    case leftParen, rightParen, leftBrace, rightBrace, leftBracket, rightBracket
    case comma, colon, at
    case assign, equal, notEqual, regexMatch, regexNoMatch
    case less, lessEqual, greater, greaterEqual
    case plus, minus, star, slash, percent, caret
    case eof
}

/// One token: its kind and the byte range it covers in the expression.
struct Token: Equatable, Sendable {
    var kind: TokenKind
    var start: Int
    var end: Int
}

/// The expression text as UTF-8 bytes, with the line/column arithmetic errors need.
struct Source: Sendable {
    let bytes: [UInt8]

    /// 1-based line and column (in Unicode scalars) of a byte offset.
    func lineColumn(of offset: Int) -> (line: Int, column: Int) {
        var line = 1
        var column = 1
        var i = 0
        let end = min(offset, bytes.count)
        while i < end {
            let b = bytes[i]
            if b == 0x0A {
                line += 1
                column = 1
            } else if b & 0xC0 != 0x80 {
                column += 1
            }
            i += 1
        }
        return (line, column)
    }

    func text(_ start: Int, _ end: Int) -> String {
        String(decoding: bytes[start..<end], as: UTF8.self)
    }

    func error(_ kind: QueryError.Kind, at offset: Int, end: Int? = nil, _ message: String) -> QueryError {
        let (line, column) = lineColumn(of: offset)
        return QueryError(kind: kind, message: message, range: offset..<max(offset, end ?? offset), line: line, column: column)
    }
}

/// Cuts an expression into tokens, all at once (expressions are short; the parser then looks
/// ahead freely).
///
/// Numbers follow Prometheus: decimal and exponent forms, hexadecimal `0x…`, `Inf` and `NaN` (as
/// words, resolved by the parser). A run of digits followed by a unit (`ms s m h d w y`, possibly
/// repeated: `1h30m`) is a duration. Strings are `"…"` or `'…'` with Go escapes, or raw `` `…` ``.
/// `#` starts a comment up to the end of the line.
struct Lexer {
    let source: Source

    static func isWordStart(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || b == 0x5F
    }

    static func isWordByte(_ b: UInt8) -> Bool {
        isWordStart(b) || isDigit(b) || b == 0x3A
    }

    static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    static func isUnit(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "s"), UInt8(ascii: "m"), UInt8(ascii: "h"), UInt8(ascii: "d"), UInt8(ascii: "w"), UInt8(ascii: "y"):
            return true
        default:
            return false
        }
    }

    func tokens() throws(QueryError) -> [Token] {
        let b = source.bytes
        var out: [Token] = []
        var i = 0
        let n = b.count
        // Inside `[…]` a colon separates a subquery's range and step; outside, it may start a
        // metric name (`:node_cpu:rate5m`), as in Prometheus's lexer.
        var bracketDepth = 0
        while true {
            // Skip white space and comments.
            while i < n {
                let c = b[i]
                if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D {
                    i += 1
                } else if c == UInt8(ascii: "#") {
                    while i < n && b[i] != 0x0A { i += 1 }
                } else {
                    break
                }
            }
            if i >= n {
                out.append(Token(kind: .eof, start: n, end: n))
                return out
            }
            let start = i
            let c = b[i]
            func next(_ offset: Int = 1) -> UInt8? { i + offset < n ? b[i + offset] : nil }
            func single(_ kind: TokenKind) { out.append(Token(kind: kind, start: start, end: start + 1)); i += 1 }
            func double(_ kind: TokenKind) { out.append(Token(kind: kind, start: start, end: start + 2)); i += 2 }
            switch c {
            case UInt8(ascii: "("): single(.leftParen)
            case UInt8(ascii: ")"): single(.rightParen)
            case UInt8(ascii: "{"): single(.leftBrace)
            case UInt8(ascii: "}"): single(.rightBrace)
            case UInt8(ascii: "["):
                bracketDepth += 1
                single(.leftBracket)
            case UInt8(ascii: "]"):
                bracketDepth = max(0, bracketDepth - 1)
                single(.rightBracket)
            case UInt8(ascii: ","): single(.comma)
            case UInt8(ascii: ":") where bracketDepth == 0:
                while i < n && Lexer.isWordByte(b[i]) { i += 1 }
                out.append(Token(kind: .identifier, start: start, end: i))
            case UInt8(ascii: ":"): single(.colon)
            case UInt8(ascii: "@"): single(.at)
            case UInt8(ascii: "+"): single(.plus)
            case UInt8(ascii: "-"): single(.minus)
            case UInt8(ascii: "*"): single(.star)
            case UInt8(ascii: "/"): single(.slash)
            case UInt8(ascii: "%"): single(.percent)
            case UInt8(ascii: "^"): single(.caret)
            case UInt8(ascii: "="):
                if next() == UInt8(ascii: "=") {
                    double(.equal)
                } else if next() == UInt8(ascii: "~") {
                    double(.regexMatch)
                } else {
                    single(.assign)
                }
            case UInt8(ascii: "!"):
                if next() == UInt8(ascii: "=") {
                    double(.notEqual)
                } else if next() == UInt8(ascii: "~") {
                    double(.regexNoMatch)
                } else {
                    throw source.error(.parse, at: start, end: start + 1, "unexpected character \"!\" — expected \"!=\" or \"!~\"")
                }
            case UInt8(ascii: "<"):
                if next() == UInt8(ascii: "=") { double(.lessEqual) } else { single(.less) }
            case UInt8(ascii: ">"):
                if next() == UInt8(ascii: "=") { double(.greaterEqual) } else { single(.greater) }
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                i += 1
                var closed = false
                while i < n {
                    let d = b[i]
                    if d == c {
                        closed = true
                        i += 1
                        break
                    }
                    if d == UInt8(ascii: "\\") {
                        i += 2
                        continue
                    }
                    if d == 0x0A { break }
                    i += 1
                }
                guard closed else {
                    throw source.error(.parse, at: start, end: min(i, n), "unterminated quoted string — expected a closing \(c == UInt8(ascii: "'") ? "'" : "\"") on the same line")
                }
                out.append(Token(kind: .string, start: start, end: i))
            case UInt8(ascii: "`"):
                i += 1
                while i < n && b[i] != UInt8(ascii: "`") { i += 1 }
                guard i < n else {
                    throw source.error(.parse, at: start, end: n, "unterminated raw string — expected a closing `")
                }
                i += 1
                out.append(Token(kind: .string, start: start, end: i))
            case UInt8(ascii: "."):
                guard let d = next(), Lexer.isDigit(d) else {
                    throw source.error(.parse, at: start, end: start + 1, "unexpected character \".\"")
                }
                try lexNumber(&i, start: start, into: &out)
            default:
                if Lexer.isDigit(c) {
                    try lexNumber(&i, start: start, into: &out)
                } else if Lexer.isWordStart(c) {
                    while i < n && Lexer.isWordByte(b[i]) { i += 1 }
                    out.append(Token(kind: .identifier, start: start, end: i))
                } else {
                    let scalarEnd = Lexer.scalarEnd(b, start)
                    let shown = source.text(start, scalarEnd)
                    throw source.error(.parse, at: start, end: scalarEnd, "unexpected character \"\(shown.isEmpty ? "\\x" + String(c, radix: 16) : shown)\"")
                }
            }
        }
    }

    /// The end of the UTF-8 scalar starting at `i` (one byte for invalid input).
    static func scalarEnd(_ b: [UInt8], _ i: Int) -> Int {
        let c = b[i]
        let length = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1
        return min(b.count, i + length)
    }

    /// A number (`12`, `1.5e3`, `.5`, `0x1f`) or a duration (`5m`, `1h30m`, `500ms`).
    private func lexNumber(_ i: inout Int, start: Int, into out: inout [Token]) throws(QueryError) {
        let b = source.bytes
        let n = b.count
        if b[i] == UInt8(ascii: "0"), i + 1 < n, b[i + 1] | 0x20 == UInt8(ascii: "x") {
            i += 2
            let digitsStart = i
            while i < n, Lexer.isHexDigit(b[i]) { i += 1 }
            guard i > digitsStart else {
                throw source.error(.parse, at: start, end: i, "bad hexadecimal number \"\(source.text(start, i))\" — expected digits after 0x")
            }
        } else {
            var onlyDigits = true
            while i < n, Lexer.isDigit(b[i]) { i += 1 }
            // A duration: digits followed by a unit, possibly repeated.
            if i < n, Lexer.isUnit(b[i]) {
                while i < n, Lexer.isDigit(b[i]) || Lexer.isUnit(b[i]) { i += 1 }
                if i < n, Lexer.isWordStart(b[i]) {
                    while i < n, Lexer.isWordStart(b[i]) || Lexer.isDigit(b[i]) { i += 1 }
                    throw source.error(.parse, at: start, end: i, "bad number or duration \"\(source.text(start, i))\"")
                }
                out.append(Token(kind: .duration, start: start, end: i))
                return
            }
            if i < n, b[i] == UInt8(ascii: ".") {
                onlyDigits = false
                i += 1
                while i < n, Lexer.isDigit(b[i]) { i += 1 }
            }
            if i < n, b[i] | 0x20 == UInt8(ascii: "e") {
                var j = i + 1
                if j < n, b[j] == UInt8(ascii: "+") || b[j] == UInt8(ascii: "-") { j += 1 }
                if j < n, Lexer.isDigit(b[j]) {
                    onlyDigits = false
                    i = j
                    while i < n, Lexer.isDigit(b[i]) { i += 1 }
                }
            }
            _ = onlyDigits
        }
        if i < n, Lexer.isWordStart(b[i]) || b[i] == UInt8(ascii: ".") {
            while i < n, Lexer.isWordStart(b[i]) || Lexer.isDigit(b[i]) || b[i] == UInt8(ascii: ".") { i += 1 }
            throw source.error(.parse, at: start, end: i, "bad number or duration \"\(source.text(start, i))\"")
        }
        out.append(Token(kind: .number, start: start, end: i))
    }

    static func isHexDigit(_ b: UInt8) -> Bool {
        isDigit(b) || (b | 0x20 >= UInt8(ascii: "a") && b | 0x20 <= UInt8(ascii: "f"))
    }
}

extension Lexer {
    /// The value of a number token, as Prometheus reads it: integers (with Go's `0x` and leading-zero
    /// octal forms) first, then floating point. Out-of-range values are an error, not infinity.
    static func numberValue(_ text: String) -> Double? {
        let lower = text.lowercased()
        if lower.hasPrefix("0x") {
            guard let v = UInt64(lower.dropFirst(2), radix: 16), v <= UInt64(Int64.max) else { return nil }
            return Double(v)
        }
        if lower.count > 1, lower.hasPrefix("0"), lower.allSatisfy({ $0 >= "0" && $0 <= "7" }) {
            guard let v = Int64(lower.dropFirst(), radix: 8) else { return nil }
            return Double(v)
        }
        guard let v = Double(text), v.isFinite else { return nil }
        return v
    }

    /// Milliseconds of a duration such as `1h30m` or `500ms`; units must be in decreasing order,
    /// each at most once, as Prometheus's `model.ParseDuration` requires.
    static func durationMilliseconds(_ text: String) -> Int64? {
        let units: [(String, Int64)] = [
            ("y", 365 * 86_400_000), ("w", 7 * 86_400_000), ("d", 86_400_000), ("h", 3_600_000),
            ("m", 60_000), ("s", 1000), ("ms", 1),
        ]
        let b = Array(text.utf8)
        var i = 0
        var total: Int64 = 0
        var lastUnit = -1
        while i < b.count {
            var number: Int64 = 0
            let digitsStart = i
            while i < b.count, isDigit(b[i]) {
                let (m, o1) = number.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int64(b[i] - 0x30))
                if o1 || o2 { return nil }
                number = a
                i += 1
            }
            guard i > digitsStart, i < b.count else { return nil }
            var unit = String(UnicodeScalar(b[i]))
            i += 1
            if unit == "m", i < b.count, b[i] == UInt8(ascii: "s") {
                unit = "ms"
                i += 1
            }
            guard let index = units.firstIndex(where: { $0.0 == unit }), index > lastUnit else { return nil }
            lastUnit = index
            let (m, o1) = number.multipliedReportingOverflow(by: units[index].1)
            let (a, o2) = total.addingReportingOverflow(m)
            if o1 || o2 { return nil }
            total = a
        }
        return total
    }

    /// The value of a string token: quotes removed and Go escapes resolved. Raw strings are taken
    /// as they are. Fails with the offset (within the token) and a message.
    static func stringValue(_ bytes: ArraySlice<UInt8>) -> Result<String, StringError> {
        guard let quote = bytes.first else { return .failure(StringError(offset: 0, message: "empty string token")) }
        let body = bytes.dropFirst().dropLast()
        if quote == UInt8(ascii: "`") {
            guard let s = String(validating: body, as: UTF8.self) else {
                return .failure(StringError(offset: 1, message: "invalid UTF-8 in string"))
            }
            return .success(s)
        }
        var out: [UInt8] = []
        out.reserveCapacity(body.count)
        var i = body.startIndex
        func hexValue(_ count: Int) -> UInt32? {
            guard body.endIndex - i >= count else { return nil }
            var v: UInt32 = 0
            for k in 0..<count {
                let c = body[i + k]
                guard isHexDigit(c) else { return nil }
                let d = isDigit(c) ? UInt32(c - 0x30) : UInt32((c | 0x20) - 0x61 + 10)
                v = v * 16 + d
            }
            i += count
            return v
        }
        while i < body.endIndex {
            let c = body[i]
            guard c == UInt8(ascii: "\\") else {
                out.append(c)
                i += 1
                continue
            }
            let escapeStart = i - bytes.startIndex
            i += 1
            guard i < body.endIndex else { return .failure(StringError(offset: escapeStart, message: "escape sequence not terminated")) }
            let e = body[i]
            i += 1
            switch e {
            case UInt8(ascii: "a"): out.append(0x07)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "v"): out.append(0x0B)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                guard e == quote else {
                    return .failure(StringError(offset: escapeStart, message: "unknown escape sequence \\\(Character(UnicodeScalar(e)))"))
                }
                out.append(e)
            case UInt8(ascii: "x"):
                guard let v = hexValue(2) else { return .failure(StringError(offset: escapeStart, message: "bad \\x escape — expected two hexadecimal digits")) }
                out.append(UInt8(v))
            case UInt8(ascii: "u"), UInt8(ascii: "U"):
                guard let v = hexValue(e == UInt8(ascii: "u") ? 4 : 8), let scalar = Unicode.Scalar(v) else {
                    return .failure(StringError(offset: escapeStart, message: "bad \\\(Character(UnicodeScalar(e))) escape — expected a valid Unicode code point"))
                }
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                guard body.endIndex - i >= 2, (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(body[i]),
                    (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(body[i + 1])
                else { return .failure(StringError(offset: escapeStart, message: "bad octal escape — expected three octal digits")) }
                let v = UInt32(e - 0x30) * 64 + UInt32(body[i] - 0x30) * 8 + UInt32(body[i + 1] - 0x30)
                guard v <= 255 else { return .failure(StringError(offset: escapeStart, message: "octal escape value > 255")) }
                out.append(UInt8(v))
                i += 2
            default:
                let shown = e < 0x80 ? String(Character(UnicodeScalar(e))) : "…"
                return .failure(StringError(offset: escapeStart, message: "unknown escape sequence \\\(shown)"))
            }
        }
        guard let s = String(validating: out, as: UTF8.self) else {
            return .failure(StringError(offset: 0, message: "invalid UTF-8 in string"))
        }
        return .success(s)
    }

    struct StringError: Error {
        var offset: Int
        var message: String
    }
}

/// Go's string literal syntax, which PromQL strings share: `"…"` and `'…'` with Go's escapes
/// (only the enclosing quote may be escaped), `` `…` `` taken as it is. Templates use it too.
public enum GoStringLiteral {
    /// The value of a well-formed literal (quotes included), or nil when it is malformed.
    public static func unquote(_ quoted: String) -> String? {
        let b = Array(quoted.utf8)
        guard b.count >= 2, b[0] == b[b.count - 1], b[0] == UInt8(ascii: "\"") || b[0] == UInt8(ascii: "'") || b[0] == UInt8(ascii: "`") else {
            return nil
        }
        // The closing quote must be the only unescaped one.
        var k = 1
        while k < b.count - 1 {
            if b[k] == b[0] { return nil }
            if b[k] == UInt8(ascii: "\\"), b[0] != UInt8(ascii: "`") { k += 1 }
            k += 1
        }
        if k != b.count - 1 { return nil }
        return try? Lexer.stringValue(b[...]).get()
    }
}
