/// YAML 1.1 implicit tags of plain scalars, as Yams's default resolver assigns them: its rules in
/// order (bool, int, float, merge, null, timestamp, value), the first whose regular expression
/// matches the whole text winning, else `!!str`. The expressions only match ASCII, so each is
/// matched here by hand over the UTF-8 bytes (no regex engine, no Foundation).
///
/// Resolution decides equality, hence which keys are duplicates (`1:` and `"1":` are different
/// keys, `a:` and `"a":` the same) and what `mapping["key"]` finds.
enum TagResolution {
    static func resolve(_ text: String) -> Tag.Name {
        if let name = text.utf8.withContiguousStorageIfAvailable({ resolve(bytes: $0) }) { return name }
        return Array(text.utf8).withUnsafeBufferPointer { resolve(bytes: $0) }
    }

    static func resolve(bytes b: UnsafeBufferPointer<UInt8>) -> Tag.Name {
        if isBool(b) { return .bool }
        if isInt(b) { return .int }
        if isFloat(b) { return .float }
        if equals(b, "<<") { return .merge }
        if isNull(b) { return .null }
        if isTimestamp(b) { return .timestamp }
        if equals(b, "=") { return .value }
        return .str
    }

    private static func equals(_ b: UnsafeBufferPointer<UInt8>, _ s: StaticString) -> Bool {
        s.withUTF8Buffer { $0.elementsEqual(b) }
    }

    private static func oneOf(_ b: UnsafeBufferPointer<UInt8>, _ words: [StaticString]) -> Bool {
        words.contains { equals(b, $0) }
    }

    /// `yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF`
    private static func isBool(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        b.count >= 2 && b.count <= 5 && oneOf(b, [
            "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE",
            "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
        ])
    }

    /// `~|null|Null|NULL|` (the empty text too)
    private static func isNull(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        b.isEmpty || oneOf(b, ["~", "null", "Null", "NULL"])
    }

    /// `[-+]?0b[0-1_]+ | [-+]?0o?[0-7_]+ | [-+]?(?:0|[1-9][0-9_]*) | [-+]?0x[0-9a-fA-F_]+ |
    /// [-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+`
    private static func isInt(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        var c = Cursor(b)
        c.skipSign()
        let start = c.i
        if c.skip("0"), c.skip("b") { return c.skipRun(binaryOrUnderscore) > 0 && c.atEnd }
        c.i = start
        if c.skip("0") {
            _ = c.skip("o")
            if c.skipRun(octalOrUnderscore) > 0 && c.atEnd { return true }
        }
        c.i = start
        if c.skip("0") && c.atEnd { return true }
        c.i = start
        if c.skip("0"), c.skip("x") { return c.skipRun(hexOrUnderscore) > 0 && c.atEnd }
        c.i = start
        guard c.skipOne(nonZeroDigit) else { return false }
        c.skipRun(digitOrUnderscore)
        if c.atEnd { return true }
        return c.skipSexagesimalSegments() && c.atEnd
    }

    /// `[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)? | \.[0-9_]+(?:[eE][-+][0-9]+)? |
    /// [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]* | [-+]?\.(?:inf|Inf|INF) | \.(?:nan|NaN|NAN)`
    private static func isFloat(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        var c = Cursor(b)
        if c.skip(".") {
            // The two forms that start with a dot and take no sign.
            let afterDot = c.i
            if c.skipRun(digitOrUnderscore) > 0 {
                if c.atEnd { return true }
                return c.skipOne { $0 == 0x65 || $0 == 0x45 } && c.skipOne { $0 == 0x2D || $0 == 0x2B }
                    && c.skipRun(digit) > 0 && c.atEnd
            }
            c.i = afterDot
            if c.skipWord(["inf", "Inf", "INF", "nan", "NaN", "NAN"]) && c.atEnd { return true }
            return false
        }
        c.skipSign()
        let start = c.i
        if c.skip("."), c.skipWord(["inf", "Inf", "INF"]), c.atEnd { return true }
        c.i = start
        guard c.skipOne(digit) else { return false }
        c.skipRun(digitOrUnderscore)
        let afterDigits = c.i
        // Decimal with an optional fraction and exponent.
        if c.skip(".") { c.skipRun(digitOrUnderscore) }
        if c.skipOne({ $0 == 0x65 || $0 == 0x45 }) {
            c.skipOne { $0 == 0x2D || $0 == 0x2B }
            if c.skipRun(digit) > 0 && c.atEnd { return true }
        } else if c.atEnd {
            return true
        }
        // Sexagesimal with a fraction: 1:30.5
        c.i = afterDigits
        guard c.skipSexagesimalSegments(), c.skip(".") else { return false }
        c.skipRun(digitOrUnderscore)
        return c.atEnd
    }

