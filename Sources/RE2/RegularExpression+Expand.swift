/// Replacement templates, as Go's `Regexp.Expand`.
extension RegularExpression {
    /// Appends `template` to `out` with `$$` → `$` and `$name`/`${name}` → that group's text in
    /// `input` (nothing when the group is unknown or did not take part). A name is the longest
    /// run of letters, digits and `_`; a number names a group by index (no leading zeros: `$01`
    /// is the name "01"); a `$` without a valid name after it stays a `$`.
    func appendExpansion(of template: [UInt8], groups: [Range<Int>?], input: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        let dollar = UInt8(ascii: "$")
        var i = 0
        let n = template.count
        while i < n {
            guard let d = template[i...].firstIndex(of: dollar) else {
                out.append(contentsOf: template[i...])
                return
            }
            out.append(contentsOf: template[i..<d])
            i = d + 1
            if i < n, template[i] == dollar {
                out.append(dollar)
                i += 1
                continue
            }
            guard let (name, rest) = RegularExpression.templateName(template, at: i) else {
                out.append(dollar)  // malformed: the `$` is text
                continue
            }
            i = rest
            if let number = RegularExpression.groupNumber(name) {
                if number < groups.count, let r = groups[number] { out.append(contentsOf: input[r]) }
            } else {
                let text = String(decoding: name, as: UTF8.self)
                for (index, groupName) in groupNames.enumerated() where groupName == text && index < groups.count {
                    if let r = groups[index] {
                        out.append(contentsOf: input[r])
                        break
                    }
                }
            }
        }
    }

    /// The name after a `$` at `i` (Go's `extract`): `name` or `{name}`, and where the text goes on.
    static func templateName(_ t: [UInt8], at start: Int) -> (name: ArraySlice<UInt8>, rest: Int)? {
        t.withUnsafeBufferPointer { buffer -> (name: ArraySlice<UInt8>, rest: Int)? in
            var i = start
            guard i < buffer.count else { return nil }
            let brace = buffer[i] == UInt8(ascii: "{")
            if brace { i += 1 }
            let nameStart = i
            while i < buffer.count {
                let (c, width) = UTF8Decoding.decode(buffer, at: i)
                guard isNameScalar(c) else { break }
                i += width
            }
            guard i > nameStart else { return nil }  // an empty name is not a name
            if brace {
                guard i < buffer.count, buffer[i] == UInt8(ascii: "}") else { return nil }
                return (t[nameStart..<i], i + 1)
            }
            return (t[nameStart..<i], i)
        }
    }

    /// Letters and digits in Unicode's sense (Go's `unicode.IsLetter`/`IsDigit`), and `_`.
    static func isNameScalar(_ c: UInt32) -> Bool {
        if c < 0x80 { return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F }
        guard let u = Unicode.Scalar(c) else { return false }
        switch u.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .decimalNumber: return true
        default: return false
        }
    }

    /// A group number: ASCII digits without a leading zero, below 10⁸ (Go); else nil (a name).
    static func groupNumber(_ name: ArraySlice<UInt8>) -> Int? {
        guard let first = name.first else { return nil }
        if first == UInt8(ascii: "0") && name.count > 1 { return nil }
        var n = 0
        for b in name {
            guard b >= 0x30, b <= 0x39, n < 100_000_000 else { return nil }
            n = n * 10 + Int(b - 0x30)
        }
        return n
    }
}
