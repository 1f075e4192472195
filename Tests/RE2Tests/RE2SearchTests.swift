import Foundation
import Testing

@testable import RE2

/// The engine against RE2's own expectations (re2-search.txt, the log Go's `TestRE2Search` reads,
/// from Debian's golang source package: see `GoTestData`): for every pattern and input, the
/// submatch positions of the leftmost-first match that spans the whole input and of the
/// leftmost-first match searched anywhere, and whether each matches at all.
@Suite("RE2: RE2's search tests")
struct RE2SearchTests {

    /// One pattern over one input, with RE2's expected slots (nil: no match) for the full and the partial match.
    struct Case: CustomTestStringConvertible {
        let line: Int
        let pattern: String
        let input: [UInt8]
        let full: [Int]?
        let partial: [Int]?
        var testDescription: String { "re2-search.txt:\(line)" }
    }

    /// The cases, read as Go's test reads them: `strings` stanzas then `regexps`, each regexp
    /// followed by one result line per string.
    static func cases() throws -> (cases: [Case], skipped: Int) {
        let text = try GoTestData.text("re2-search.txt")
        var strings: [[UInt8]] = []
        var inStrings = false
        var pattern: String? = nil
        var pending: [[UInt8]] = []
        var out: [Case] = []
        var skipped = 0
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            guard let first = line.first else { continue }
            if first == "#" || ("A"..."Z").contains(first) { continue }
            if line == "strings" {
                strings = []
                inStrings = true
            } else if line == "regexps" {
                inStrings = false
            } else if first == "\"" {
                let bytes = try GoQuoted.unquote(String(line))
                if inStrings {
                    strings.append(bytes)
                    continue
                }
                pending = strings
                // A pattern must be UTF-8 (Go rejects others); `\C` (any byte) is supported neither by Go
                // nor here, and Unicode scripts (`\p{Greek}`) not here: Swift does not expose a scalar's script.
                guard let p = String(validating: bytes, as: UTF8.self), !p.contains(#"\C"#), !p.contains("Greek}") else {
                    pattern = nil
                    skipped += pending.count
                    continue
                }
                pattern = p
            } else {
                let input = pending.removeFirst()
                guard let pattern else { continue }
                // RE2's \B also holds between the bytes of a UTF-8 sequence; Go's and ours only between scalars.
                if pattern.contains(#"\B"#) && input.contains(where: { $0 >= 0x80 }) {
                    skipped += 1
                    continue
                }
                let fields = line.split(separator: ";").map(String.init)
                out.append(Case(line: number, pattern: pattern, input: input, full: try parse(fields[0]), partial: try parse(fields[1])))
            }
        }
        return (out, skipped)
    }

    /// `-` (no match) or `0-3 1-2 -` (slot pairs, `-` for an unset group).
    static func parse(_ field: String) throws -> [Int]? {
        if field == "-" { return nil }
        var slots: [Int] = []
        for pair in field.split(separator: " ") {
            if pair == "-" {
                slots += [-1, -1]
                continue
            }
            let parts = pair.split(separator: "-")
            guard parts.count == 2, let lo = Int(parts[0]), let hi = Int(parts[1]) else { throw GoQuoted.Malformed(text: String(pair)) }
            slots += [lo, hi]
        }
        return slots
    }

    static func slots(_ match: RegularExpression.Match?) -> [Int]? {
        match.map { m in m.groups.flatMap { $0.map { [$0.lowerBound, $0.upperBound] } ?? [-1, -1] } }
    }

    @Test func theFileIsReadWhole() throws {
        let (cases, skipped) = try Self.cases()
        // 236 stanzas, 4 patterns each over 2 strings; 116 skipped (\C, \p{Greek}, \B on non-ASCII).
        #expect(cases.count > 1_700, "\(cases.count) cases")
        #expect(skipped < 150, "\(skipped) skipped")
        // What is skipped is what the engine refuses, by name.
        #expect(throws: RegularExpressionError.self) { try RegularExpression(#"\p{Greek}"#) }
    }

    @Test("every pattern matches as RE2 says", arguments: try cases().cases)
    func matchesAsRE2Says(_ c: Case) throws {
        let search = try RegularExpression(c.pattern, options: .go)
        let wrapped = try RegularExpression(#"\A(?:"# + c.pattern + #")\z"#, options: .go)
        let anchored = try RegularExpression(c.pattern, options: RegularExpression.Options(anchored: true, dotMatchesNewline: false))
        let input = String(decoding: c.input, as: UTF8.self).debugDescription
        #expect(Self.slots(search.firstMatch(in: c.input)) == c.partial, "partial \(c.pattern) on \(input)")
        #expect(Self.slots(wrapped.firstMatch(in: c.input)) == c.full, "full \(c.pattern) on \(input)")
        #expect(Self.slots(anchored.firstMatch(in: c.input)) == c.full, "anchored \(c.pattern) on \(input)")
        // Both capture engines: the backtracker (chosen for these short inputs) and the Pike VM.
        for re in [search, wrapped, anchored] {
            var steps = 0
            let pike = c.input.withUnsafeBufferPointer { re.pikeSearch($0, from: 0, slotCount: 2 * (re.groupCount + 1), steps: &steps) }
            #expect(pike == Self.slots(re.firstMatch(in: c.input)), "Pike VM \(re.pattern) \(re.options.anchored) on \(input)")
        }
        // The yes/no VM with both kinds of thread set (a bitmask for small programs, sparse sets beyond).
        for re in [search, wrapped, anchored] {
            var steps = 0
            let sparse = c.input.withUnsafeBufferPointer { re.runBoolean($0, steps: &steps, sparse: true) }
            #expect(sparse == (re === search ? c.partial != nil : c.full != nil), "sparse VM \(re.pattern) on \(input)")
        }
        #expect(search.matches(c.input) == (c.partial != nil), "partial match \(c.pattern) on \(input)")
        #expect(wrapped.matches(c.input) == (c.full != nil), "full match \(c.pattern) on \(input)")
        #expect(anchored.matches(c.input) == (c.full != nil), "anchored match \(c.pattern) on \(input)")
    }
}

