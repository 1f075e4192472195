/// UTF-8 decoding as Go's `utf8.DecodeRune` does it: a scalar and its width; any invalid or
/// truncated sequence (overlong forms, surrogates, > U+10FFFF) reads as U+FFFD of width 1, so
/// match positions on bad input are the same bytes Go reports.
enum UTF8Decoding {
    static let replacement: UInt32 = 0xFFFD

    /// The scalar starting at `i` (< `bytes.count`) and its width in bytes.
    @inline(__always)
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int) -> (scalar: UInt32, width: Int) {
        let b0 = bytes[i]
        if b0 < 0x80 { return (UInt32(b0), 1) }
        return decodeMultiByte(bytes, at: i, b0)
    }

    static func decodeMultiByte(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int, _ b0: UInt8) -> (scalar: UInt32, width: Int) {
        let n = bytes.count - i
        // The accepted range of the second byte depends on the first (no overlongs, surrogates or > U+10FFFF).
        var lo: UInt8 = 0x80
        var hi: UInt8 = 0xBF
        let width: Int
        switch b0 {
        case 0xC2...0xDF: width = 2
        case 0xE0: width = 3; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: width = 3
        case 0xED: width = 3; hi = 0x9F
        case 0xF0: width = 4; lo = 0x90
        case 0xF1...0xF3: width = 4
        case 0xF4: width = 4; hi = 0x8F
        default: return (replacement, 1)
        }
        guard n >= width else { return (replacement, 1) }
        let b1 = bytes[i + 1]
        guard b1 >= lo, b1 <= hi else { return (replacement, 1) }
        if width == 2 { return (UInt32(b0 & 0x1F) << 6 | UInt32(b1 & 0x3F), 2) }
        let b2 = bytes[i + 2]
        guard b2 & 0xC0 == 0x80 else { return (replacement, 1) }
        if width == 3 { return (UInt32(b0 & 0x0F) << 12 | UInt32(b1 & 0x3F) << 6 | UInt32(b2 & 0x3F), 3) }
        let b3 = bytes[i + 3]
        guard b3 & 0xC0 == 0x80 else { return (replacement, 1) }
        return (UInt32(b0 & 0x07) << 18 | UInt32(b1 & 0x3F) << 12 | UInt32(b2 & 0x3F) << 6 | UInt32(b3 & 0x3F), 4)
    }

    /// The width of the scalar at `i` (< `bytes.count`).
    @inline(__always)
    static func width(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int) -> Int { decode(bytes, at: i).width }

    /// What the assertions need of the scalar before `i`: nil at the start, the byte when it is
    /// ASCII, else a stand-in that is neither a word character nor a newline (as every non-ASCII
    /// scalar is for `\b`, `^` and `$`).
    static func context(before i: Int, in bytes: UnsafeBufferPointer<UInt8>) -> UInt32? {
        guard i > 0 else { return nil }
        let b = bytes[i - 1]
        return b < 0x80 ? UInt32(b) : replacement
    }
}
