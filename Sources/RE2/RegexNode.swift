/// The parsed form of a pattern, before compilation.
indirect enum RegexNode: Sendable {
    case empty
    case literal(UInt32)
    case set(CharSet)
    case any(newline: Bool)
    case concat([RegexNode])
    case alternate([RegexNode])
    /// `max < 0`: unbounded.
    case repeated(RegexNode, min: Int, max: Int, greedy: Bool)
    case assertion(Assertion)
    case capture(Int, RegexNode)

    /// Whether the node can match the empty string (Go compiles `x*` of such an `x` as `(x+)?`,
    /// so that priorities, and hence submatches, come out as a backtracker's would).
    var isNullable: Bool {
        switch self {
        case .empty, .assertion: true
        case .literal, .set, .any: false
        case .capture(_, let body): body.isNullable
        case .concat(let items): items.allSatisfy(\.isNullable)
        case .alternate(let branches): branches.contains { $0.isNullable }
        case .repeated(let body, let min, _, _): min == 0 || body.isNullable
        }
    }
}

/// Zero-width assertions; `previous`/`next` are the scalars around the position (nil at the ends).
enum Assertion: UInt8, Sendable {
    case beginText, endText, beginLine, endLine, wordBoundary, notWordBoundary

    @inline(__always)
    func holds(previous: UInt32?, next: UInt32?) -> Bool {
        switch self {
        case .beginText: return previous == nil
        case .endText: return next == nil
        case .beginLine: return previous == nil || previous == 0x0A
        case .endLine: return next == nil || next == 0x0A
        case .wordBoundary: return Assertion.isWord(previous) != Assertion.isWord(next)
        case .notWordBoundary: return Assertion.isWord(previous) == Assertion.isWord(next)
        }
    }

    /// `\b`'s word characters are ASCII only, as in RE2 and Go.
    @inline(__always)
    static func isWord(_ c: UInt32?) -> Bool {
        guard let c else { return false }
        return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F
    }
}
