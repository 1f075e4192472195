/// Why a regular expression was rejected.
struct RegexError: Error, Sendable {
    enum Kind: Sendable { case syntax, unsupported, limit }
    var kind: Kind
    var message: String
}

/// A regular expression in RE2 syntax, matched against the whole input as Prometheus does
/// (`^(?s:pattern)$`: fully anchored, `.` also matches a newline).
///
/// Model: the pattern is parsed into a small tree, compiled into a Thompson NFA program and run
/// as a breadth-first simulation (Pike VM without captures): every input scalar is looked at once
/// per live state, so matching is O(input × program) with no backtracking blow-up, whatever the
/// pattern. Swift's `Regex` backtracks (`(a*)*b` against `aaaa…` takes exponential time) and
/// accepts constructs RE2 rejects (look-around, backreferences), so it would neither bound the
/// cost of a hostile pattern nor mean the same as Prometheus; this engine rejects what RE2 rejects,
/// by name.
///
/// Supported: literals and escapes (`\n \t \x41 \x{263a} \Q…\E`), `.`, classes (`[a-z]`, `[^…]`,
/// `[[:alpha:]]`, `\d \w \s` and negations, `\pL`/`\p{Lu}` general categories), groups `( )`,
/// `(?: )`, `(?P<name> )`, `(?<name> )`, flags `(?i) (?s) (?m) (?U)` and `(?flags: )`,
/// alternation, `* + ? {n} {n,} {n,m}` (greedy or lazy: the same for a yes/no match), and the
/// assertions `^ $ \A \z \b \B`. Rejected with a message: backreferences, look-around, atomic
/// groups, possessive quantifiers, `\C`, Unicode scripts (`\p{Greek}`), repeat counts above 1000
/// and programs over `maxProgramSize` instructions.
///
/// Common shapes skip the NFA: a literal is a byte comparison, `a|b|c` a set lookup, `.*` always
/// true, `foo.*` / `.*foo` / `.*foo.*` prefix, suffix and substring tests.
///
/// Immutable after init, hence `Sendable`.
final class AnchoredRegex: Sendable {
    /// Largest compiled program accepted (RE2 rejects big programs similarly).
    static let maxProgramSize = 50_000
    /// Largest `{n,m}` count, as in RE2.
    static let maxRepeat = 1000
    /// Deepest group nesting accepted.
    static let maxNesting = 200

    let pattern: String
    /// Number of capturing groups, and the named ones.
    let groupCount: Int
    let groupNames: [String: Int]
    private let program: [Instruction]
    private let sets: [CharSet]
    private let fast: FastPath

    init(_ pattern: String) throws(RegexError) {
        self.pattern = pattern
        var parser = RegexParser(Array(pattern.unicodeScalars))
        let tree = try parser.parse()
        groupCount = parser.captureCount
        groupNames = parser.names
        fast = FastPath(tree)
        var compiler = RegexCompiler()
        try compiler.compile(tree)
        compiler.emit(.match)
        program = compiler.program
        sets = compiler.sets
    }