    /// `[0-9]{4}-[0-9]{2}-[0-9]{2}` or the date-time form
    /// `[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?`
    private static func isTimestamp(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        var c = Cursor(b)
        guard c.skipDigits(exactly: 4), c.skip("-") else { return false }
        let monthStart = c.i
        if c.skipDigits(exactly: 2), c.skip("-"), c.skipDigits(exactly: 2), c.atEnd { return true }
        c.i = monthStart
        guard c.skipDigits(1...2), c.skip("-"), c.skipDigits(1...2) else { return false }
        if !c.skipOne({ $0 == 0x54 || $0 == 0x74 }) {
            guard c.skipRun({ $0 == 0x20 || $0 == 0x09 }) > 0 else { return false }
        }
        guard c.skipDigits(1...2), c.skip(":"), c.skipDigits(exactly: 2), c.skip(":"), c.skipDigits(exactly: 2) else { return false }
        if c.skip(".") { c.skipRun(digit) }
        if c.atEnd { return true }
        c.skipRun { $0 == 0x20 || $0 == 0x09 }
        if c.skip("Z") { return c.atEnd }
        guard c.skipOne({ $0 == 0x2D || $0 == 0x2B }), c.skipDigits(1...2) else { return false }
        if c.atEnd { return true }
        return c.skip(":") && c.skipDigits(exactly: 2) && c.atEnd
    }

    private static func digit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    private static func nonZeroDigit(_ c: UInt8) -> Bool { c >= 0x31 && c <= 0x39 }
    private static func digitOrUnderscore(_ c: UInt8) -> Bool { digit(c) || c == 0x5F }
    private static func binaryOrUnderscore(_ c: UInt8) -> Bool { c == 0x30 || c == 0x31 || c == 0x5F }
    private static func octalOrUnderscore(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x37) || c == 0x5F }
    private static func hexOrUnderscore(_ c: UInt8) -> Bool {
        digit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46) || c == 0x5F
    }

    /// A position in the bytes being matched.
    private struct Cursor {
        let b: UnsafeBufferPointer<UInt8>
        var i = 0

        init(_ b: UnsafeBufferPointer<UInt8>) { self.b = b }

        var atEnd: Bool { i == b.count }

        mutating func skip(_ ascii: Unicode.Scalar) -> Bool {
            guard i < b.count, b[i] == UInt8(ascii: ascii) else { return false }
            i += 1
            return true
        }

        @discardableResult
        mutating func skipOne(_ test: (UInt8) -> Bool) -> Bool {
            guard i < b.count, test(b[i]) else { return false }
            i += 1
            return true
        }

        @discardableResult
        mutating func skipRun(_ test: (UInt8) -> Bool) -> Int {
            let start = i
            while i < b.count, test(b[i]) { i += 1 }
            return i - start
        }

        mutating func skipSign() { skipOne { $0 == 0x2D || $0 == 0x2B } }

        mutating func skipDigits(exactly n: Int) -> Bool { skipDigits(n...n) }

        /// Between `range.lowerBound` and `range.upperBound` digits, greedily (the expressions'
        /// `[0-9][0-9]?` is always followed by a non-digit, so greedy is what they match).
        mutating func skipDigits(_ range: ClosedRange<Int>) -> Bool {
            let start = i
            while i < b.count, i - start < range.upperBound, digit(b[i]) { i += 1 }
            if i - start >= range.lowerBound, i == b.count || !digit(b[i]) { return true }
            i = start
            return false
        }

        mutating func skipWord(_ words: [StaticString]) -> Bool {
            for word in words {
                let n = word.utf8CodeUnitCount
                if i + n <= b.count, word.withUTF8Buffer({ $0.elementsEqual(b[i..<i + n]) }) {
                    i += n
                    return true
                }
            }
            return false
        }

        /// `(?::[0-5]?[0-9])+`: one or more `:` each followed by one digit or two, the first 0–5.
        mutating func skipSexagesimalSegments() -> Bool {
            var segments = 0
            while i < b.count, b[i] == 0x3A {
                let start = i + 1
                var j = start
                while j < b.count, digit(b[j]) { j += 1 }
                switch j - start {
                case 1: break
                case 2 where b[start] <= 0x35: break
                default: return false
                }
                i = j
                segments += 1
            }
            return segments > 0
        }
    }
}

