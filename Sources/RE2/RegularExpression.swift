/// A regular expression in RE2 syntax — the dialect of Go's `regexp`, Prometheus and
/// Alertmanager — matched in time linear in the input, whatever the pattern.
///
/// Model: the pattern is parsed into a small tree (`Parser.swift`), compiled into a Thompson NFA
/// program (`Compiler.swift`) and run as a breadth-first simulation, a Pike VM (`PikeVM.swift`):
/// each input scalar is looked at once per live program state, so the work is bounded by
/// O(input × program) and a hostile `(a*)*b` or `(x+x+)+y` cannot stall the caller. Backtracking
/// engines (the standard library's and ICU's) take exponential time on such patterns and accept
/// constructs RE2 rejects; this engine rejects what RE2 rejects, with Go's messages.
///
/// Semantics are Go's: leftmost-first submatches (the first alternative and greedy repetition win,
/// as a backtracker would choose, but found without backtracking), positions in UTF-8 bytes, an
/// invalid UTF-8 byte read as U+FFFD of width 1, `\b` on ASCII word characters, `$1`/`${name}`
/// templates as `Regexp.Expand`, and `replacingAll` as `Regexp.ReplaceAllString` (an empty match
/// right after a previous match is not replaced).
///
/// Supported: literals and escapes (`\n \t \x41 \x{263a} \101 \Q…\E`), `.`, classes (`[a-z]`,
/// `[^…]`, `[[:alpha:]]`, `\d \w \s` and negations, `\pL`/`\p{Lu}`/`\p{Letter}`-style names for
/// general categories, `Any`, `ASCII`), groups `( )`, `(?: )`, `(?P<name> )`, `(?<name> )`, flags
/// `(?i) (?m) (?s) (?U)` and `(?flags: )`, alternation, `* + ? {n} {n,} {n,m}` greedy or lazy,
/// and `^ $ \A \z \b \B`. Rejected as RE2 rejects them: backreferences, look-around, atomic
/// groups, possessive quantifiers, `\C`, `\Z`, repeat counts above 1000 (also as a product of
/// nested counts). Not supported although RE2 has them: Unicode scripts (`\p{Greek}`).
///
/// Immutable after init, hence `Sendable`: share one instance between threads.
public final class RegularExpression: Sendable {
    /// How a pattern is matched: anchored or searched, and what `.` means by default.
    public struct Options: Sendable, Hashable {
        /// Whether a match must span the whole input (`^(?:…)$`), or may be found anywhere.
        public var anchored: Bool
        /// Whether `.` matches `\n` unless the pattern says otherwise (the `s` flag).
        public var dotMatchesNewline: Bool

        /// Options spelled out; the presets below name the common cases.
        public init(anchored: Bool, dotMatchesNewline: Bool) {
            self.anchored = anchored
            self.dotMatchesNewline = dotMatchesNewline
        }

        /// Prometheus's label matchers, `label_replace` and relabelling: `^(?s:pattern)$`.
        public static let prometheus = Options(anchored: true, dotMatchesNewline: true)
        /// Alertmanager's matchers: `^(?:pattern)$`, `.` not matching `\n`.
        public static let alertmanager = Options(anchored: true, dotMatchesNewline: false)
        /// Go's `regexp.Compile(pattern)`: searched anywhere, `.` not matching `\n` (templates' `reReplaceAll`).
        public static let go = Options(anchored: false, dotMatchesNewline: false)
    }

    /// Where a match and its groups lie in the input, in UTF-8 byte offsets.
    public struct Match: Sendable, Hashable {
        /// Index 0 is the whole match; a group that took no part in the match is nil.
        public let groups: [Range<Int>?]

        /// The whole match.
        public var range: Range<Int> { groups[0]! }

        /// Group `index`'s range, nil when it took no part or does not exist.
        public subscript(index: Int) -> Range<Int>? { index >= 0 && index < groups.count ? groups[index] : nil }

        init(slots: [Int], groupCount: Int) {
            var groups: [Range<Int>?] = []
            groups.reserveCapacity(groupCount + 1)
            for g in 0...groupCount {
                let lo = 2 * g + 1 < slots.count ? slots[2 * g] : -1
                let hi = 2 * g + 1 < slots.count ? slots[2 * g + 1] : -1
                groups.append(lo >= 0 && hi >= lo ? lo..<hi : nil)
            }
            self.groups = groups
        }
    }

