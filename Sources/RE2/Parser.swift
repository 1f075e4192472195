/// The flags a group can set: `i`, `m`, `s`, `U`.
struct Flags {
    var caseInsensitive = false
    var dotNewline = false
    var multiLine = false
    var ungreedy = false
}

/// A recursive-descent parser of RE2 syntax (Go's `regexp/syntax` with the Perl flags), into a
/// `RegexNode` tree. Errors carry Go's codes and fragments.
///
/// Recursion is bounded by `RegularExpression.maxNesting` groups; repetitions are checked against
/// `maxRepeat`, also as a product of nested counts, before anything is expanded.
struct Parser {
    let p: [Unicode.Scalar]
    let initialFlags: Flags
    var i = 0
    var depth = 0
    var captureCount = 0
    /// Group names by index; index 0 is the whole match.
    var names: [String?] = [nil]

    init(_ pattern: String, dotMatchesNewline: Bool) {
        p = Array(pattern.unicodeScalars)
        initialFlags = Flags(dotNewline: dotMatchesNewline)
    }

    var atEnd: Bool { i >= p.count }
    func peek(_ k: Int = 0) -> Unicode.Scalar? { i + k < p.count ? p[i + k] : nil }

    /// An error quoting `p[from..<to]` (to the current position by default).
    func fail(_ code: RegularExpressionError.Code, from: Int, to: Int? = nil, _ kind: RegularExpressionError.Kind = .syntax) -> RegularExpressionError {
        let end = min(max(to ?? i, from), p.count)
        let offset = p[..<from].reduce(0) { $0 + UTF8.width($1) }
        return RegularExpressionError(code: code, fragment: String(String.UnicodeScalarView(p[from..<end])), offset: offset, kind: kind)
    }

    /// An error quoting the whole pattern, as Go does for unbalanced parentheses and limits.
    func failWhole(_ code: RegularExpressionError.Code, _ kind: RegularExpressionError.Kind = .syntax) -> RegularExpressionError {
        fail(code, from: 0, to: p.count, kind)
    }

    mutating func parse() throws(RegularExpressionError) -> RegexNode {
        var flags = initialFlags
        let node = try parseAlternation(&flags)
        if !atEnd { throw failWhole(.unexpectedParen) }  // only an unmatched ')' stops the top level early
        return node
    }

    mutating func parseAlternation(_ flags: inout Flags) throws(RegularExpressionError) -> RegexNode {
        var branches: [RegexNode] = [try parseConcat(&flags)]
        while peek() == "|" {
            i += 1
            branches.append(try parseConcat(&flags))
        }
        return branches.count == 1 ? branches[0] : .alternate(branches)
    }

    mutating func parseConcat(_ flags: inout Flags) throws(RegularExpressionError) -> RegexNode {
        var items: [RegexNode] = []
        while let c = peek(), c != "|", c != ")" {
            let atom: RegexNode
            switch c {
            case "(":
                guard let group = try parseGroupOrFlags(&flags) else { continue }  // (?i) changed the flags only
                atom = group
            case "[":
                atom = .set(try parseClass(flags))
            case ".":
                i += 1
                atom = .any(newline: flags.dotNewline)
            case "^":
                i += 1
                atom = .assertion(flags.multiLine ? .beginLine : .beginText)
            case "$":
                i += 1
                atom = .assertion(flags.multiLine ? .endLine : .endText)
            case "*", "+", "?":
                throw fail(.missingRepeatArgument, from: i, to: i + 1)
            case "{":
                if let repeatEnd = repeatOperator()?.end { throw fail(.missingRepeatArgument, from: i, to: repeatEnd) }
                i += 1
                atom = literal(c.value, flags)
            case "\\":
                atom = try parseEscape(flags)
            default:
                i += 1
                atom = literal(c.value, flags)
            }
            items.append(try parseRepeats(atom, flags))
        }
        if items.isEmpty { return .empty }
        return items.count == 1 ? items[0] : .concat(items)
    }