/// Go's `strconv.Unquote` for double-quoted strings, to bytes (the inputs hold invalid UTF-8).
enum GoQuoted {
    struct Malformed: Error { var text: String }

    static func unquote(_ quoted: String) throws -> [UInt8] {
        let s = Array(quoted.utf8)
        guard s.count >= 2, s.first == UInt8(ascii: "\""), s.last == UInt8(ascii: "\"") else { throw Malformed(text: quoted) }
        var out: [UInt8] = []
        var i = 1
        let end = s.count - 1
        func hex(_ count: Int) throws -> UInt32 {
            guard i + count <= end else { throw Malformed(text: quoted) }
            guard let v = UInt32(String(decoding: s[i..<(i + count)], as: UTF8.self), radix: 16) else { throw Malformed(text: quoted) }
            i += count
            return v
        }
        while i < end {
            let c = s[i]
            i += 1
            guard c == UInt8(ascii: "\\") else {
                out.append(c)
                continue
            }
            guard i < end else { throw Malformed(text: quoted) }
            let e = s[i]
            i += 1
            switch e {
            case UInt8(ascii: "a"): out.append(0x07)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "v"): out.append(0x0B)
            case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "'"): out.append(e)
            case UInt8(ascii: "x"): out.append(UInt8(try hex(2)))
            case UInt8(ascii: "u"), UInt8(ascii: "U"):
                guard let scalar = Unicode.Scalar(try hex(e == UInt8(ascii: "u") ? 4 : 8)) else { throw Malformed(text: quoted) }
                out += Array(String(scalar).utf8)
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                guard i + 2 <= end else { throw Malformed(text: quoted) }
                let digits = [e, s[i], s[i + 1]]
                i += 2
                guard let v = UInt8(String(decoding: digits, as: UTF8.self), radix: 8) else { throw Malformed(text: quoted) }
                out.append(v)
            default:
                throw Malformed(text: quoted)
            }
        }
        return out
    }
}
