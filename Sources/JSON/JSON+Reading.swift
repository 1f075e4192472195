/// The reader: strict RFC 8259 into a `JSON` value, with a bounded nesting depth and an error that
/// says where the input stops being JSON.
///
/// What `JSONSerialization` refused, this refuses too: trailing commas, leading zeros, single
/// quotes, comments, unescaped control characters in strings, lone surrogates, invalid UTF-8,
/// anything after the value. An integer without fraction or exponent that fits 64 bits is `.int`;
/// every other number is `.double` (a number too large for a double is an error, as in Go).
extension JSON {
    /// Why a text is not JSON, and where: `line:column` (1-based, columns in bytes) and the byte offset.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public var offset: Int
        public var line: Int
        public var column: Int

        public var description: String { "\(line):\(column): \(message)" }
    }

    /// The deepest nesting of arrays and objects read (Go's decoder allows 10 000; no answer or
    /// payload of ours comes near 512, and the limit keeps a hostile `[[[[…` from the stack).
    public static let maximumDepth = 512

    /// Parses a whole document (any value at the top, whitespace around it).
    public init(parsing bytes: some Collection<UInt8>) throws(ParseError) {
        let copy = Array(bytes)
        self = try copy.withUnsafeBufferPointer { (buffer) throws(ParseError) -> JSON in
            var reader = JSONReader(buffer)
            return try reader.document()
        }
    }

    /// Parses a whole document held in a string.
    public init(parsing text: String) throws(ParseError) {
        try self.init(parsing: Array(text.utf8))
    }

    /// The document in `bytes`, or nil when it is not JSON.
    public static func parse(_ bytes: some Collection<UInt8>) -> JSON? {
        try? JSON(parsing: bytes)
    }
}

/// A cursor over the input's bytes. Strings are validated as UTF-8 where they are read, so one
/// pass does everything.
struct JSONReader {
    let b: UnsafeBufferPointer<UInt8>
    var i = 0
    var depth = 0

    init(_ b: UnsafeBufferPointer<UInt8>) { self.b = b }

    mutating func document() throws(JSON.ParseError) -> JSON {
        skipSpace()
        let value = try self.value()
        skipSpace()
        guard i == b.count else { throw error("unexpected \(shown(i)) after the value") }
        return value
    }

    func error(_ message: String, at offset: Int? = nil) -> JSON.ParseError {
        let at = min(offset ?? i, b.count)
        var line = 1, lineStart = 0
        for k in 0..<at where b[k] == 0x0A {
            line += 1
            lineStart = k + 1
        }
        return JSON.ParseError(message: message, offset: at, line: line, column: at - lineStart + 1)
    }

    /// The byte at `k` for a message: `"x"`, or the end of the input.
    func shown(_ k: Int) -> String {
        guard k < b.count else { return "end of input" }
        let c = b[k]
        return c >= 0x20 && c < 0x7F ? "\"\(Character(UnicodeScalar(c)))\"" : "byte 0x" + String(c, radix: 16)
    }