    /// Whether the whole of `input` (UTF-8) matches.
    func matches<C: Collection>(_ input: C) -> Bool where C.Element == UInt8 {
        switch fast {
        case .always: return true
        case .nonEmpty: return !input.isEmpty
        case .literal(let bytes): return input.elementsEqual(bytes)
        case .literalSet(let set): return input.count <= set.maxLength && set.values.contains(Array(input))
        case .prefix(let bytes): return input.starts(with: bytes)
        case .suffix(let bytes): return input.count >= bytes.count && input.dropFirst(input.count - bytes.count).elementsEqual(bytes)
        case .contains(let bytes): return Self.contains(Array(input), bytes)
        case .none: return run(input)
        }
    }

    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty else { return true }
        guard haystack.count >= needle.count else { return false }
        let first = needle[0]
        var i = 0
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first, haystack[i..<(i + needle.count)].elementsEqual(needle) { return true }
            i += 1
        }
        return false
    }

    // MARK: NFA simulation

    private func run<C: Collection>(_ input: C) -> Bool where C.Element == UInt8 {
        let size = program.count
        return withUnsafeTemporaryAllocation(of: Int32.self, capacity: size * 5) { buffer in
            let base = buffer.baseAddress!
            // Two sparse sets (dense list + index) and a stack for following ε-edges.
            var current = SparseSet(dense: base, sparse: base + size)
            var next = SparseSet(dense: base + 2 * size, sparse: base + 3 * size)
            let stack = base + 4 * size
            var decoder = UTF8Scalars(input)
            var previous: UInt32? = nil
            var scalar = decoder.next()
            addThread(&current, 0, previous: previous, next: scalar, stack: stack)
            while let c = scalar {
                if current.count == 0 { return false }
                let following = decoder.next()
                next.clear()
                for k in 0..<current.count {
                    let pc = Int(current.dense[k])
                    let inst = program[pc]
                    let advance: Bool
                    switch inst.op {
                    case .range: advance = c >= UInt32(inst.a) && c <= UInt32(inst.b)
                    case .set: advance = sets[Int(inst.a)].contains(c)
                    case .any: advance = true
                    case .anyNotNewline: advance = c != 0x0A
                    default: advance = false
                    }
                    if advance { addThread(&next, pc + 1, previous: c, next: following, stack: stack) }
                }
                swap(&current, &next)
                previous = c
                scalar = following
            }
            for k in 0..<current.count where program[Int(current.dense[k])].op == .match { return true }
            return false
        }
    }

    // MARK: Submatches (label_replace)

    private struct CaptureThread {
        var pc: Int
        var caps: [Int]
    }

    /// The byte ranges of the capturing groups (index 0 is the whole input) when the whole input
    /// matches, else nil. Leftmost-first priority (greedy before lazy) decides between matches, as in
    /// RE2 and Go. Threads carry their own capture arrays: fine for label values, not a hot path.
    func captures(_ input: [UInt8]) -> [Range<Int>?]? {
        let slotCount = 2 * (groupCount + 1)
        var visited = [Int](repeating: -1, count: program.count)
        var generation = 0
        var current: [CaptureThread] = []
        var next: [CaptureThread] = []
        func decode(_ at: Int) -> (UInt32, Int)? {
            guard at < input.count else { return nil }
            var d = UTF8Scalars(input[at...])
            let scalar = d.next()!
            return (scalar, input.distance(from: at, to: d.index))
        }
        var pos = 0
        var previous: UInt32? = nil
        var here = decode(0)
        generation += 1
        addCapturing(&current, &visited, generation, 0, [Int](repeating: -1, count: slotCount), 0, nil, here?.0)
        while let (c, length) = here {
            if current.isEmpty { return nil }
            let nextPos = pos + length
            let following = decode(nextPos)
            generation += 1
            next.removeAll(keepingCapacity: true)
            for thread in current {
                let inst = program[thread.pc]
                let advance: Bool
                switch inst.op {
                case .range: advance = c >= UInt32(inst.a) && c <= UInt32(inst.b)
                case .set: advance = sets[Int(inst.a)].contains(c)
                case .any: advance = true
                case .anyNotNewline: advance = c != 0x0A
                default: advance = false
                }
                if advance { addCapturing(&next, &visited, generation, thread.pc + 1, thread.caps, nextPos, c, following?.0) }
            }
            swap(&current, &next)
            pos = nextPos
            previous = c
            here = following
        }
        _ = previous
        for thread in current where program[thread.pc].op == .match {
            var out: [Range<Int>?] = [0..<input.count]
            for g in 1...max(1, groupCount) where g <= groupCount {
                let lo = thread.caps[2 * g]
                let hi = thread.caps[2 * g + 1]
                out.append(lo >= 0 && hi >= lo ? lo..<hi : nil)
            }
            return out
        }
        return nil
    }

    private func addCapturing(_ list: inout [CaptureThread], _ visited: inout [Int], _ generation: Int, _ pc: Int, _ caps: [Int], _ pos: Int, _ previous: UInt32?, _ next: UInt32?) {
        if visited[pc] == generation { return }
        visited[pc] = generation
        let inst = program[pc]
        switch inst.op {
        case .jump:
            addCapturing(&list, &visited, generation, Int(inst.a), caps, pos, previous, next)
        case .split:
            addCapturing(&list, &visited, generation, Int(inst.a), caps, pos, previous, next)
            addCapturing(&list, &visited, generation, Int(inst.b), caps, pos, previous, next)
        case .assert:
            if Assertion(rawValue: UInt8(inst.a))!.holds(previous: previous, next: next) {
                addCapturing(&list, &visited, generation, pc + 1, caps, pos, previous, next)
            }
        case .save:
            var updated = caps
            updated[Int(inst.a)] = pos
            addCapturing(&list, &visited, generation, pc + 1, updated, pos, previous, next)
        default:
            list.append(CaptureThread(pc: pc, caps: caps))
        }
    }

    /// Go's `Regexp.Expand`: `$1`, `${1}`, `$name`, `${name}` and `$$` in `template` replaced by
    /// the groups of `input`. A `$name` takes the longest run of letters, digits and `_` (so `$1x`
    /// names group "1x"); unknown groups expand to nothing.
    func expand(_ template: String, input: [UInt8], groups: [Range<Int>?]) -> [UInt8] {
        let t = Array(template.utf8)
        var out: [UInt8] = []
        var i = 0
        func isNameByte(_ b: UInt8) -> Bool { Lexer.isWordStart(b) || Lexer.isDigit(b) }
        while i < t.count {
            guard t[i] == UInt8(ascii: "$"), i + 1 < t.count else {
                out.append(t[i])
                i += 1
                continue
            }
            if t[i + 1] == UInt8(ascii: "$") {
                out.append(UInt8(ascii: "$"))
                i += 2
                continue
            }
            var name: ArraySlice<UInt8> = []
            var end = i + 1
            if t[i + 1] == UInt8(ascii: "{") {
                var k = i + 2
                while k < t.count, isNameByte(t[k]) { k += 1 }
                if k < t.count, t[k] == UInt8(ascii: "}"), k > i + 2 {
                    name = t[(i + 2)..<k]
                    end = k + 1
                }
            } else {
                var k = i + 1
                while k < t.count, isNameByte(t[k]) { k += 1 }
                name = t[(i + 1)..<k]
                end = k
            }
            if name.isEmpty {
                out.append(t[i])
                i += 1
                continue
            }
            var group: Int? = nil
            if name.allSatisfy(Lexer.isDigit) {
                group = name.count <= 9 ? Int(String(decoding: name, as: UTF8.self)) : nil
            } else {
                group = groupNames[String(decoding: name, as: UTF8.self)]
            }
            if let g = group, g < groups.count, let r = groups[g] { out.append(contentsOf: input[r]) }
            i = end
        }
        return out
    }

    /// Adds `pc` and everything reachable from it by ε-edges whose assertions hold here.
    private func addThread(_ set: inout SparseSet, _ start: Int, previous: UInt32?, next: UInt32?, stack: UnsafeMutablePointer<Int32>) {
        var top = 0
        stack[0] = Int32(start)
        top = 1
        while top > 0 {
            top -= 1
            let pc = Int(stack[top])
            if set.contains(pc) { continue }
            set.insert(pc)
            let inst = program[pc]
            switch inst.op {
            case .jump:
                stack[top] = inst.a
                top += 1
            case .split:
                // Push the second branch first so the first is explored first (order is irrelevant for a yes/no match).
                stack[top] = inst.b
                stack[top + 1] = inst.a
                top += 2
            case .assert:
                if Assertion(rawValue: UInt8(inst.a))!.holds(previous: previous, next: next) {
                    stack[top] = Int32(pc + 1)
                    top += 1
                }
            case .save:
                stack[top] = Int32(pc + 1)
                top += 1
            default:
                break
            }
        }
    }
}

