/// The writer: compact JSON (RFC 8259) from a value, working on UTF-8 bytes.
extension JSON {
    /// The encoded bytes. `escapeHTML` escapes `<`, `>` and `&` as Go's encoder does by default;
    /// `newline` appends `\n` as Go's `json.Encoder.Encode` does; `sortedKeys` writes every
    /// object's members in byte order of their keys instead of their own order.
    public func encoded(escapeHTML: Bool = false, newline: Bool = false, sortedKeys: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(into: &out, escapeHTML: escapeHTML, sortedKeys: sortedKeys)
        if newline { out.append(0x0A) }
        return out
    }

    /// The number of bytes `encoded` would produce (without the newline).
    public var encodedCount: Int { encoded().count }

    /// Appends the encoding to `out`.
    public func write(into out: inout [UInt8], escapeHTML: Bool = false, sortedKeys: Bool = false) {
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
                item.write(into: &out, escapeHTML: escapeHTML, sortedKeys: sortedKeys)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            let ordered = sortedKeys ? JSON.sortedUnique(members) : members
            for (i, (key, value)) in ordered.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSON.writeString(key, into: &out, escapeHTML: escapeHTML)
                out.append(UInt8(ascii: ":"))
                value.write(into: &out, escapeHTML: escapeHTML, sortedKeys: sortedKeys)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// A number as Go's `encoding/json` writes it (`GoFloat.json`): `1`, `0.25`, `1e-7`, `1e+21`;
    /// NaN and infinities, which JSON cannot carry, as `null`.
    public static func format(_ d: Double) -> String { GoFloat.json(d) }

    /// Members sorted by key with a repeated key written once, its last value (a map's view of the
    /// object, as Go and `JSONSerialization` read it).
    static func sortedUnique(_ members: [(String, JSON)]) -> [(String, JSON)] {
        var sorted = members.enumerated().sorted {
            $0.element.0 == $1.element.0 ? $0.offset < $1.offset : $0.element.0.utf8.lexicographicallyPrecedes($1.element.0.utf8)
        }.map(\.element)
        var k = sorted.count - 1
        while k > 0 {
            if sorted[k - 1].0 == sorted[k].0 { sorted.remove(at: k - 1) }
            k -= 1
        }
        return sorted
    }

    static let hex = Array("0123456789abcdef".utf8)

    /// Writes `s` quoted and escaped, working on its UTF-8 bytes (no per-character allocation):
    /// quotes, backslashes and control characters (RFC 8259), U+2028 and U+2029 (valid JSON that
    /// breaks JavaScript; Go escapes them too), and `<`, `>`, `&` when `escapeHTML`.
    public static func writeString(_ s: String, into out: inout [UInt8], escapeHTML: Bool = false) {
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

    /// True when `s` has nothing `writeString` (without `escapeHTML`) would escape.
    static func needsNoEscaping(_ s: String) -> Bool {
        s.utf8.allSatisfy { $0 >= 0x20 && $0 != 0x22 && $0 != 0x5C && $0 != 0xE2 }
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
