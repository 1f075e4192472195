/// Decodes the body of a JSON string whose escapes the scanner has already validated.
enum JSONFieldStringDecoder {
    /// The value of a hexadecimal digit, or -1.
    @inline(__always)
    static func hexValue(_ c: UInt8) -> Int {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(c &- UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(c &- UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(c &- UInt8(ascii: "A")) + 10
        default: -1
        }
    }

    /// Writes the decoded bytes of `count` escaped bytes at `source` to `out` and returns how many
    /// it wrote (never more than `count`, so `out` may be a buffer of the same size). A lone
    /// UTF-16 surrogate (`\ud800` not followed by a low surrogate) becomes U+FFFD, as JSON
    /// decoders commonly do. Raw bytes are copied as they are: the caller validates UTF-8.
    static func decode(_ source: UnsafePointer<UInt8>, count: Int, into out: UnsafeMutablePointer<UInt8>) -> Int {
        var i = 0
        var o = 0
        while i < count {
            let c = source[i]
            guard c == UInt8(ascii: "\\"), i + 1 < count else {
                out[o] = c
                o += 1
                i += 1
                continue
            }
            let e = source[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "b"): out[o] = 0x08
            case UInt8(ascii: "f"): out[o] = 0x0C
            case UInt8(ascii: "n"): out[o] = 0x0A
            case UInt8(ascii: "r"): out[o] = 0x0D
            case UInt8(ascii: "t"): out[o] = 0x09
            case UInt8(ascii: "u"):
                guard let unit = hex4(source, at: i, count: count) else {
                    out[o] = e  // unreachable after validation; keep the byte rather than trap
                    o += 1
                    continue
                }
                i += 4
                var scalar = UInt32(unit)
                if unit >= 0xD800, unit < 0xDC00 {
                    // A high surrogate pairs with an immediately following `\uDC00`–`\uDFFF`.
                    if i + 6 <= count, source[i] == UInt8(ascii: "\\"), source[i + 1] == UInt8(ascii: "u"),
                        let low = hex4(source, at: i + 2, count: count), low >= 0xDC00, low < 0xE000
                    {
                        scalar = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                        i += 6
                    } else {
                        scalar = 0xFFFD
                    }
                } else if unit >= 0xDC00, unit < 0xE000 {
                    scalar = 0xFFFD
                }
                o += encodeUTF8(scalar, into: out + o)
                continue
            default: out[o] = e  // `"`, `\` and `/` stand for themselves
            }
            o += 1
        }
        return o
    }

    @inline(__always)
    static func hex4(_ s: UnsafePointer<UInt8>, at i: Int, count: Int) -> UInt16? {
        guard i + 4 <= count else { return nil }
        let a = hexValue(s[i]), b = hexValue(s[i + 1]), c = hexValue(s[i + 2]), d = hexValue(s[i + 3])
        guard a >= 0, b >= 0, c >= 0, d >= 0 else { return nil }
        return UInt16(a << 12 | b << 8 | c << 4 | d)
    }

    @inline(__always)
    static func encodeUTF8(_ v: UInt32, into out: UnsafeMutablePointer<UInt8>) -> Int {
        switch v {
        case 0..<0x80:
            out[0] = UInt8(v)
            return 1
        case 0x80..<0x800:
            out[0] = UInt8(0xC0 | (v >> 6))
            out[1] = UInt8(0x80 | (v & 0x3F))
            return 2
        case 0x800..<0x10000:
            out[0] = UInt8(0xE0 | (v >> 12))
            out[1] = UInt8(0x80 | ((v >> 6) & 0x3F))
            out[2] = UInt8(0x80 | (v & 0x3F))
            return 3
        default:
            out[0] = UInt8(0xF0 | (v >> 18))
            out[1] = UInt8(0x80 | ((v >> 12) & 0x3F))
            out[2] = UInt8(0x80 | ((v >> 6) & 0x3F))
            out[3] = UInt8(0x80 | (v & 0x3F))
            return 4
        }
    }
}

/// UTF-8 validation per the Unicode standard's table of well-formed byte sequences (no overlong
/// forms, no surrogates, nothing above U+10FFFF), with an eight-bytes-at-a-time ASCII fast path.
enum JSONFieldUTF8Validator {
    static func isValid(_ p: UnsafePointer<UInt8>, count: Int) -> Bool {
        var i = 0
        while i < count {
            if count - i >= 8, UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                i += 8
                continue
            }
            let b0 = p[i]
            if b0 < 0x80 {
                i += 1
                continue
            }
            let length: Int
            var lower: UInt8 = 0x80
            var upper: UInt8 = 0xBF
            switch b0 {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; lower = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; upper = 0x9F
            case 0xF0: length = 4; lower = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; upper = 0x8F
            default: return false
            }
            guard count - i >= length else { return false }
            let b1 = p[i + 1]
            guard b1 >= lower, b1 <= upper else { return false }
            for k in 2..<length where p[i + k] & 0xC0 != 0x80 { return false }
            i += length
        }
        return true
    }
}