/// Yams 6.2's constructors for `Node.int`, `.float`, `.bool` and `.null`, with the same
/// acceptance: they look at the text and style, not at the resolved tag, so a plain `0x1F` is 31
/// and `010` is 8 (YAML 1.1 octal) while a quoted `"10"` is no number.
enum ScalarConstruction {
    static func int(_ scalar: Node.Scalar) -> Int? {
        guard scalar.style == .any || scalar.style == .plain else { return nil }
        let text = scalar.string.filter { $0 != "_" }
        if text == "0" { return 0 }
        let negative = text.hasPrefix("-")
        let body = text.dropFirst(negative || text.hasPrefix("+") ? 1 : 0)
        for (prefix, radix) in [("0x", 16), ("0b", 2), ("0o", 8), ("0", 8)] where body.hasPrefix(prefix) {
            return Int((negative ? "-" : "") + body.dropFirst(prefix.count), radix: radix)
        }
        if body.contains(":") {
            // Yams traps on overflow here (e.g. eleven `:0` groups); an overflow is no number.
            guard let parts = sexagesimal(text, { Int($0, radix: 10) }) else { return nil }
            var value = 0
            var base = 1
            for (k, part) in parts.reversed().enumerated() {
                let (term, o1) = part.multipliedReportingOverflow(by: base)
                let (sum, o2) = value.addingReportingOverflow(term)
                guard !o1, !o2 else { return nil }
                value = sum
                if k < parts.count - 1 {
                    let (next, o3) = base.multipliedReportingOverflow(by: 60)
                    guard !o3 else { return nil }
                    base = next
                }
            }
            return text.hasPrefix("-") ? (value == .min ? nil : -value) : value
        }
        return Int(text)
    }

    static func double(_ scalar: Node.Scalar) -> Double? {
        guard scalar.style == .any || scalar.style == .plain else { return nil }
        switch scalar.string.lowercased() {
        case ".inf", "+.inf": return .infinity
        case "-.inf": return -.infinity
        case ".nan": return .nan
        default: break
        }
        let text = scalar.string.filter { $0 != "_" }
        if text.contains(":") {
            guard let parts = sexagesimal(text, { Double($0) }) else { return nil }
            var value = 0.0
            var base = 1.0
            for part in parts.reversed() {
                value += part * base
                base *= 60
            }
            return text.hasPrefix("-") ? -value : value
        }
        return Double(text)
    }