/// A set of program counters with O(1) insert, lookup and clear (Briggs & Torczon).
private struct SparseSet {
    let dense: UnsafeMutablePointer<Int32>
    let sparse: UnsafeMutablePointer<Int32>
    var count = 0

    init(dense: UnsafeMutablePointer<Int32>, sparse: UnsafeMutablePointer<Int32>) {
        self.dense = dense
        self.sparse = sparse
    }

    func contains(_ pc: Int) -> Bool {
        let i = Int(sparse[pc])
        return i >= 0 && i < count && Int(dense[i]) == pc
    }

    mutating func insert(_ pc: Int) {
        sparse[pc] = Int32(count)
        dense[count] = Int32(pc)
        count += 1
    }

    mutating func clear() { count = 0 }
}

/// Decodes UTF-8 lazily; an invalid byte reads as U+FFFD.
private struct UTF8Scalars<C: Collection> where C.Element == UInt8 {
    let bytes: C
    var index: C.Index

    init(_ bytes: C) {
        self.bytes = bytes
        index = bytes.startIndex
    }

    mutating func next() -> UInt32? {
        guard index < bytes.endIndex else { return nil }
        let c = bytes[index]
        bytes.formIndex(after: &index)
        if c < 0x80 { return UInt32(c) }
        let extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0
        guard extra > 0 else { return 0xFFFD }
        var v = UInt32(c) & (0x3F >> UInt32(extra))
        for _ in 0..<extra {
            guard index < bytes.endIndex, bytes[index] & 0xC0 == 0x80 else { return 0xFFFD }
            v = v << 6 | UInt32(bytes[index] & 0x3F)
            bytes.formIndex(after: &index)
        }
        return v
    }
}

// MARK: - Tree

/// Zero-width assertions.
enum Assertion: UInt8, Sendable {
    case beginText, endText, beginLine, endLine, wordBoundary, notWordBoundary

    func holds(previous: UInt32?, next: UInt32?) -> Bool {
        switch self {
        case .beginText: return previous == nil
        case .endText: return next == nil
        case .beginLine: return previous == nil || previous == 0x0A
        case .endLine: return next == nil || next == 0x0A
        case .wordBoundary, .notWordBoundary:
            let boundary = Assertion.isWord(previous) != Assertion.isWord(next)
            return self == .wordBoundary ? boundary : !boundary
        }
    }

    static func isWord(_ c: UInt32?) -> Bool {
        guard let c else { return false }
        return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F
    }
}

/// A set of scalars: sorted, merged ranges plus Unicode general categories, possibly negated.
struct CharSet: Sendable {
    var ranges: [ClosedRange<UInt32>] = []
    var categories: [Unicode.GeneralCategory] = []
    var negatedCategories: [Unicode.GeneralCategory] = []
    var negated = false