    /// A literal scalar; under `(?i)` the set of its case variants.
    func literal(_ c: UInt32, _ flags: Flags) -> RegexNode {
        guard flags.caseInsensitive else { return .literal(c) }
        let orbit = CaseFolding.orbit(of: c)
        if orbit.count == 1 { return .literal(c) }
        return .set(CharSet(ranges: CharSet.normalized(orbit.map { $0...$0 })))
    }

    /// `{n}`, `{n,}` or `{n,m}` at `i` (Go's `parseRepeat`): the counts (-1 for a count too big
    /// to represent) and the index after `}`, or nil when `{` is a literal here.
    func repeatOperator() -> (min: Int, max: Int, end: Int)? {
        guard peek() == "{" else { return nil }
        var k = i + 1
        func integer() -> Int?? {
            guard k < p.count, p[k].isASCIIDigit else { return nil }
            // No leading zeros (Go): `{01}` is not a repetition.
            if p[k] == "0", k + 1 < p.count, p[k + 1].isASCIIDigit { return nil }
            var v = 0
            var tooBig = false
            while k < p.count, p[k].isASCIIDigit {
                if v >= 100_000_000 { tooBig = true } else { v = v * 10 + Int(p[k].value - 0x30) }
                k += 1
            }
            return .some(tooBig ? nil : v)
        }
        guard let first = integer() else { return nil }
        var minCount = first ?? -1
        var maxCount = minCount
        guard k < p.count else { return nil }
        if p[k] == "," {
            k += 1
            guard k < p.count else { return nil }
            if p[k] == "}" {
                maxCount = -1
            } else {
                guard let second = integer() else { return nil }
                if let second { maxCount = second } else { minCount = -1 }
            }
        }
        guard k < p.count, p[k] == "}" else { return nil }
        return (minCount, maxCount, k + 1)
    }

    mutating func parseRepeats(_ atom: RegexNode, _ flags: Flags) throws(RegularExpressionError) -> RegexNode {
        var node = atom
        var previousStart: Int? = nil
        while let c = peek() {
            let opStart = i
            var minCount = 0
            var maxCount = -1
            switch c {
            case "*": i += 1
            case "+": i += 1; minCount = 1
            case "?": i += 1; maxCount = 1
            case "{":
                guard let op = repeatOperator() else { return node }
                i = op.end
                minCount = op.min
                maxCount = op.max
                let limit = RegularExpression.maxRepeat
                if minCount < 0 || minCount > limit || maxCount > limit || (maxCount >= 0 && minCount > maxCount) {
                    throw fail(.invalidRepeatSize, from: opStart, minCount > maxCount && maxCount >= 0 && minCount <= limit ? .syntax : .limit)
                }
            default:
                return node
            }
            var lazy = false
            if peek() == "?" {
                i += 1
                lazy = true
            }
            if let previousStart {
                // RE2 does not stack repetitions: `a**` is an error, and `a*+` (possessive in PCRE) unsupported.
                throw fail(.invalidRepeatOp, from: previousStart, c == "+" && !lazy ? .unsupported : .syntax)
            }
            node = .repeated(node, min: minCount, max: maxCount, greedy: lazy == flags.ungreedy)
            if minCount >= 2 || maxCount >= 2, !Parser.repeatIsValid(node, RegularExpression.maxRepeat) {
                throw fail(.invalidRepeatSize, from: opStart, .limit)
            }
            previousStart = opStart
        }
        return node
    }

    /// Whether the nested counts of `node` multiply to at most `n` copies of the innermost thing (Go).
    static func repeatIsValid(_ node: RegexNode, _ n: Int) -> Bool {
        var n = n
        switch node {
        case .repeated(let body, let minCount, let maxCount, _):
            var m = maxCount
            if m == 0 { return true }
            if m < 0 { m = minCount }
            if m > n { return false }
            if m > 0 { n /= m }
            return repeatIsValid(body, n)
        case .capture(_, let body): return repeatIsValid(body, n)
        case .concat(let items), .alternate(let items): return items.allSatisfy { repeatIsValid($0, n) }
        default: return true
        }
    }

