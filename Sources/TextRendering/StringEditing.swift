/// The few string edits that full Foundation's `NSString` bridge gave and FoundationEssentials does
/// not (`replacingOccurrences`, `trimmingCharacters`), done on Unicode scalars (Foundation's
/// `.literal` comparison): Swift's own `replacing` works on grapheme clusters, so `"\r\n"` would hide
/// a `"\n"`, and Foundation's default comparison would not see a quote followed by a combining mark.
extension StringProtocol {
    /// Every occurrence of `target` (compared scalar by scalar, left to right, not overlapping)
    /// replaced by `replacement`.
    public func replacingScalars(of target: String, with replacement: String) -> String {
        let needle = Array(target.utf8)
        guard !needle.isEmpty else { return String(self) }
        // UTF-8 is self-synchronising: a byte match of a whole scalar sequence is a scalar match.
        let bytes = Array(utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == needle[0], i + needle.count <= bytes.count, bytes[i..<(i + needle.count)].elementsEqual(needle) {
                out.append(contentsOf: replacement.utf8)
                i += needle.count
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Without leading and trailing white space: `CharacterSet.whitespaces` (tab and the space
    /// separators), and with `newlines` also `CharacterSet.newlines` (U+000A–U+000D, U+0085,
    /// U+2028, U+2029).
    public func trimmingWhitespace(newlines: Bool = false) -> String {
        func blank(_ s: Unicode.Scalar) -> Bool {
            if s == "\t" || s.properties.generalCategory == .spaceSeparator { return true }
            guard newlines else { return false }
            return (0x0A...0x0D).contains(s.value) || s.value == 0x85 || s.value == 0x2028 || s.value == 0x2029
        }
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !blank($0) }) else { return "" }
        let last = scalars.lastIndex(where: { !blank($0) })!
        var kept = String.UnicodeScalarView()
        kept.append(contentsOf: scalars[first...last])
        return String(kept)
    }
}