    mutating func skipSpace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    mutating func value() throws(JSON.ParseError) -> JSON {
        guard i < b.count else { throw error("unexpected end of input, a value expected") }
        switch b[i] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw error("unexpected \(shown(i)), a value expected")
        }
    }

    mutating func literal(_ word: StaticString) throws(JSON.ParseError) {
        let start = i
        let w = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        for c in w {
            guard i < b.count, b[i] == c else { throw error("invalid literal, \"\(word)\" expected", at: start) }
            i += 1
        }
    }

    mutating func enter() throws(JSON.ParseError) {
        depth += 1
        guard depth <= JSON.maximumDepth else { throw error("nested deeper than \(JSON.maximumDepth) levels") }
    }

    mutating func object() throws(JSON.ParseError) -> JSON {
        try enter()
        i += 1
        var members: [(String, JSON)] = []
        skipSpace()
        if i < b.count, b[i] == UInt8(ascii: "}") {
            i += 1
            depth -= 1
            return .object(members)
        }
        while true {
            skipSpace()
            guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw error("unexpected \(shown(i)), a member name expected") }
            let key = try string()
            skipSpace()
            guard i < b.count, b[i] == UInt8(ascii: ":") else { throw error("unexpected \(shown(i)), \":\" expected") }
            i += 1
            skipSpace()
            members.append((key, try value()))
            skipSpace()
            guard i < b.count else { throw error("unexpected end of input, \",\" or \"}\" expected") }
            if b[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            guard b[i] == UInt8(ascii: "}") else { throw error("unexpected \(shown(i)), \",\" or \"}\" expected") }
            i += 1
            depth -= 1
            return .object(members)
        }
    }

    mutating func array() throws(JSON.ParseError) -> JSON {
        try enter()
        i += 1
        var items: [JSON] = []
        skipSpace()
        if i < b.count, b[i] == UInt8(ascii: "]") {
            i += 1
            depth -= 1
            return .array(items)
        }
        while true {
            skipSpace()
            items.append(try value())
            skipSpace()
            guard i < b.count else { throw error("unexpected end of input, \",\" or \"]\" expected") }
            if b[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            guard b[i] == UInt8(ascii: "]") else { throw error("unexpected \(shown(i)), \",\" or \"]\" expected") }
            i += 1
            depth -= 1
            return .array(items)
        }
    }

    /// A number by RFC 8259's grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    mutating func number() throws(JSON.ParseError) -> JSON {
        let start = i
        func digits(_ r: inout JSONReader) -> Int {
            let s = r.i
            while r.i < r.b.count, r.b[r.i] >= 0x30, r.b[r.i] <= 0x39 { r.i += 1 }
            return r.i - s
        }
        if b[i] == UInt8(ascii: "-") { i += 1 }
        guard i < b.count, b[i] >= 0x30, b[i] <= 0x39 else { throw error("invalid number, a digit expected", at: i) }
        if b[i] == 0x30 {
            i += 1
            if i < b.count, b[i] >= 0x30, b[i] <= 0x39 { throw error("invalid number, leading zero", at: start) }
        } else {
            _ = digits(&self)
        }
        var integral = true
        if i < b.count, b[i] == UInt8(ascii: ".") {
            integral = false
            i += 1
            guard digits(&self) > 0 else { throw error("invalid number, a digit expected after \".\"") }
        }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            integral = false
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            guard digits(&self) > 0 else { throw error("invalid number, a digit expected in the exponent") }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
        // "-0" keeps its sign as a double (as Go's float64 decoding does): the writer writes -0.0
        // as "-0", and an underflowing negative (-2.5e-333) reads as -0.0, so both read back alike.
        if integral, let v = Int64(text), v != 0 || b[start] != UInt8(ascii: "-") { return .int(v) }
        guard let d = Double(text), d.isFinite else { throw error("number \(text) out of range", at: start) }
        return .double(d)
    }

    /// A string's content, escapes decoded; the opening quote is at `i`.
    mutating func string() throws(JSON.ParseError) -> String {
        let start = i
        i += 1
        // The common case: no escapes, so the bytes between the quotes are the string.
        var k = i
        while k < b.count, b[k] != 0x22, b[k] != 0x5C, b[k] >= 0x20 { k += 1 }
        if k < b.count, b[k] == 0x22 {
            let raw = UnsafeBufferPointer(rebasing: b[i..<k])
            guard let s = String(validating: raw, as: UTF8.self) else { throw error("invalid UTF-8 in string", at: start) }
            i = k + 1
            return s
        }
        var out: [UInt8] = []
        out.reserveCapacity(k - i + 16)
        while true {
            guard i < b.count else { throw error("unterminated string", at: start) }
            let c = b[i]
            switch c {
            case 0x22:
                i += 1
                guard let s = String(validating: out, as: UTF8.self) else { throw error("invalid UTF-8 in string", at: start) }
                return s
            case 0x5C:
                i += 1
                guard i < b.count else { throw error("unterminated string", at: start) }
                let e = b[i]
                i += 1
                switch e {
                case 0x22, 0x5C, 0x2F: out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard i + 1 < b.count, b[i] == 0x5C, b[i + 1] == UInt8(ascii: "u") else {
                            throw error("lone surrogate \\u\(String(scalar, radix: 16)) in string", at: i - 6)
                        }
                        i += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw error("lone surrogate \\u\(String(scalar, radix: 16)) in string", at: i - 12) }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw error("lone surrogate \\u\(String(scalar, radix: 16)) in string", at: i - 6)
                    }
                    UTF8.encode(UnicodeScalar(scalar)!) { out.append($0) }
                default:
                    throw error("invalid escape \"\\\(Character(UnicodeScalar(e)))\" in string", at: i - 2)
                }
            default:
                guard c >= 0x20 else { throw error("control character 0x\(String(c, radix: 16)) in string", at: i) }
                out.append(c)
                i += 1
            }
        }
    }

    mutating func hex4() throws(JSON.ParseError) -> UInt32 {
        guard i + 4 <= b.count else { throw error("unterminated \\u escape", at: i) }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = b[i]
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x41...0x46: d = c - 0x41 + 10
            case 0x61...0x66: d = c - 0x61 + 10
            default: throw error("invalid \\u escape", at: i)
            }
            v = v << 4 | UInt32(d)
            i += 1
        }
        return v
    }
}