    /// A group, or nil for a bare flag setting such as `(?i)` that changes `flags` for the rest
    /// of the enclosing group (Go's `parsePerlFlags` and `(` handling).
    mutating func parseGroupOrFlags(_ flags: inout Flags) throws(RegularExpressionError) -> RegexNode? {
        let start = i
        i += 1  // "("
        var inner = flags
        var captureIndex: Int? = nil
        if peek() == "?" {
            if (peek(1) == "P" && peek(2) == "<") || peek(1) == "<" {
                // Named group: (?P<name>…) or (?<name>…).
                let nameStart = i + (peek(1) == "P" ? 3 : 2)
                let lookBehind = peek(1) == "<" && (peek(2) == "=" || peek(2) == "!")
                guard let close = p[nameStart...].firstIndex(of: ">") else {
                    throw fail(.invalidNamedCapture, from: start, to: p.count, lookBehind ? .unsupported : .syntax)
                }
                let name = String(String.UnicodeScalarView(p[nameStart..<close]))
                guard !name.isEmpty, name.unicodeScalars.allSatisfy({ $0 == "_" || $0.isASCIIDigit || $0.isASCIILetter }) else {
                    throw fail(.invalidNamedCapture, from: start, to: close + 1, lookBehind ? .unsupported : .syntax)
                }
                i = close + 1
                captureCount += 1
                captureIndex = captureCount
                names.append(name)  // duplicates are allowed, as in Go
            } else {
                i += 1
                var negate = false
                var sawFlag = false
                flagLoop: while true {
                    guard let c = peek() else { throw fail(.invalidPerlOp, from: start, to: p.count) }
                    i += 1
                    switch c {
                    case "i": inner.caseInsensitive = !negate; sawFlag = true
                    case "m": inner.multiLine = !negate; sawFlag = true
                    case "s": inner.dotNewline = !negate; sawFlag = true
                    case "U": inner.ungreedy = !negate; sawFlag = true
                    case "-":
                        if negate { throw fail(.invalidPerlOp, from: start) }
                        negate = true
                        sawFlag = false
                    case ":", ")":
                        if negate && !sawFlag { throw fail(.invalidPerlOp, from: start) }
                        if c == ")" {
                            flags = inner
                            return nil
                        }
                        break flagLoop
                    default:
                        // Look-around, atomic groups, comments, recursion, named backreferences: PCRE, not RE2.
                        let pcre: Set<Unicode.Scalar> = ["=", "!", ">", "#", "P", "R", "&", "|", "'", "+", "("]
                        throw fail(.invalidPerlOp, from: start, pcre.contains(c) || c.isASCIIDigit ? .unsupported : .syntax)
                    }
                }
            }
        } else {
            captureCount += 1
            captureIndex = captureCount
            names.append(nil)
        }
        depth += 1
        if depth > RegularExpression.maxNesting { throw failWhole(.nestingDepth, .limit) }
        let node = try parseAlternation(&inner)
        depth -= 1
        guard peek() == ")" else { throw failWhole(.missingParen) }
        i += 1
        if let captureIndex { return .capture(captureIndex, node) }
        return node
    }

    mutating func parseEscape(_ flags: Flags) throws(RegularExpressionError) -> RegexNode {
        let start = i
        guard let c = peek(1) else {
            i += 1
            throw fail(.trailingBackslash, from: i, to: i)
        }
        switch c {
        case "A": i += 2; return .assertion(.beginText)
        case "z": i += 2; return .assertion(.endText)
        case "b": i += 2; return .assertion(.wordBoundary)
        case "B": i += 2; return .assertion(.notWordBoundary)
        case "C": throw fail(.invalidEscape, from: start, to: start + 2, .unsupported)
        case "Q":
            i += 2
            var items: [RegexNode] = []
            while !atEnd {
                if peek() == "\\", peek(1) == "E" {
                    i += 2
                    break
                }
                items.append(literal(p[i].value, flags))
                i += 1
            }
            return items.isEmpty ? .empty : items.count == 1 ? items[0] : .concat(items)
        case "p", "P":
            return .set(try parseUnicodeClass(flags))
        case "d", "D", "s", "S", "w", "W":
            i += 2
            return .set(Parser.perlClass(c, flags))
        default:
            return literal(try parseLiteralEscape(), flags)
        }
    }