    /// Largest compiled program accepted, in instructions.
    public static let maxProgramSize = 50_000
    /// Largest `{n,m}` count, also the limit of the product of nested counts (as in RE2).
    public static let maxRepeat = 1000
    /// Deepest group nesting accepted.
    public static let maxNesting = 200
    /// Most capture slots (2 per group, and 2 for the match) times instructions that consume a
    /// scalar: the Pike VM keeps one slot array per live thread, at most one thread per such
    /// instruction, so this bounds a search's memory at 32 MiB (`(a?)` repeated ten thousand
    /// times would otherwise ask for gigabytes).
    public static let maxCaptureSlots = 4 << 20

    /// The pattern as written.
    public let pattern: String
    /// How it is matched.
    public let options: Options
    /// Number of capturing groups.
    public let groupCount: Int
    /// Each group's name by index (index 0, the whole match, and unnamed groups are nil), as Go's `SubexpNames`.
    public let groupNames: [String?]

    let program: [Instruction]
    let sets: [CharSet]
    let fast: FastPath
    /// The program index of the `match` instruction.
    let matchPC: Int
    /// The literal scalars an anchored pattern starts with (as UTF-8), how many instructions
    /// consume them (one each, from pc 0), and the last of them (the context of what follows).
    let prefix: (bytes: [UInt8], instructions: Int, last: UInt32?)

    /// Compiles `pattern`; throws, with Go's reason and where in the pattern, when RE2 would reject it.
    public init(_ pattern: String, options: Options = .prometheus) throws(RegularExpressionError) {
        self.pattern = pattern
        self.options = options
        var parser = Parser(pattern, dotMatchesNewline: options.dotMatchesNewline)
        let tree = try parser.parse()
        groupCount = parser.captureCount
        groupNames = parser.names
        fast = options.anchored ? FastPath(anchored: tree) : FastPath(unanchored: tree)
        prefix = FastPath.literalPrefix(tree)
        var compiler = Compiler(pattern: pattern)
        try compiler.compile(tree)
        if options.anchored { compiler.emit(.assert, Int32(Assertion.endText.rawValue)) }
        matchPC = compiler.program.count
        compiler.emit(.match)
        let consuming = compiler.program.count { $0.consumes }
        if 2 * (groupCount + 1) * (consuming + 1) > Self.maxCaptureSlots {
            throw RegularExpressionError(code: .large, fragment: pattern, offset: 0, kind: .limit)
        }
        program = compiler.program
        sets = compiler.sets
    }

    /// The index of the leftmost group called `name`, as Go's `SubexpIndex`.
    public func groupIndex(named name: String) -> Int? {
        groupNames.firstIndex { $0 == name }
    }

    // MARK: Matching

    /// Whether `utf8` matches: as a whole when anchored, anywhere otherwise (Go's `Match`).
    /// - Complexity: O(`utf8.count` × program size), without allocating for small programs.
    public func matches(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        if let answer = fast.matches(utf8) { return answer }
        return runBoolean(utf8)
    }

    /// Whether the UTF-8 bytes `utf8` match (see `matches(_:)` on a buffer).
    @inlinable
    public func matches<C: Collection>(_ utf8: C) -> Bool where C.Element == UInt8 {
        if let answer = utf8.withContiguousStorageIfAvailable({ matches($0) }) { return answer }
        return Array(utf8).withUnsafeBufferPointer { matches($0) }
    }

    /// Whether `text` matches (see `matches(_:)` on a buffer).
    public func matches(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { matches($0) }
    }

    /// `matches`, also counting the VM's work (threads added and stepped): bounded by
    /// (input scalars + 1) × program size × 2, which the tests check on hostile patterns.
    func matches(_ utf8: UnsafeBufferPointer<UInt8>, steps: inout Int) -> Bool {
        if let answer = fast.matches(utf8) { return answer }
        return runBoolean(utf8, steps: &steps)
    }

    /// The leftmost-first match in `utf8` and its groups (Go's `FindSubmatchIndex`), or nil.
    public func firstMatch(in utf8: [UInt8]) -> Match? {
        utf8.withUnsafeBufferPointer { buffer in
            var steps = 0
            return search(buffer, from: 0, slotCount: 2 * (groupCount + 1), steps: &steps).map { Match(slots: $0, groupCount: groupCount) }
        }
    }

    /// The leftmost-first match in `text` (see `firstMatch(in:)` on bytes).
    public func firstMatch(in text: String) -> Match? { firstMatch(in: Array(text.utf8)) }