    func contains(_ c: UInt32) -> Bool {
        var found = false
        // Binary search over the sorted ranges.
        var lo = 0
        var hi = ranges.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ranges[mid].upperBound < c {
                lo = mid + 1
            } else {
                hi = mid
            }
        }
        if lo < ranges.count, ranges[lo].contains(c) { found = true }
        if !found, !categories.isEmpty || !negatedCategories.isEmpty, let scalar = Unicode.Scalar(c) {
            let category = scalar.properties.generalCategory
            if categories.contains(category) { found = true }
            if !negatedCategories.isEmpty, !negatedCategories.contains(category) { found = true }
        }
        return found != negated
    }

    mutating func add(_ r: ClosedRange<UInt32>) { ranges.append(r) }

    mutating func add(_ other: CharSet) {
        if other.negated {
            // Fold a negated set in by complementing its ranges (categories cannot be complemented, so they move).
            ranges += CharSet.complement(other.normalizedRanges)
            negatedCategories += other.categories
        } else {
            ranges += other.ranges
            categories += other.categories
            negatedCategories += other.negatedCategories
        }
    }

    var normalizedRanges: [ClosedRange<UInt32>] {
        let sorted = ranges.sorted { $0.lowerBound < $1.lowerBound }
        var out: [ClosedRange<UInt32>] = []
        for r in sorted {
            if let last = out.last, r.lowerBound <= last.upperBound &+ 1 {
                out[out.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
            } else {
                out.append(r)
            }
        }
        return out
    }

    mutating func normalize() { ranges = normalizedRanges }

    static func complement(_ sorted: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var out: [ClosedRange<UInt32>] = []
        var next: UInt32 = 0
        for r in sorted {
            if r.lowerBound > next { out.append(next...(r.lowerBound - 1)) }
            next = r.upperBound &+ 1
        }
        if next <= 0x10FFFF { out.append(next...0x10FFFF) }
        return out
    }

    /// Adds the other-case forms of every scalar in the ranges (for `(?i)`); huge ranges are left alone.
    mutating func addCaseVariants() {
        var extra: [ClosedRange<UInt32>] = []
        for r in ranges where r.count <= 4096 {
            for c in r { for v in CharSet.caseVariants(c) where v != c { extra.append(v...v) } }
        }
        ranges += extra
        normalize()
    }

    static func caseVariants(_ c: UInt32) -> [UInt32] {
        if c < 0x80 {
            if c >= 0x41 && c <= 0x5A { return [c, c + 32] }
            if c >= 0x61 && c <= 0x7A { return [c, c - 32] }
            return [c]
        }
        guard let s = Unicode.Scalar(c) else { return [c] }
        var out: [UInt32] = [c]
        for mapped in [s.properties.lowercaseMapping, s.properties.uppercaseMapping, s.properties.titlecaseMapping] {
            let scalars = Array(mapped.unicodeScalars)
            if scalars.count == 1, !out.contains(scalars[0].value) { out.append(scalars[0].value) }
        }
        return out
    }
}

indirect enum RegexNode: Sendable {
    case empty
    case literal(UInt32)
    case set(CharSet)
    case any(newline: Bool)
    case concat([RegexNode])
    case alternate([RegexNode])
    case repeated(RegexNode, min: Int, max: Int, greedy: Bool)  // max < 0: unbounded
    case assertion(Assertion)
    case capture(Int, RegexNode)
}

// MARK: - Parser

private struct Flags {
    var caseInsensitive = false
    var dotNewline = true  // Prometheus wraps patterns in (?s: … )
    var multiLine = false
}

private struct RegexParser {
    let p: [Unicode.Scalar]
    var i = 0
    var depth = 0
    var captureCount = 0
    var names: [String: Int] = [:]

    init(_ p: [Unicode.Scalar]) { self.p = p }

    func fail(_ message: String, _ kind: RegexError.Kind = .syntax) -> RegexError {
        RegexError(kind: kind, message: message)
    }

    var atEnd: Bool { i >= p.count }
    func peek(_ k: Int = 0) -> Unicode.Scalar? { i + k < p.count ? p[i + k] : nil }

    mutating func parse() throws(RegexError) -> RegexNode {
        var flags = Flags()
        let node = try parseAlternation(&flags)
        if !atEnd {
            // Only an unmatched ')' stops the top level early.
            throw fail("unexpected ) — no group to close")
        }
        return node
    }

    mutating func parseAlternation(_ flags: inout Flags) throws(RegexError) -> RegexNode {
        var branches: [RegexNode] = [try parseConcat(&flags)]
        while peek() == "|" {
            i += 1
            branches.append(try parseConcat(&flags))
        }
        return branches.count == 1 ? branches[0] : .alternate(branches)
    }

    mutating func parseConcat(_ flags: inout Flags) throws(RegexError) -> RegexNode {
        var items: [RegexNode] = []
        while let c = peek(), c != "|", c != ")" {
            var atom: RegexNode
            switch c {
            case "(":
                if let inline = try parseGroupOrFlags(&flags) {
                    atom = inline
                } else {
                    continue
                }
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
                throw fail("missing argument to repetition operator: \(c)")
            case "{":
                if looksLikeRepeat() { throw fail("missing argument to repetition operator: {") }
                i += 1
                atom = literal(c.value, flags)
            case "\\":
                atom = try parseEscape(flags)
            default:
                i += 1
                atom = literal(c.value, flags)
            }
            atom = try parseRepeats(atom)
            items.append(atom)
        }
        if items.isEmpty { return .empty }
        return items.count == 1 ? items[0] : .concat(items)
    }

    func literal(_ c: UInt32, _ flags: Flags) -> RegexNode {
        guard flags.caseInsensitive else { return .literal(c) }
        let variants = CharSet.caseVariants(c)
        if variants.count == 1 { return .literal(c) }
        var set = CharSet()
        for v in variants { set.add(v...v) }
        set.normalize()
        return .set(set)
    }

    func looksLikeRepeat() -> Bool {
        var k = i + 1
        var digits = 0
        while k < p.count, p[k].properties.numericType == .decimal, p[k].isASCII { k += 1; digits += 1 }
        guard digits > 0 else { return false }
        if k < p.count, p[k] == "," {
            k += 1
            while k < p.count, p[k].isASCII, p[k].properties.numericType == .decimal { k += 1 }
        }
        return k < p.count && p[k] == "}"
    }