    /// `\d \s \w` and their negations, folded under `(?i)` before being negated (as RE2 does).
    static func perlClass(_ c: Unicode.Scalar, _ flags: Flags) -> CharSet {
        let lower = UInt8(c.value) | 0x20
        return CharSet.make(CharSet.perl[lower]!, folded: flags.caseInsensitive, negated: c.value & 0x20 == 0)
    }

    /// `\pL`, `\p{Lu}`, `\PL`, `\p{^Lu}` with `i` at the backslash.
    mutating func parseUnicodeClass(_ flags: Flags) throws(RegularExpressionError) -> CharSet {
        let start = i
        var negated = p[i + 1] == "P"
        i += 2
        guard let first = peek() else { throw fail(.invalidCharRange, from: start) }
        var name: String
        if first == "{" {
            guard let close = p[i...].firstIndex(of: "}") else { throw fail(.invalidCharRange, from: start, to: p.count) }
            name = String(String.UnicodeScalarView(p[(i + 1)..<close]))
            i = close + 1
        } else {
            name = String(first)
            i += 1
        }
        if name.hasPrefix("^") {
            negated.toggle()
            name.removeFirst()
        }
        switch CharSet.unicodeClass(name) {
        case .ranges(let ranges)?:
            return CharSet.make(ranges, folded: flags.caseInsensitive, negated: negated)
        case .categories(let categories, let inverted)?:
            return CharSet(terms: [CharSet.CategoryTerm(categories: categories, negated: inverted != negated, folded: flags.caseInsensitive)])
        case nil:
            let key = CharSet.canonicalName(name)
            if CharSet.scripts.contains(where: { CharSet.canonicalName($0) == key }) {
                throw fail(.unsupportedScript, from: start, .unsupported)
            }
            throw fail(.invalidCharRange, from: start)
        }
    }

    /// A single escaped scalar (`\n`, `\x41`, `\101`, `\.`) with `i` at the backslash (Go's `parseEscape`).
    mutating func parseLiteralEscape() throws(RegularExpressionError) -> UInt32 {
        let start = i
        i += 1
        guard let c = peek() else { throw fail(.trailingBackslash, from: i, to: i) }
        i += 1
        switch c {
        case "a": return 0x07
        case "f": return 0x0C
        case "t": return 0x09
        case "n": return 0x0A
        case "r": return 0x0D
        case "v": return 0x0B
        case "0"..."7":
            // A single non-zero digit is a backreference, which RE2 does not support.
            if c != "0", !(peek().map { $0 >= "0" && $0 <= "7" } ?? false) {
                throw fail(.invalidEscape, from: start, .unsupported)
            }
            var v = c.value - 0x30
            var k = 1
            while k < 3, let d = peek(), d >= "0", d <= "7" {
                v = v * 8 + d.value - 0x30
                i += 1
                k += 1
            }
            return v
        case "x":
            guard let d = peek() else { throw fail(.invalidEscape, from: start) }
            i += 1
            if d == "{" {
                var v: UInt32 = 0
                var digits = 0
                while true {
                    guard let h = peek() else { throw fail(.invalidEscape, from: start) }
                    i += 1
                    if h == "}" { break }
                    guard let x = Parser.hexValue(h) else { throw fail(.invalidEscape, from: start) }
                    v = v * 16 + x
                    guard v <= 0x10FFFF else { throw fail(.invalidEscape, from: start) }
                    digits += 1
                }
                guard digits > 0 else { throw fail(.invalidEscape, from: start) }
                return v
            }
            guard let e = peek() else { throw fail(.invalidEscape, from: start) }
            i += 1
            guard let x = Parser.hexValue(d), let y = Parser.hexValue(e) else { throw fail(.invalidEscape, from: start) }
            return x * 16 + y
        default:
            // Escaped ASCII punctuation is itself; letters and digits are reserved (RE2).
            if c.isASCII, !c.isASCIILetter, !c.isASCIIDigit { return c.value }
            let pcre: Set<Unicode.Scalar> = ["8", "9", "Z", "G", "K", "R", "X", "g", "k", "h", "H", "N", "V", "e", "c", "o", "u", "U", "l", "L", "E"]
            throw fail(.invalidEscape, from: start, pcre.contains(c) ? .unsupported : .syntax)
        }
    }

