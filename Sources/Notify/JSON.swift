/// A JSON value with object keys in the order given, so payloads come out byte for byte as the
/// receiver's documentation (and Alertmanager's Go structs) lay them out.
public enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSON])
    /// Keys in insertion order.
    case object([(String, JSON)])

    public static func == (a: JSON, b: JSON) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.int(let x), .int(let y)): return x == y
        case (.double(let x), .double(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// An object from a dictionary, keys sorted (as Go encodes maps).
    public static func sortedObject(_ dictionary: [String: String]) -> JSON {
        .object(dictionary.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }.map { ($0.key, .string($0.value)) })
    }

    /// The encoded bytes. `escapeHTML` escapes `<`, `>` and `&` as Go's encoder does by default;
    /// `newline` appends `\n` as Go's `json.Encoder.Encode` does.
    public func encoded(escapeHTML: Bool = false, newline: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(into: &out, escapeHTML: escapeHTML)
        if newline { out.append(0x0A) }
        return out
    }

    /// The number of bytes `encoded` would produce (without the newline).
    public var encodedCount: Int { encoded().count }

    func write(into out: inout [UInt8], escapeHTML: Bool) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .double(let d): out.append(contentsOf: JSON.format(d).utf8)
        case .string(let s): JSON.writeString(s, into: &out, escapeHTML: escapeHTML)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.write(into: &out, escapeHTML: escapeHTML)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSON.writeString(key, into: &out, escapeHTML: escapeHTML)
                out.append(UInt8(ascii: ":"))
                value.write(into: &out, escapeHTML: escapeHTML)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Numbers as JSON allows them: integers without a fraction, NaN and infinities (which JSON
    /// cannot carry) as `null`.
    static func format(_ d: Double) -> String {
        guard d.isFinite else { return "null" }
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return "\(d)"
    }

    static let hex = Array("0123456789abcdef".utf8)

    /// Writes `s` quoted and escaped, working on its UTF-8 bytes (no per-character allocation).
    static func writeString(_ s: String, into out: inout [UInt8], escapeHTML: Bool) {
        out.append(UInt8(ascii: "\""))
        var copy = s
        copy.withUTF8 { bytes in
            var i = 0
            var runStart = 0
            while i < bytes.count {
                let b = bytes[i]
                var escape: [UInt8]? = nil
                var width = 1
                switch b {
                case 0x22: escape = [0x5C, 0x22]
                case 0x5C: escape = [0x5C, 0x5C]
                case 0x0A: escape = [0x5C, UInt8(ascii: "n")]
                case 0x0D: escape = [0x5C, UInt8(ascii: "r")]
                case 0x09: escape = [0x5C, UInt8(ascii: "t")]
                case 0x3C, 0x3E, 0x26: escape = escapeHTML ? unicodeEscaped(UInt32(b)) : nil
                case 0xE2 where i + 2 < bytes.count && bytes[i + 1] == 0x80 && (bytes[i + 2] == 0xA8 || bytes[i + 2] == 0xA9):
                    // U+2028 and U+2029 are valid JSON but break JavaScript; Go escapes them too.
                    escape = unicodeEscaped(bytes[i + 2] == 0xA8 ? 0x2028 : 0x2029)
                    width = 3
                default:
                    if b < 0x20 { escape = unicodeEscaped(UInt32(b)) }
                }
                if let escape {
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i]))
                    out.append(contentsOf: escape)
                    i += width
                    runStart = i
                } else {
                    i += 1
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count]))
        }
        out.append(UInt8(ascii: "\""))
    }

    static func unicodeEscaped(_ v: UInt32) -> [UInt8] {
        var out: [UInt8] = []
        unicodeEscape(v, into: &out)
        return out
    }

    static func unicodeEscape(_ v: UInt32, into out: inout [UInt8]) {
        out.append(contentsOf: [0x5C, UInt8(ascii: "u")])
        for shift in stride(from: 12, through: 0, by: -4) { out.append(hex[Int((v >> UInt32(shift)) & 0xF)]) }
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}