    mutating func parseRepeats(_ atom: RegexNode) throws(RegexError) -> RegexNode {
        var node = atom
        var repeated = false
        while let c = peek() {
            var minCount = 0
            var maxCount = -1
            let opStart = i
            switch c {
            case "*": i += 1
            case "+": i += 1; minCount = 1
            case "?": i += 1; maxCount = 1
            case "{":
                guard looksLikeRepeat() else { return node }
                i += 1
                minCount = try parseCount()
                maxCount = minCount
                if peek() == "," {
                    i += 1
                    maxCount = peek() == "}" ? -1 : try parseCount()
                }
                i += 1  // "}"
                if minCount > AnchoredRegex.maxRepeat || maxCount > AnchoredRegex.maxRepeat {
                    throw fail("bad repetition operator: counts above \(AnchoredRegex.maxRepeat) are not allowed", .limit)
                }
                if maxCount >= 0 && maxCount < minCount {
                    throw fail("bad repetition operator: \(String(String.UnicodeScalarView(p[opStart..<i])))")
                }
            default:
                return node
            }
            if repeated {
                throw fail("bad repetition operator: \(String(String.UnicodeScalarView(p[(opStart - 1)..<i]))) — RE2 does not allow a repetition of a repetition (possessive quantifiers are not supported)")
            }
            if case .assertion = node { /* RE2 allows repeating an empty-width assertion */ }
            // A lazy marker changes nothing for a yes/no match, only which submatches label_replace sees.
            var greedy = true
            if peek() == "?" {
                i += 1
                greedy = false
            }
            node = .repeated(node, min: minCount, max: maxCount, greedy: greedy)
            repeated = true
        }
        return node
    }

    mutating func parseCount() throws(RegexError) -> Int {
        var v = 0
        var any = false
        while let c = peek(), c.isASCII, c.properties.numericType == .decimal {
            v = min(v * 10 + Int(c.value - 0x30), 1_000_000)
            i += 1
            any = true
        }
        guard any else { throw fail("bad repetition count") }
        return v
    }

    /// A group, or nil for a bare flag setting such as `(?i)` that changes `flags` for the rest.
    mutating func parseGroupOrFlags(_ flags: inout Flags) throws(RegexError) -> RegexNode? {
        let start = i
        i += 1  // "("
        var inner = flags
        var captureIndex: Int? = nil
        var captureName: String? = nil
        if peek() == "?" {
            i += 1
            guard let c = peek() else { throw fail("missing closing ): \(String(String.UnicodeScalarView(p[start...])))") }
            switch c {
            case "=", "!":
                throw fail("look-ahead (?\(c)…) is not supported (RE2 syntax has no look-around)", .unsupported)
            case "<" where peek(1) == "=" || peek(1) == "!":
                throw fail("look-behind (?<\(peek(1)!)…) is not supported (RE2 syntax has no look-around)", .unsupported)
            case ">":
                throw fail("atomic groups (?>…) are not supported (RE2 syntax)", .unsupported)
            case "#":
                throw fail("comments (?#…) are not supported (RE2 syntax)", .unsupported)
            case "P", "<":
                // Named group: (?P<name>…) or (?<name>…).
                if c == "P" { i += 1 }
                guard peek() == "<" else {
                    throw fail(c == "P" && peek() == "=" ? "named backreferences (?P=name) are not supported (RE2 syntax)" : "invalid named capture", c == "P" && peek() == "=" ? .unsupported : .syntax)
                }
                i += 1
                var name = ""
                while let d = peek(), d != ">" {
                    guard d.properties.isAlphabetic || d == "_" || (d.isASCII && d.properties.numericType == .decimal) else {
                        throw fail("invalid named capture: bad character in group name")
                    }
                    name.unicodeScalars.append(d)
                    i += 1
                }
                guard peek() == ">", !name.isEmpty else { throw fail("invalid named capture") }
                guard names[name] == nil else { throw fail("duplicate capture group name \(name)") }
                i += 1
                captureCount += 1
                captureIndex = captureCount
                captureName = name
            default:
                // Flags: (?i) (?-i) (?i:…) (?is-m:…)
                var negate = false
                var sawFlag = false
                while let d = peek(), d != ")" && d != ":" {
                    switch d {
                    case "i": inner.caseInsensitive = !negate
                    case "s": inner.dotNewline = !negate
                    case "m": inner.multiLine = !negate
                    case "U": break  // ungreedy: no effect on a yes/no match
                    case "-":
                        guard !negate else { throw fail("invalid or unsupported Perl syntax: double negation in flags") }
                        negate = true
                    default:
                        throw fail("invalid or unsupported Perl syntax: (?\(d)", .unsupported)
                    }
                    sawFlag = sawFlag || d != "-"
                    i += 1
                }
                guard let end = peek(), sawFlag || (end == ":" && !negate) else { throw fail("invalid or unsupported Perl syntax: missing flags") }
                i += 1
                if end == ")" {
                    flags = inner
                    return nil
                }
            }
        } else {
            captureCount += 1
            captureIndex = captureCount
        }
        if let captureName, let captureIndex { names[captureName] = captureIndex }
        depth += 1
        if depth > AnchoredRegex.maxNesting {
            throw fail("regular expression nests too deeply (more than \(AnchoredRegex.maxNesting) groups)", .limit)
        }
        let node = try parseAlternation(&inner)
        depth -= 1
        guard peek() == ")" else { throw fail("missing closing )") }
        i += 1
        if let captureIndex { return .capture(captureIndex, node) }
        return node
    }