    static func hexValue(_ c: Unicode.Scalar) -> UInt32? {
        switch c {
        case "0"..."9": c.value - 0x30
        case "a"..."f": c.value - 0x61 + 10
        case "A"..."F": c.value - 0x41 + 10
        default: nil
        }
    }

    /// `[…]` with `i` at `[` (Go's `parseClass`): items folded under `(?i)`, then the whole negated for `[^…]`.
    mutating func parseClass(_ flags: Flags) throws(RegularExpressionError) -> CharSet {
        let start = i
        i += 1
        var set = CharSet()
        if peek() == "^" {
            set.negated = true
            i += 1
        }
        var first = true
        while true {
            guard let c = peek() else { throw fail(.missingBracket, from: start, to: p.count) }
            if c == "]" && !first {
                i += 1
                break
            }
            first = false
            // POSIX [:alpha:] / [:^alpha:]: up to the first ":]" (Go).
            if c == "[", peek(1) == ":", let close = closingColonBracket(from: i + 2) {
                var name = String(String.UnicodeScalarView(p[(i + 2)..<close]))
                var negated = false
                if name.hasPrefix("^") {
                    negated = true
                    name.removeFirst()
                }
                guard let ranges = CharSet.posix[name] else { throw fail(.invalidCharRange, from: i, to: close + 2) }
                set.formUnion(CharSet.make(ranges, folded: flags.caseInsensitive, negated: negated))
                i = close + 2
                continue
            }
            if c == "\\", let d = peek(1) {
                if d == "p" || d == "P" {
                    set.formUnion(try parseUnicodeClass(flags))
                    continue
                }
                if "dDsSwW".unicodeScalars.contains(d) {
                    set.formUnion(Parser.perlClass(d, flags))
                    i += 2
                    continue
                }
            }
            let rangeStart = i
            let lo = try classScalar(start)
            var hi = lo
            if peek() == "-", let after = peek(1), after != "]" {
                i += 1
                hi = try classScalar(start)
                guard lo <= hi else { throw fail(.invalidCharRange, from: rangeStart) }
            }
            set.formUnion(CharSet.make([lo...hi], folded: flags.caseInsensitive, negated: false))
        }
        set.normalize()
        return set
    }

    /// The index of the ':' of the first ":]" at or after `k`.
    func closingColonBracket(from k: Int) -> Int? {
        var j = k
        while j + 1 < p.count {
            if p[j] == ":" && p[j + 1] == "]" { return j }
            j += 1
        }
        return nil
    }

    mutating func classScalar(_ classStart: Int) throws(RegularExpressionError) -> UInt32 {
        guard let c = peek() else { throw fail(.missingBracket, from: classStart, to: p.count) }
        if c == "\\" { return try parseLiteralEscape() }
        i += 1
        return c.value
    }
}

extension Unicode.Scalar {
    var isASCIIDigit: Bool { value >= 0x30 && value <= 0x39 }
    var isASCIILetter: Bool { (value >= 0x41 && value <= 0x5A) || (value >= 0x61 && value <= 0x7A) }
}
