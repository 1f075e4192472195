/// The tokens of Go's `text/template` (package `text/template/parse`, `lex.go`): text between
/// actions, and inside `{{ … }}` the words, strings, numbers, variables and punctuation. Trim
/// markers (`{{- `, ` -}}`) and comments (`{{/* … */}}`) are handled here, as Go's lexer does, so
/// the parser never sees them.
struct TemplateLexer {
    enum Kind: Equatable {
        case error, bool, char, charConstant, complex, assign, declare, eof, field, identifier, leftDelim, leftParen, number, pipe
        case rawString, rightDelim, rightParen, space, string, text, variable
        // Keywords.
        case block, breakKeyword, continueKeyword, dot, define, elseKeyword, end, ifKeyword, nilKeyword, range, template, with
    }

    struct Token {
        var kind: Kind
        /// Byte offset in the template text.
        var pos: Int
        var value: String
        /// 1-based line of the token's start.
        var line: Int

        /// Go's `item.String()`, which the parser's messages quote.
        var description: String {
            switch kind {
            case .eof: return "EOF"
            case .error: return value
            case .block, .breakKeyword, .continueKeyword, .dot, .define, .elseKeyword, .end, .ifKeyword, .nilKeyword, .range, .template, .with:
                return "<\(value)>"
            default:
                if value.unicodeScalars.count > 10 { return GoFormat.quote(String(String.UnicodeScalarView(value.unicodeScalars.prefix(10)))) + "..." }
                return GoFormat.quote(value)
            }
        }
    }

    let bytes: [UInt8]
    var pos = 0
    var start = 0
    var line = 1
    var startLine = 1
    var parenDepth = 0
    var insideAction = false
    var pending: [Token] = []
    var finished = false

    init(_ text: [UInt8]) {
        bytes = text
    }

    static func keyword(_ word: String) -> Kind? {
        switch word {
        case ".": .dot
        case "block": .block
        case "break": .breakKeyword
        case "continue": .continueKeyword
        case "define": .define
        case "else": .elseKeyword
        case "end": .end
        case "if": .ifKeyword
        case "range": .range
        case "nil": .nilKeyword
        case "template": .template
        case "with": .with
        default: nil
        }
    }