    mutating func parseEscape(_ flags: Flags) throws(RegexError) -> RegexNode {
        i += 1  // "\"
        guard let c = peek() else { throw fail("trailing backslash at end of expression") }
        switch c {
        case "A": i += 1; return .assertion(.beginText)
        case "z": i += 1; return .assertion(.endText)
        case "b": i += 1; return .assertion(.wordBoundary)
        case "B": i += 1; return .assertion(.notWordBoundary)
        case "Z": throw fail("\\Z is not supported (RE2 syntax: use \\z)", .unsupported)
        case "C": throw fail("\\C (any byte) is not supported", .unsupported)
        case "G": throw fail("\\G is not supported (RE2 syntax)", .unsupported)
        case "Q":
            i += 1
            var items: [RegexNode] = []
            while !atEnd {
                if peek() == "\\", peek(1) == "E" {
                    i += 2
                    break
                }
                items.append(literal(p[i].value, flags))
                i += 1
            }
            return items.isEmpty ? .empty : .concat(items)
        case "d", "D", "w", "W", "s", "S", "p", "P":
            var set = try parseClassEscape()
            if flags.caseInsensitive { set.addCaseVariants() }
            return .set(set)
        default:
            return literal(try parseLiteralEscape(), flags)
        }
    }

    /// `\d \w \s \pL \p{Lu}` and their negations, at `i` pointing at the letter.
    mutating func parseClassEscape() throws(RegexError) -> CharSet {
        let c = p[i]
        i += 1
        var set = CharSet()
        switch c {
        case "d", "D":
            set.add(0x30...0x39)
            set.negated = c == "D"
        case "w", "W":
            set.add(0x30...0x39); set.add(0x41...0x5A); set.add(0x5F...0x5F); set.add(0x61...0x7A)
            set.negated = c == "W"
        case "s", "S":
            set.add(0x09...0x0A); set.add(0x0C...0x0D); set.add(0x20...0x20)
            set.negated = c == "S"
        default:  // p, P
            var name = ""
            guard let first = peek() else { throw fail("invalid character class range: \\\(c) needs a name") }
            if first == "{" {
                i += 1
                while let d = peek(), d != "}" {
                    name.unicodeScalars.append(d)
                    i += 1
                }
                guard peek() == "}" else { throw fail("invalid character class range: missing } after \\\(c){") }
                i += 1
            } else {
                name.unicodeScalars.append(first)
                i += 1
            }
            var negated = c == "P"
            if name.hasPrefix("^") {
                negated.toggle()
                name.removeFirst()
            }
            guard let categories = CharSet.generalCategories[name] else {
                if name == "Any" {
                    set.add(0...0x10FFFF)
                    set.negated = negated
                    return set
                }
                throw fail("Unicode class \\p{\(name)} is not supported: only general categories (L, Lu, Ll, N, Nd, P, S, Z, …) are", .unsupported)
            }
            set.categories = categories
            set.negated = negated
        }
        set.normalize()
        return set
    }

    /// A single escaped scalar (`\n`, `\x41`, `\.`), at `i` pointing after the backslash.
    mutating func parseLiteralEscape() throws(RegexError) -> UInt32 {
        let c = p[i]
        i += 1
        switch c {
        case "a": return 0x07
        case "f": return 0x0C
        case "t": return 0x09
        case "n": return 0x0A
        case "r": return 0x0D
        case "v": return 0x0B
        case "0"..."7":
            if c != "0", !(peek().map { $0 >= "0" && $0 <= "7" } ?? false) {
                throw fail("backreferences such as \\\(c) are not supported (RE2 syntax)", .unsupported)
            }
            var v = c.value - 0x30
            var k = 0
            while k < 2, let d = peek(), d >= "0", d <= "7" {
                v = v * 8 + d.value - 0x30
                i += 1
                k += 1
            }
            return v
        case "8", "9":
            throw fail("backreferences such as \\\(c) are not supported (RE2 syntax)", .unsupported)
        case "x":
            var v: UInt32 = 0
            if peek() == "{" {
                i += 1
                var digits = 0
                while let d = peek(), d != "}" {
                    guard let h = CharSet.hexValue(d) else {
                        throw fail("invalid escape sequence: bad hex digit in \\x{…}")
                    }
                    v = v * 16 + h
                    digits += 1
                    guard v <= 0x10FFFF, digits <= 8 else { throw fail("invalid escape sequence: \\x{…} beyond U+10FFFF") }
                    i += 1
                }
                guard peek() == "}", digits > 0 else { throw fail("invalid escape sequence: unterminated \\x{") }
                i += 1
            } else {
                for _ in 0..<2 {
                    guard let d = peek(), let h = CharSet.hexValue(d) else { throw fail("invalid escape sequence: \\x needs two hex digits") }
                    v = v * 16 + h
                    i += 1
                }
            }
            return v
        default:
            // Any punctuation may be escaped; letters and digits may not (RE2).
            if c.isASCII, !c.properties.isAlphabetic, !(c.properties.numericType == .decimal) {
                return c.value
            }
            throw fail("invalid escape sequence: \\\(c)")
        }
    }