    static func bool(_ scalar: Node.Scalar) -> Bool? {
        if scalar.tag.name == .str { return nil }
        switch scalar.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: return nil
        }
    }

    static func null(_ scalar: Node.Scalar) -> Node.Null? {
        guard scalar.style == .plain else { return nil }
        switch scalar.string {
        case "", "~", "null", "Null", "NULL": return Node.Null()
        default: return nil
        }
    }

    /// The `:`-separated parts of `text` (its sign dropped), each converted; nil if one is not a number.
    private static func sexagesimal<T>(_ text: String, _ convert: (String) -> T?) -> [T]? {
        var rest = Substring(text)
        if rest.hasPrefix("-") || rest.hasPrefix("+") { rest = rest.dropFirst() }
        var out: [T] = []
        for part in rest.split(separator: ":", omittingEmptySubsequences: false) {
            guard let v = convert(String(part)) else { return nil }
            out.append(v)
        }
        return out
    }
}

extension Node {
    /// The number a plain scalar is for Go's YAML (yaml.v2/v3, which Prometheus and promtool read
    /// their files with): nil for text Go reads as a string although YAML 1.1 reads a number
    /// (sexagesimal `1:30`) or only Swift's parser does (`inf`, `0x1p3`), and for quoted scalars.
    public var goDouble: Double? {
        guard case .scalar(let s) = self, s.style == .plain || s.style == .any, Node.hasGoNumberSyntax(s.string) else { return nil }
        if let i = int { return Double(i) }
        if let f = float { return f }
        switch s.string {
        case ".inf", "+.inf", ".Inf", "+.Inf", ".INF", "+.INF": return .infinity
        case "-.inf", "-.Inf", "-.INF": return -.infinity
        default: return nil
        }
    }

    /// `goDouble` when it is a whole number: Go's YAML sets an integer from `10.0` or `1e3` too.
    public var goInt: Int? {
        guard case .scalar(let s) = self, s.style == .plain || s.style == .any, Node.hasGoNumberSyntax(s.string) else { return nil }
        if let i = int { return i }
        guard let f = float, f == f.rounded(), abs(f) < 9.0e18 else { return nil }
        return Int(f)
    }

    /// True when Go's YAML (yaml.v2 and v3, which Prometheus and promtool use) resolves a plain
    /// scalar to a number: an integer as Go's `strconv.ParseInt` reads it with base prefixes
    /// (`0x1F`, `0o17`, `017`, `0b101`), a float `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`,
    /// `_` anywhere, or `.inf`/`.nan` in their YAML spellings.
    public static func hasGoNumberSyntax(_ text: String) -> Bool {
        switch text {
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN": return true
        default: break
        }
        var b = Array(text.utf8.filter { $0 != UInt8(ascii: "_") })[...]
        if let first = b.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") { b = b.dropFirst() }
        func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
        guard !b.isEmpty else { return false }
        // Integers with a base prefix.
        if b.count > 2, b.first == UInt8(ascii: "0") {
            let digits = b.dropFirst(2)
            switch b[b.startIndex + 1] | 0x20 {
            case UInt8(ascii: "x"): return digits.allSatisfy { isDigit($0) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x66) }
            case UInt8(ascii: "o"): return digits.allSatisfy { $0 >= 0x30 && $0 <= 0x37 }
            case UInt8(ascii: "b"): return digits.allSatisfy { $0 == 0x30 || $0 == 0x31 }
            default: break
            }
        }
        // Decimal (and leading-zero octal) integers, and floats.
        var i = b.startIndex
        let intStart = i
        while i < b.endIndex, isDigit(b[i]) { i += 1 }
        var mantissaDigits = i - intStart
        if i < b.endIndex, b[i] == UInt8(ascii: ".") {
            i += 1
            let fractionStart = i
            while i < b.endIndex, isDigit(b[i]) { i += 1 }
            // `.5` needs its digits; `5.` does not.
            if mantissaDigits == 0 && i == fractionStart { return false }
            mantissaDigits += i - fractionStart
        }
        guard mantissaDigits > 0 else { return false }
        if i < b.endIndex, b[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            if i < b.endIndex, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            let exponentStart = i
            while i < b.endIndex, isDigit(b[i]) { i += 1 }
            guard i > exponentStart else { return false }
        }
        return i == b.endIndex
    }
}