    static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A }

    func hasPrefix(_ s: StaticString, at i: Int) -> Bool {
        let n = s.utf8CodeUnitCount
        guard i + n <= bytes.count else { return false }
        return s.withUTF8Buffer { p in (0..<n).allSatisfy { bytes[i + $0] == p[$0] } }
    }

    func hasLeftTrimMarker(at i: Int) -> Bool { i + 1 < bytes.count && bytes[i] == UInt8(ascii: "-") && Self.isSpace(bytes[i + 1]) }
    func hasRightTrimMarker(at i: Int) -> Bool { i + 1 < bytes.count && Self.isSpace(bytes[i]) && bytes[i + 1] == UInt8(ascii: "-") }

    /// At a right delimiter, possibly preceded by a trim marker: (delimiter, trims).
    func atRightDelim() -> (Bool, Bool) {
        if hasRightTrimMarker(at: pos), hasPrefix("}}", at: pos + 2) { return (true, true) }
        if hasPrefix("}}", at: pos) { return (true, false) }
        return (false, false)
    }

    func text(_ from: Int, _ to: Int) -> String { String(decoding: bytes[from..<to], as: UTF8.self) }

    mutating func emit(_ kind: Kind) -> Token {
        let t = Token(kind: kind, pos: start, value: text(start, pos), line: startLine)
        countLines(start, pos)
        start = pos
        startLine = line
        return t
    }

    mutating func countLines(_ from: Int, _ to: Int) {
        var k = from
        while k < to {
            if bytes[k] == 0x0A { line += 1 }
            k += 1
        }
    }

    mutating func ignore() {
        countLines(start, pos)
        start = pos
        startLine = line
    }

    func error(_ message: String) -> Token { Token(kind: .error, pos: start, value: message, line: startLine) }

    /// The scalar at `i` and its length in bytes (a replacement for invalid UTF-8).
    func scalar(at i: Int) -> (Unicode.Scalar, Int)? {
        guard i < bytes.count else { return nil }
        var it = bytes[i...].makeIterator()
        var decoder = UTF8()
        switch decoder.decode(&it) {
        case .scalarValue(let u): return (u, UTF8.width(u))
        default: return ("\u{FFFD}", 1)
        }
    }

    static func isAlphaNumeric(_ u: Unicode.Scalar) -> Bool {
        if u.isASCII {
            let c = UInt8(u.value)
            return c == UInt8(ascii: "_") || (c >= 0x30 && c <= 0x39) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x7A)
        }
        return u.properties.isAlphabetic || u.properties.numericType == .decimal
    }

    /// The next token.
    mutating func next() -> Token {
        if finished { return Token(kind: .eof, pos: bytes.count, value: "", line: line) }
        let t = insideAction ? lexInsideAction() : lexText()
        if t.kind == .eof || t.kind == .error { finished = true }
        return t
    }

    mutating func lexText() -> Token {
        guard let x = firstIndex(of: "{{", from: pos) else {
            pos = bytes.count
            if pos > start { return emit(.text) }
            return emit(.eof)
        }
        var trimEnd = x
        if hasLeftTrimMarker(at: x + 2) {
            while trimEnd > start, Self.isSpace(bytes[trimEnd - 1]) { trimEnd -= 1 }
        }
        if trimEnd > start {
            pos = trimEnd
            let t = emit(.text)
            pos = x
            ignore()
            return t
        }
        pos = x
        ignore()
        return lexLeftDelim() ?? next()
    }

    func firstIndex(of needle: StaticString, from: Int) -> Int? {
        var k = from
        while k + 1 < bytes.count {
            if bytes[k] == UInt8(ascii: "{"), hasPrefix(needle, at: k) { return k }
            k += 1
        }
        return nil
    }

    /// At `{{`: a comment is skipped (nil: continue lexing text), otherwise the delimiter token.
    mutating func lexLeftDelim() -> Token? {
        pos += 2
        let trim = hasLeftTrimMarker(at: pos)
        let after = trim ? 2 : 0
        if hasPrefix("/*", at: pos + after) {
            pos += after
            ignore()
            return lexComment()
        }
        let t = emit(.leftDelim)
        pos += after
        ignore()
        parenDepth = 0
        insideAction = true
        return t
    }

    mutating func lexComment() -> Token? {
        pos += 2
        var k = pos
        var found = false
        while k + 1 < bytes.count {
            if bytes[k] == UInt8(ascii: "*"), bytes[k + 1] == UInt8(ascii: "/") {
                found = true
                break
            }
            k += 1
        }
        guard found else { return error("unclosed comment") }
        pos = k + 2
        let (delim, trim) = atRightDelim()
        guard delim else { return error("comment ends before closing delimiter") }
        if trim { pos += 2 }
        pos += 2
        if trim { while pos < bytes.count, Self.isSpace(bytes[pos]) { pos += 1 } }
        ignore()
        return nil
    }

    mutating func lexRightDelim() -> Token {
        let trim = hasRightTrimMarker(at: pos)
        if trim {
            pos += 2
            ignore()
        }
        pos += 2
        let t = emit(.rightDelim)
        if trim {
            while pos < bytes.count, Self.isSpace(bytes[pos]) { pos += 1 }
            ignore()
        }
        insideAction = false
        return t
    }

    mutating func lexInsideAction() -> Token {
        let (delim, _) = atRightDelim()
        if delim {
            if parenDepth == 0 { return lexRightDelim() }
            return error("unclosed left paren")
        }
        guard let (r, width) = scalar(at: pos) else { return error("unclosed action") }
        pos += width
        switch r {
        case " ", "\t", "\r", "\n":
            pos -= width
            return lexSpace()
        case "=": return emit(.assign)
        case ":":
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: "=") else { return error("expected :=") }
            pos += 1
            return emit(.declare)
        case "|": return emit(.pipe)
        case "\"": return lexQuote()
        case "`": return lexRawQuote()
        case "$": return lexVariable()
        case "'": return lexChar()
        case ".":
            if pos < bytes.count, !(bytes[pos] >= 0x30 && bytes[pos] <= 0x39) { return lexFieldOrVariable(.field) }
            pos -= 1
            return lexNumber()
        case "+", "-", "0"..."9":
            pos -= width
            return lexNumber()
        case "(":
            parenDepth += 1
            return emit(.leftParen)
        case ")":
            parenDepth -= 1
            if parenDepth < 0 { return error("unexpected right paren U+0029 ')'") }
            return emit(.rightParen)
        default:
            if Self.isAlphaNumeric(r) {
                pos -= width
                return lexIdentifier()
            }
            if r.isASCII, r.value >= 0x20, r.value < 0x7F { return emit(.char) }
            return error("unrecognized character in action: \(Self.goRune(r))")
        }
    }

    /// Go's `%#U`: `U+0041 'A'`.
    static func goRune(_ r: Unicode.Scalar) -> String {
        let hex = String(r.value, radix: 16, uppercase: true)
        let code = "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        return r.properties.isWhitespace || r.value < 0x20 || r.value == 0x7F ? code : "\(code) '\(Character(r))'"
    }

    mutating func lexSpace() -> Token {
        var spaces = 0
        while pos < bytes.count, Self.isSpace(bytes[pos]) {
            pos += 1
            spaces += 1
        }
        // A trim-marked right delimiter starts with a space.
        if hasRightTrimMarker(at: pos - 1), hasPrefix("}}", at: pos + 1) {
            pos -= 1
            if spaces == 1 { return lexRightDelim() }
        }
        return emit(.space)
    }

    mutating func lexIdentifier() -> Token {
        while let (r, w) = scalar(at: pos), Self.isAlphaNumeric(r) { pos += w }
        let word = text(start, pos)
        if !atTerminator() { return badCharacter() }
        if let k = Self.keyword(word), k != .dot { return emit(k) }
        if word == "true" || word == "false" { return emit(.bool) }
        return emit(.identifier)
    }

    mutating func badCharacter() -> Token {
        let r = scalar(at: pos)?.0 ?? "\u{FFFD}"
        return error("bad character \(Self.goRune(r))")
    }

    mutating func lexVariable() -> Token {
        if atTerminator() { return emit(.variable) }
        return lexFieldOrVariable(.variable)
    }

    mutating func lexFieldOrVariable(_ kind: Kind) -> Token {
        if atTerminator() { return emit(kind == .variable ? .variable : .dot) }
        while let (r, w) = scalar(at: pos), Self.isAlphaNumeric(r) { pos += w }
        if !atTerminator() { return badCharacter() }
        return emit(kind)
    }

    func atTerminator() -> Bool {
        guard pos < bytes.count else { return true }
        switch bytes[pos] {
        case 0x20, 0x09, 0x0D, 0x0A, UInt8(ascii: "."), UInt8(ascii: ","), UInt8(ascii: "|"), UInt8(ascii: ":"),
             UInt8(ascii: ")"), UInt8(ascii: "("), UInt8(ascii: "}"):
            return true
        default:
            return false
        }
    }

    mutating func lexChar() -> Token { lexQuoted(UInt8(ascii: "'"), .charConstant, "unterminated character constant") }

    mutating func lexNumber() -> Token {
        if !scanNumber() { return error("bad number syntax: \(GoFormat.quote(text(start, pos)))") }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") {
            // Complex: 1+2i.
            if !scanNumber() || bytes[pos - 1] != UInt8(ascii: "i") { return error("bad number syntax: \(GoFormat.quote(text(start, pos)))") }
            return emit(.complex)
        }
        return emit(.number)
    }

    mutating func accept(_ valid: String) -> Bool {
        guard pos < bytes.count, valid.utf8.contains(bytes[pos]) else { return false }
        pos += 1
        return true
    }

    mutating func acceptRun(_ valid: String) {
        while accept(valid) {}
    }

    mutating func scanNumber() -> Bool {
        _ = accept("+-")
        var digits = "0123456789_"
        if accept("0") {
            if accept("xX") {
                digits = "0123456789abcdefABCDEF_"
            } else if accept("oO") {
                digits = "01234567_"
            } else if accept("bB") {
                digits = "01_"
            }
        }
        acceptRun(digits)
        if accept(".") { acceptRun(digits) }
        if digits.count == 11, accept("eE") {
            _ = accept("+-")
            acceptRun("0123456789_")
        }
        if digits.count == 23, accept("pP") {
            _ = accept("+-")
            acceptRun("0123456789_")
        }
        _ = accept("i")
        if let (r, w) = scalar(at: pos), Self.isAlphaNumeric(r) {
            pos += w
            return false
        }
        return true
    }

    mutating func lexQuote() -> Token { lexQuoted(UInt8(ascii: "\""), .string, "unterminated quoted string") }

    /// A string or character constant up to its closing quote; escapes are checked by the parser.
    mutating func lexQuoted(_ quote: UInt8, _ kind: Kind, _ unterminated: String) -> Token {
        while pos < bytes.count {
            let c = bytes[pos]
            pos += 1
            if c == UInt8(ascii: "\\") {
                if pos < bytes.count, bytes[pos] != 0x0A {
                    pos += 1
                    continue
                }
                return error(unterminated)
            }
            if c == 0x0A { return error(unterminated) }
            if c == quote { return emit(kind) }
        }
        return error(unterminated)
    }

    mutating func lexRawQuote() -> Token {
        while pos < bytes.count {
            let c = bytes[pos]
            pos += 1
            if c == UInt8(ascii: "`") { return emit(.rawString) }
        }
        return error("unterminated raw quoted string")
    }
}