    mutating func parseClass(_ flags: Flags) throws(RegexError) -> CharSet {
        let start = i
        i += 1  // "["
        var set = CharSet()
        if peek() == "^" {
            set.negated = true
            i += 1
        }
        var first = true
        while true {
            guard let c = peek() else {
                throw fail("missing closing ]: \(String(String.UnicodeScalarView(p[start...].prefix(40))))")
            }
            if c == "]" && !first { i += 1; break }
            first = false
            if c == "[", peek(1) == ":" {
                // POSIX class [:alpha:] or [:^alpha:]
                var k = i + 2
                var name = ""
                while k < p.count, p[k] != ":" { name.unicodeScalars.append(p[k]); k += 1 }
                if k + 1 < p.count, p[k + 1] == "]" {
                    var negated = false
                    if name.hasPrefix("^") { negated = true; name.removeFirst() }
                    guard var posix = CharSet.posix[name] else { throw fail("invalid character class range: [:\(name):]") }
                    posix.negated = negated
                    set.add(posix)
                    i = k + 2
                    continue
                }
            }
            if c == "\\", let d = peek(1), "dDwWsSpP".unicodeScalars.contains(d) {
                i += 1
                set.add(try parseClassEscape())
                continue
            }
            let lo = try classScalar()
            if peek() == "-", let after = peek(1), after != "]" {
                i += 1
                let hi = try classScalar()
                guard lo <= hi else { throw fail("invalid character class range: bounds out of order") }
                set.add(lo...hi)
            } else {
                set.add(lo...lo)
            }
        }
        if flags.caseInsensitive { set.addCaseVariants() }
        set.normalize()
        return set
    }

    mutating func classScalar() throws(RegexError) -> UInt32 {
        let c = p[i]
        if c == "\\" {
            i += 1
            guard !atEnd else { throw fail("trailing backslash at end of expression") }
            return try parseLiteralEscape()
        }
        i += 1
        return c.value
    }
}

extension CharSet {
    static func hexValue(_ c: Unicode.Scalar) -> UInt32? {
        switch c {
        case "0"..."9": c.value - 0x30
        case "a"..."f": c.value - 0x61 + 10
        case "A"..."F": c.value - 0x41 + 10
        default: nil
        }
    }

    static let posix: [String: CharSet] = {
        func make(_ ranges: [ClosedRange<UInt32>]) -> CharSet {
            var s = CharSet()
            for r in ranges { s.add(r) }
            s.normalize()
            return s
        }
        return [
            "alnum": make([0x30...0x39, 0x41...0x5A, 0x61...0x7A]),
            "alpha": make([0x41...0x5A, 0x61...0x7A]),
            "ascii": make([0x00...0x7F]),
            "blank": make([0x09...0x09, 0x20...0x20]),
            "cntrl": make([0x00...0x1F, 0x7F...0x7F]),
            "digit": make([0x30...0x39]),
            "graph": make([0x21...0x7E]),
            "lower": make([0x61...0x7A]),
            "print": make([0x20...0x7E]),
            "punct": make([0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E]),
            "space": make([0x09...0x0D, 0x20...0x20]),
            "upper": make([0x41...0x5A]),
            "word": make([0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A]),
            "xdigit": make([0x30...0x39, 0x41...0x46, 0x61...0x66]),
        ]
    }()

    static let generalCategories: [String: [Unicode.GeneralCategory]] = {
        let letters: [(String, Unicode.GeneralCategory)] = [
            ("Lu", .uppercaseLetter), ("Ll", .lowercaseLetter), ("Lt", .titlecaseLetter), ("Lm", .modifierLetter), ("Lo", .otherLetter),
            ("Mn", .nonspacingMark), ("Mc", .spacingMark), ("Me", .enclosingMark),
            ("Nd", .decimalNumber), ("Nl", .letterNumber), ("No", .otherNumber),
            ("Pc", .connectorPunctuation), ("Pd", .dashPunctuation), ("Ps", .openPunctuation), ("Pe", .closePunctuation),
            ("Pi", .initialPunctuation), ("Pf", .finalPunctuation), ("Po", .otherPunctuation),
            ("Sm", .mathSymbol), ("Sc", .currencySymbol), ("Sk", .modifierSymbol), ("So", .otherSymbol),
            ("Zs", .spaceSeparator), ("Zl", .lineSeparator), ("Zp", .paragraphSeparator),
            ("Cc", .control), ("Cf", .format), ("Cs", .surrogate), ("Co", .privateUse), ("Cn", .unassigned),
        ]
        var out: [String: [Unicode.GeneralCategory]] = [:]
        for (name, category) in letters {
            out[name] = [category]
            out[String(name.prefix(1)), default: []].append(category)
        }
        return out
    }()
}

// MARK: - Compiler

private struct Instruction: Sendable {
    enum Op: UInt8, Sendable { case range, set, any, anyNotNewline, split, jump, assert, save, match }
    var op: Op
    var a: Int32 = 0
    var b: Int32 = 0
}

private struct RegexCompiler {
    var program: [Instruction] = []
    var sets: [CharSet] = []

    mutating func emit(_ op: Instruction.Op, _ a: Int32 = 0, _ b: Int32 = 0) {
        program.append(Instruction(op: op, a: a, b: b))
    }