    /// Successive non-overlapping matches, at most `limit` (Go's `FindAllSubmatchIndex(b, n)`):
    /// after an empty match the search moves on one scalar, and an empty match right after the
    /// previous match is skipped.
    /// - Complexity: each search is linear; k matches cost at most k × program × input, as in Go.
    public func allMatches(in utf8: [UInt8], limit: Int = .max) -> [Match] {
        var out: [Match] = []
        utf8.withUnsafeBufferPointer { buffer in
            var steps = 0
            var pos = 0
            var previousEnd = -1
            var vm: CaptureVM? = nil
            while out.count < limit, pos <= buffer.count {
                guard let slots = search(buffer, from: pos, slotCount: 2 * (groupCount + 1), vm: &vm, steps: &steps) else { break }
                var accept = true
                if slots[1] == pos {
                    // An empty match: never right after the previous match; step over one scalar.
                    if slots[0] == previousEnd { accept = false }
                    pos += pos < buffer.count ? UTF8Decoding.width(buffer, at: pos) : 1
                } else {
                    pos = slots[1]
                }
                previousEnd = slots[1]
                if accept { out.append(Match(slots: slots, groupCount: groupCount)) }
            }
        }
        return out
    }

    /// Go's `Regexp.Expand`: `template` with `$1`, `${1}`, `$name`, `${name}` replaced by the
    /// groups of `match` in `utf8` and `$$` by `$`. A name is the longest run of letters, digits
    /// and `_` (so `$1x` names group "1x"; write `${1}x`); unknown or unset groups expand to
    /// nothing; a `$` not followed by a valid name stays as it is.
    public func expand(_ template: String, _ match: Match, in utf8: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        utf8.withUnsafeBufferPointer { input in
            appendExpansion(of: Array(template.utf8), groups: match.groups, input: input, to: &out)
        }
        return out
    }

    /// `expand` over a `String` input.
    public func expand(_ template: String, _ match: Match, in text: String) -> String {
        String(decoding: expand(template, match, in: Array(text.utf8)), as: UTF8.self)
    }

    /// Go's `Regexp.ReplaceAllString`: every non-overlapping match in `utf8` replaced by the
    /// expansion of `template` (`$1`, `${name}`, `$$` as in `expand`); an empty match right
    /// after the previous match is not replaced.
    /// - Complexity: as `allMatches`: linear per search, k matches at most k × program × input.
    public func replacingAll(in utf8: [UInt8], with template: String) -> [UInt8] {
        let t = Array(template.utf8)
        // As Go: the groups are tracked only when the template can refer to them.
        let slotCount = t.contains(UInt8(ascii: "$")) ? 2 * (groupCount + 1) : 2
        var out: [UInt8] = []
        utf8.withUnsafeBufferPointer { input in
            var steps = 0
            var lastMatchEnd = 0
            var searchPos = 0
            var groups: [Range<Int>?] = []
            var vm: CaptureVM? = nil
            while searchPos <= input.count {
                guard let slots = search(input, from: searchPos, slotCount: slotCount, vm: &vm, steps: &steps) else { break }
                out.append(contentsOf: input[lastMatchEnd..<slots[0]])
                // No replacement for an empty match immediately after another match.
                if slots[1] > lastMatchEnd || slots[0] == 0 {
                    groups.removeAll(keepingCapacity: true)
                    for g in 0..<(slotCount / 2) {
                        let lo = slots[2 * g], hi = slots[2 * g + 1]
                        groups.append(lo >= 0 && hi >= lo ? lo..<hi : nil)
                    }
                    appendExpansion(of: t, groups: groups, input: input, to: &out)
                }
                lastMatchEnd = slots[1]
                // Advance past this match; always advance at least one scalar.
                let width = searchPos < input.count ? UTF8Decoding.width(input, at: searchPos) : 0
                if searchPos + width > slots[1] {
                    searchPos += width
                } else if searchPos + 1 > slots[1] {
                    searchPos += 1  // only at the end of the input, where width is 0
                } else {
                    searchPos = slots[1]
                }
            }
            out.append(contentsOf: input[lastMatchEnd...])
        }
        return out
    }

    /// `replacingAll` over a `String`.
    public func replacingAll(in text: String, with template: String) -> String {
        String(decoding: replacingAll(in: Array(text.utf8), with: template), as: UTF8.self)
    }
}

extension RegularExpression: CustomStringConvertible {
    /// The pattern as written.
    public var description: String { pattern }
}