    var pc: Int32 { Int32(program.count) }

    mutating func compile(_ node: RegexNode) throws(RegexError) {
        if program.count > AnchoredRegex.maxProgramSize {
            throw RegexError(kind: .limit, message: "regular expression too large (more than \(AnchoredRegex.maxProgramSize) instructions after expanding repetitions)")
        }
        switch node {
        case .empty:
            break
        case .literal(let c):
            emit(.range, Int32(bitPattern: c), Int32(bitPattern: c))
        case .set(let s):
            if !s.negated, s.categories.isEmpty, s.negatedCategories.isEmpty, s.ranges.count == 1 {
                emit(.range, Int32(bitPattern: s.ranges[0].lowerBound), Int32(bitPattern: s.ranges[0].upperBound))
            } else {
                sets.append(s)
                emit(.set, Int32(sets.count - 1))
            }
        case .any(let newline):
            emit(newline ? .any : .anyNotNewline)
        case .assertion(let a):
            emit(.assert, Int32(a.rawValue))
        case .capture(let index, let body):
            emit(.save, Int32(2 * index))
            try compile(body)
            emit(.save, Int32(2 * index + 1))
        case .concat(let items):
            for item in items { try compile(item) }
        case .alternate(let branches):
            var jumps: [Int] = []
            for (k, branch) in branches.enumerated() {
                if k < branches.count - 1 {
                    let split = Int(pc)
                    emit(.split, pc + 1, 0)
                    try compile(branch)
                    jumps.append(Int(pc))
                    emit(.jump)
                    program[split].b = pc
                } else {
                    try compile(branch)
                }
            }
            for j in jumps { program[j].a = pc }
        case .repeated(let body, let minCount, let maxCount, let greedy):
            // A split's first branch has priority; a lazy repetition prefers leaving the loop.
            func setSplit(_ at: Int, body: Int32, exit: Int32) {
                program[at].a = greedy ? body : exit
                program[at].b = greedy ? exit : body
            }
            for _ in 0..<minCount { try compile(body) }
            if maxCount < 0 {
                // L: split body, end; body; jump L
                let loop = Int(pc)
                emit(.split)
                try compile(body)
                emit(.jump, Int32(loop))
                setSplit(loop, body: Int32(loop + 1), exit: pc)
            } else if maxCount > minCount {
                var splits: [Int] = []
                for _ in 0..<(maxCount - minCount) {
                    splits.append(Int(pc))
                    emit(.split)
                    try compile(body)
                }
                for s in splits { setSplit(s, body: Int32(s + 1), exit: pc) }
            }
        }
    }
}

// MARK: - Fast paths

private enum FastPath: Sendable {
    case none, always, nonEmpty
    case literal([UInt8])
    case literalSet(LiteralSet)
    case prefix([UInt8]), suffix([UInt8]), contains([UInt8])

    struct LiteralSet: Sendable {
        var values: Set<[UInt8]>
        var maxLength: Int
    }

    init(_ node: RegexNode) {
        if let bytes = FastPath.literalBytes(node) {
            self = .literal(bytes)
            return
        }
        if case .alternate(let branches) = node {
            var values = Set<[UInt8]>()
            for b in branches {
                guard let bytes = FastPath.literalBytes(b) else {
                    self = .none
                    return
                }
                values.insert(bytes)
            }
            self = .literalSet(LiteralSet(values: values, maxLength: values.map(\.count).max() ?? 0))
            return
        }
        if case .capture(_, let inner) = node {
            self = FastPath(inner)
            return
        }
        if FastPath.isDotStar(node, min: 0) {
            self = .always
            return
        }
        if FastPath.isDotStar(node, min: 1) {
            self = .nonEmpty
            return
        }
        if case .concat(let items) = node, items.count >= 2 {
            let first = items[0]
            let last = items[items.count - 1]
            if FastPath.isDotStar(last, min: 0), let bytes = FastPath.literalBytes(.concat(Array(items.dropLast()))) {
                self = .prefix(bytes)
                return
            }
            if FastPath.isDotStar(first, min: 0) {
                if let bytes = FastPath.literalBytes(.concat(Array(items.dropFirst()))) {
                    self = .suffix(bytes)
                    return
                }
                if items.count >= 3, FastPath.isDotStar(last, min: 0), let bytes = FastPath.literalBytes(.concat(Array(items.dropFirst().dropLast()))) {
                    self = .contains(bytes)
                    return
                }
            }
        }
        self = .none
    }

    static func isDotStar(_ node: RegexNode, min: Int) -> Bool {
        if case .capture(_, let inner) = node { return isDotStar(inner, min: min) }
        if case .repeated(let body, let lo, let hi, _) = node, lo == min, hi < 0, case .any(newline: true) = body { return true }
        return false
    }

    static func literalBytes(_ node: RegexNode) -> [UInt8]? {
        switch node {
        case .empty: return []
        case .capture(_, let inner): return literalBytes(inner)
        case .literal(let c):
            guard let s = Unicode.Scalar(c) else { return nil }
            return Array(String(Character(s)).utf8)
        case .concat(let items):
            var out: [UInt8] = []
            for item in items {
                guard let b = literalBytes(item) else { return nil }
                out += b
            }
            return out
        default: return nil
        }
    }
}
