#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The JSON type of a field's value in the line last extracted.
public enum JSONFieldKind: UInt8, Sendable {
    case absent, null, `true`, `false`, number, string, object, array
}

/// What `JSONFieldExtractor.extract(_:)` made of a line.
public enum JSONExtractOutcome: Equatable, Sendable {
    /// A well-formed object; the configured fields that occur in it can be read.
    case ok
    /// Nothing but whitespace: not counted as malformed.
    case empty
    /// Not a well-formed JSON object; no field may be read.
    case malformed(MalformedLineReason)
}

/// Finds configured top-level and dotted nested fields (`route`, `http.status`) in one JSON line,
/// in one pass over its bytes, without building a tree.
///
/// Model: the field paths are compiled into a trie of key segments. `extract(_:)` walks the line
/// once as a validating JSON scanner: a key that matches an edge of the current trie node either
/// records where its value lies (a leaf: start, end, kind, whether a string holds escapes) or,
/// when its value is an object, descends into it with the child node; every other value is
/// validated and skipped. Nothing is decoded during the walk: strings are decoded (escapes, `\u`
/// sequences, UTF-8 validation) and numbers parsed only when the mapping asks for that field
/// (`JSONFieldExtractor+Values.swift`). A path `a.b` also matches a top-level key spelled `"a.b"`.
/// Duplicate keys: the last one wins. Any field order, whitespace and unknown fields are fine; the
/// whole line must be one well-formed object (RFC 8259) or it is reported malformed with a reason,
/// so a line cut by a crashed writer is never half-counted.
///
/// Cost: no allocation per line. The trie, the field slots and the decode scratch buffer live in
/// raw memory owned by the instance (the scratch buffer grows only when a longer line arrives).
/// Strings are scanned 8 bytes at a time. A log's lines usually repeat one shape (the same keys in
/// the same order), so for each trie node and key position the key seen last is remembered
/// (`JSONFieldKeyMemo`): a key equal to it, closing quote included, is recognised by comparing two
/// words, without scanning it or looking it up. Any other key takes the full path (and becomes the
/// remembered one), so field order and unknown fields stay free.
///
/// Ownership: not thread-safe; one owner (the tailer's serial queue, or a test) uses an instance.
/// Field values are views into the line and are valid until the next `extract(_:)` call, while the
/// line's memory is alive.
public final class JSONFieldExtractor {
    /// The configured field paths; a field's index is its position here.
    public let paths: [String]
    /// Objects and arrays nested deeper than this are reported as `tooDeep`.
    public let maxDepth: Int

    let trie: JSONFieldTrie
    let slots: UnsafeMutablePointer<JSONFieldSlot>
    /// Line base pointer, length and the decode scratch buffer: kept in raw memory so the hot path
    /// pays no exclusivity checks for class properties.
    let line: UnsafeMutablePointer<JSONFieldLineState>
    /// Per trie node, `JSONFieldKeyMemo.positions` remembered keys (see above).
    let memo: UnsafeMutablePointer<JSONFieldKeyMemo>

    /// Compiles `paths` (dotted for nested fields); duplicates share one index.
    /// - Throws: `JSONFieldPathError` for an empty path or an empty segment (`a..b`, `.a`).
    public init(paths: [String], maxDepth: Int = 64) throws(JSONFieldPathError) {
        var unique: [String] = []
        for path in paths where !unique.contains(path) { unique.append(path) }
        self.paths = unique
        self.maxDepth = max(1, maxDepth)
        trie = try JSONFieldTrie(paths: unique)
        slots = .allocate(capacity: max(1, unique.count))
        slots.initialize(repeating: JSONFieldSlot(), count: max(1, unique.count))
        line = .allocate(capacity: 1)
        line.initialize(to: JSONFieldLineState())
        let memoCount = trie.nodeCount * JSONFieldKeyMemo.positions
        memo = .allocate(capacity: memoCount)
        memo.initialize(repeating: JSONFieldKeyMemo(), count: memoCount)
    }

    deinit {
        trie.deallocate()
        slots.deallocate()
        line.pointee.scratch?.deallocate()
        line.deallocate()
        memo.deallocate()
    }

    /// The index of `path`, or nil when it was not configured.
    public func fieldIndex(of path: String) -> Int? {
        paths.firstIndex(of: path)
    }

    /// Scans `bytes` (one line, without its newline) and records where each configured field lies.
    /// - Complexity: O(n) in the line length, one pass.
    public func extract(_ bytes: UnsafeRawBufferPointer) -> JSONExtractOutcome {
        let fieldCount = paths.count
        for i in 0..<fieldCount { slots[i] = JSONFieldSlot() }
        guard let raw = bytes.baseAddress, bytes.count > 0 else { return .empty }
        let base = raw.assumingMemoryBound(to: UInt8.self)
        let end = base + bytes.count
        line.pointee.base = base
        line.pointee.count = bytes.count
        if bytes.count > line.pointee.scratchCapacity { growScratch(to: bytes.count) }

        let scanner = JSONFieldScanner(
            end: end, trie: trie, slots: slots, maxDepth: maxDepth, scratch: line.pointee.scratch!, base: base, memo: memo)
        var p = base
        // A UTF-8 byte order mark at the start of a file's first line is not data.
        if bytes.count >= 3, base[0] == 0xEF, base[1] == 0xBB, base[2] == 0xBF { p += 3 }
        scanner.skipWhitespace(&p)
        guard p < end else { return .empty }
        guard p.pointee == UInt8(ascii: "{") else {
            return .malformed(JSONFieldExtractor.startsLikeJSON(p, end: end) ? .notObject : .notJSON)
        }
        do {
            p = try scanner.object(p, node: 0, depth: 1)
        } catch {
            for i in 0..<fieldCount { slots[i] = JSONFieldSlot() }
            return .malformed(error)
        }
        scanner.skipWhitespace(&p)
        guard p == end else {
            for i in 0..<fieldCount { slots[i] = JSONFieldSlot() }
            return .malformed(.syntax)
        }
        return .ok
    }

    /// Whether a line that is not an object at least starts like another JSON value (`[`, a
    /// string, a number, `true`, `false`, `null`), to tell `notObject` from `notJSON`.
    static func startsLikeJSON(_ p: UnsafePointer<UInt8>, end: UnsafePointer<UInt8>) -> Bool {
        func word(_ w: StaticString) -> Bool {
            let n = w.utf8CodeUnitCount
            guard end - p >= n, memcmp(p, w.utf8Start, n) == 0 else { return false }
            guard end - p > n else { return true }
            let next = p[n]
            return !(next | 0x20 >= UInt8(ascii: "a") && next | 0x20 <= UInt8(ascii: "z")) && !(next &- UInt8(ascii: "0") < 10)
        }
        switch p.pointee {
        case UInt8(ascii: "["), UInt8(ascii: "\""), UInt8(ascii: "0")...UInt8(ascii: "9"): return true
        case UInt8(ascii: "-"): return end - p > 1 && p[1] &- UInt8(ascii: "0") < 10
        case UInt8(ascii: "t"): return word("true")
        case UInt8(ascii: "f"): return word("false")
        case UInt8(ascii: "n"): return word("null")
        default: return false
        }
    }

    private func growScratch(to count: Int) {
        line.pointee.scratch?.deallocate()
        // Round up so a slowly growing line length does not reallocate on every line.
        var capacity = 4096
        while capacity < count { capacity &<<= 1 }
        line.pointee.scratch = .allocate(capacity: capacity)
        line.pointee.scratchCapacity = capacity
    }
}

/// A field path that cannot be compiled.
public struct JSONFieldPathError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The path as configured.
    public var path: String
    public var description: String {
        "field path \"\(path)\" is invalid: expected names separated by single dots, as in \"http.status\""
    }
}

/// Where one configured field's value lies in the current line.
struct JSONFieldSlot {
    /// Offsets into the line; for strings the bytes between the quotes.
    var start: Int = 0
    var end: Int = 0
    var kind: JSONFieldKind = .absent
    /// A string value containing backslash escapes must be decoded before use.
    var escaped: Bool = false
}

/// The current line and the scratch buffer that escaped strings are decoded into.
struct JSONFieldLineState {
    var base: UnsafePointer<UInt8>? = nil
    var count: Int = 0
    /// At least as long as the line: a decoded string is never longer than its escaped form, so
    /// each field decodes into the scratch bytes at its own offset and fields never overlap.
    var scratch: UnsafeMutablePointer<UInt8>? = nil
    var scratchCapacity: Int = 0
}

/// The key last seen at one position of an object (per trie node): its bytes and closing quote as
/// two masked words, its length and its trie edge (-1 for a key no path names).
struct JSONFieldKeyMemo {
    /// Key positions remembered per object; later keys always take the full path.
    static let positions = 32
    /// Keys this long or longer (plus the quote, more than 16 bytes) are not remembered.
    static let maxLength = 15
    /// Empty: a word with a bit outside its mask, which no bytes can equal once masked.
    var word0: UInt64 = 0x100
    var word1: UInt64 = 0
    var mask0: UInt64 = 0xFF
    var mask1: UInt64 = 0
    var length: Int32 = 0
    var edge: Int32 = -1

    /// The key of `length` (at most `maxLength`) bytes at `key`, followed by its closing quote;
    /// 16 bytes from `key` must be readable.
    @inline(__always)
    init(key: UnsafePointer<UInt8>, length: Int, edge: Int) {
        let quoted = length + 1
        mask0 = quoted >= 8 ? .max : (1 &<< UInt64(quoted &* 8)) &- 1
        mask1 = quoted <= 8 ? 0 : (quoted >= 16 ? .max : (1 &<< UInt64((quoted &- 8) &* 8)) &- 1)
        word0 = UnsafeRawPointer(key).loadUnaligned(as: UInt64.self) & mask0
        word1 = UnsafeRawPointer(key).loadUnaligned(fromByteOffset: 8, as: UInt64.self) & mask1
        self.length = Int32(length)
        self.edge = Int32(edge)
    }

    init() {}
}

/// The compiled field paths: nodes with contiguous edge ranges, edges keyed by one segment.
struct JSONFieldTrie {
    struct Node {
        var firstEdge: Int32
        var edgeCount: Int32
    }
    /// Keys up to this length are found through `heads`; longer ones by scanning the node's edges.
    static let indexedLength = 32
    struct Edge {
        var keyStart: Int32
        var keyLength: Int32
        var firstByte: UInt8
        /// The field recorded when this key matches, or -1.
        var field: Int32
        /// The node to descend into when this key's value is an object, or -1.
        var child: Int32
        /// The next edge of the same node with a key of the same length, or -1.
        var nextSameLength: Int32 = -1
    }

    let nodes: UnsafeMutablePointer<Node>
    let edges: UnsafeMutablePointer<Edge>
    let keys: UnsafeMutablePointer<UInt8>
    /// Per node, `indexedLength + 1` entries: the first edge whose key has that length, or -1.
    let heads: UnsafeMutablePointer<Int32>
    let nodeCount: Int

    init(paths: [String]) throws(JSONFieldPathError) {
        // Build with arrays (once, at configuration time), then flatten into raw memory.
        struct BuildEdge {
            var key: [UInt8]
            var field: Int32 = -1
            var child: Int32 = -1
        }
        var built: [[BuildEdge]] = [[]]
        func insert(_ segments: [[UInt8]], field: Int32) {
            var node = 0
            for (i, segment) in segments.enumerated() {
                let last = i == segments.count - 1
                var index = built[node].firstIndex { $0.key == segment }
                if index == nil {
                    built[node].append(BuildEdge(key: segment))
                    index = built[node].count - 1
                }
                if last {
                    built[node][index!].field = field
                } else {
                    if built[node][index!].child < 0 {
                        built.append([])
                        built[node][index!].child = Int32(built.count - 1)
                    }
                    node = Int(built[node][index!].child)
                }
            }
        }
        for (field, path) in paths.enumerated() {
            let segments = path.split(separator: ".", omittingEmptySubsequences: false).map { Array($0.utf8) }
            guard !path.isEmpty, !segments.contains(where: \.isEmpty) else { throw JSONFieldPathError(path: path) }
            insert(segments, field: Int32(field))
            if segments.count > 1 { insert([Array(path.utf8)], field: Int32(field)) }
        }
        let edgeTotal = built.reduce(0) { $0 + $1.count }
        let keyTotal = built.reduce(0) { $0 + $1.reduce(0) { $0 + $1.key.count } }
        nodeCount = built.count
        nodes = .allocate(capacity: built.count)
        edges = .allocate(capacity: max(1, edgeTotal))
        // Eight spare bytes: key comparisons may load a word at a key's end.
        keys = .allocate(capacity: keyTotal + 8)
        keys.initialize(repeating: 0, count: keyTotal + 8)
        let width = JSONFieldTrie.indexedLength + 1
        heads = .allocate(capacity: built.count * width)
        heads.initialize(repeating: -1, count: built.count * width)
        var edgeIndex = 0
        var keyIndex = 0
        for (n, nodeEdges) in built.enumerated() {
            (nodes + n).initialize(to: Node(firstEdge: Int32(edgeIndex), edgeCount: Int32(nodeEdges.count)))
            for edge in nodeEdges {
                (keys + keyIndex).initialize(from: edge.key, count: edge.key.count)
                var e = Edge(
                    keyStart: Int32(keyIndex), keyLength: Int32(edge.key.count), firstByte: edge.key[0],
                    field: edge.field, child: edge.child)
                if edge.key.count <= JSONFieldTrie.indexedLength {
                    let head = heads + n * width + edge.key.count
                    e.nextSameLength = head.pointee
                    head.pointee = Int32(edgeIndex)
                }
                (edges + edgeIndex).initialize(to: e)
                keyIndex += edge.key.count
                edgeIndex += 1
            }
        }
    }

    func deallocate() {
        heads.deallocate()
        nodes.deallocate()
        edges.deallocate()
        keys.deallocate()
    }
}

/// The validating single-pass scanner behind `JSONFieldExtractor.extract(_:)`.
///
/// Written in a functional style — each function takes the position and returns the new one —
/// so the position lives in a register instead of being stored to memory at every byte.
struct JSONFieldScanner {
    typealias Position = UnsafePointer<UInt8>
    let end: Position
    let trie: JSONFieldTrie
    let slots: UnsafeMutablePointer<JSONFieldSlot>
    let maxDepth: Int
    let scratch: UnsafeMutablePointer<UInt8>
    let base: Position
    let memo: UnsafeMutablePointer<JSONFieldKeyMemo>

    @inline(__always)
    func skipWhitespace(_ p: inout Position) {
        while p < end {
            let c = p.pointee
            // JSONL rarely has whitespace: one comparison rejects every other byte.
            guard c <= 0x20, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D else { return }
            p += 1
        }
    }

    /// Skips whitespace, then requires a byte: truncated when the line ends first.
    @inline(__always)
    func nextByte(_ p: inout Position) throws(MalformedLineReason) -> UInt8 {
        if p < end, p.pointee > 0x20 { return p.pointee }
        skipWhitespace(&p)
        guard p < end else { throw .truncated }
        return p.pointee
    }

    /// An object starting at `p` (on its `{`); `node` is the trie node its keys are matched
    /// against, or -1 inside an object no configured path reaches. Returns the position after it.
    func object(_ start: Position, node: Int32, depth: Int) throws(MalformedLineReason) -> Position {
        var p = start + 1
        if try nextByte(&p) == UInt8(ascii: "}") { return p + 1 }
        var position = 0
        while true {
            guard p.pointee == UInt8(ascii: "\"") else { throw .syntax }
            let keyStart = p + 1
            // The key remembered at this position, if this is it (its closing quote included).
            var edge = -1
            var remembered = false
            var memoEntry: UnsafeMutablePointer<JSONFieldKeyMemo>? = nil
            if node >= 0, position < JSONFieldKeyMemo.positions, end - keyStart >= 16 {
                let m = memo + (Int(node) &* JSONFieldKeyMemo.positions &+ position)
                memoEntry = m
                let raw = UnsafeRawPointer(keyStart)
                if raw.loadUnaligned(as: UInt64.self) & m.pointee.mask0 == m.pointee.word0,
                    raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self) & m.pointee.mask1 == m.pointee.word1
                {
                    remembered = true
                    edge = Int(m.pointee.edge)
                    p = keyStart + Int(m.pointee.length) + 1
                }
            }
            position &+= 1
            var keyEscaped = false
            if !remembered {
                let (afterKey, escaped) = try string(p)
                p = afterKey
                keyEscaped = escaped
            }
            let keyLength = p - 1 - keyStart
            guard try nextByte(&p) == UInt8(ascii: ":") else { throw .syntax }
            p += 1
            let first = try nextByte(&p)

            // The key's edge, by the length index (written out here: the compiler would not inline it).
            if node >= 0, !remembered {
                if !keyEscaped, keyLength > 0, keyLength <= JSONFieldTrie.indexedLength {
                    var i = Int(trie.heads[Int(node) * (JSONFieldTrie.indexedLength + 1) + keyLength])
                    while i >= 0 {
                        let e = trie.edges[i]
                        if e.firstByte == keyStart.pointee, bytesEqual(trie.keys + Int(e.keyStart), keyStart, count: keyLength) {
                            edge = i
                            break
                        }
                        i = Int(e.nextSameLength)
                    }
                } else {
                    edge = match(node: node, key: keyStart, length: keyLength, escaped: keyEscaped)
                }
                if let m = memoEntry, !keyEscaped, keyLength <= JSONFieldKeyMemo.maxLength {
                    m.pointee = JSONFieldKeyMemo(key: keyStart, length: keyLength, edge: edge)
                }
            }
            if edge >= 0 {
                let e = trie.edges[edge]
                let valueStart = p
                if e.child >= 0, first == UInt8(ascii: "{") {
                    guard depth < maxDepth else { throw .tooDeep }
                    p = try object(p, node: e.child, depth: depth + 1)
                    if e.field >= 0 {
                        slots[Int(e.field)] = JSONFieldSlot(start: valueStart - base, end: p - base, kind: .object)
                    }
                } else if first == UInt8(ascii: "\""), e.field >= 0 {
                    let (after, escaped) = try string(p)
                    p = after
                    slots[Int(e.field)] = JSONFieldSlot(start: valueStart + 1 - base, end: p - 1 - base, kind: .string, escaped: escaped)
                } else if isDigit(first) || first == UInt8(ascii: "-"), e.field >= 0 {
                    p = try number(p)
                    slots[Int(e.field)] = JSONFieldSlot(start: valueStart - base, end: p - base, kind: .number)
                } else {
                    let (after, kind, escaped) = try value(p, first: first, depth: depth)
                    p = after
                    if e.field >= 0 {
                        slots[Int(e.field)] = kind == .string
                            ? JSONFieldSlot(start: valueStart + 1 - base, end: p - 1 - base, kind: kind, escaped: escaped)
                            : JSONFieldSlot(start: valueStart - base, end: p - base, kind: kind)
                    }
                }
            } else if first == UInt8(ascii: "\"") {
                p = try string(p).0  // the common cases without the call to value()
            } else if isDigit(first) || first == UInt8(ascii: "-") {
                p = try number(p)
            } else {
                p = try value(p, first: first, depth: depth).0
            }

            let c = try nextByte(&p)
            if c == UInt8(ascii: ",") {
                p += 1
                _ = try nextByte(&p)
                continue
            }
            if c == UInt8(ascii: "}") { return p + 1 }
            throw .syntax
        }
    }

    /// The edge of `node` whose key equals the key bytes, or -1.
    @inline(__always)
    func match(node: Int32, key: UnsafePointer<UInt8>, length: Int, escaped: Bool) -> Int {
        var key = key
        var length = length
        if escaped {
            // Rare: a key spelled with escapes (`"r\u006fute"`) is compared in its decoded form,
            // decoded into the scratch bytes at its own offset.
            let out = scratch + (key - base)
            length = JSONFieldStringDecoder.decode(key, count: length, into: out)
            key = UnsafePointer(out)
        }
        guard length > 0 else { return -1 }
        if length <= JSONFieldTrie.indexedLength {
            var i = Int(trie.heads[Int(node) * (JSONFieldTrie.indexedLength + 1) + length])
            while i >= 0 {
                let e = trie.edges[i]
                if e.firstByte == key.pointee, bytesEqual(trie.keys + Int(e.keyStart), key, count: length) { return i }
                i = Int(e.nextSameLength)
            }
            return -1
        }
        let n = trie.nodes[Int(node)]
        var i = Int(n.firstEdge)
        let last = i + Int(n.edgeCount)
        while i < last {
            let e = trie.edges[i]
            if Int(e.keyLength) == length, e.firstByte == key.pointee, bytesEqual(trie.keys + Int(e.keyStart), key, count: length) {
                return i
            }
            i += 1
        }
        return -1
    }

    /// Any value starting at `p`, whose first byte is `first`. Returns the position after it, its
    /// kind and, for a string, whether it holds escapes.
    @inline(__always)
    func value(_ p: Position, first: UInt8, depth: Int) throws(MalformedLineReason) -> (Position, JSONFieldKind, Bool) {
        switch first {
        case UInt8(ascii: "\""):
            let (after, escaped) = try string(p)
            return (after, .string, escaped)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return (try number(p), .number, false)
        case UInt8(ascii: "{"):
            guard depth < maxDepth else { throw .tooDeep }
            return (try object(p, node: -1, depth: depth + 1), .object, false)
        case UInt8(ascii: "["):
            guard depth < maxDepth else { throw .tooDeep }
            return (try array(p, depth: depth + 1), .array, false)
        case UInt8(ascii: "t"):
            return (try literal(p, "true"), .true, false)
        case UInt8(ascii: "f"):
            return (try literal(p, "false"), .false, false)
        case UInt8(ascii: "n"):
            return (try literal(p, "null"), .null, false)
        default:
            throw .syntax
        }
    }

    func array(_ start: Position, depth: Int) throws(MalformedLineReason) -> Position {
        var p = start + 1
        var c = try nextByte(&p)
        if c == UInt8(ascii: "]") { return p + 1 }
        while true {
            p = try value(p, first: c, depth: depth).0
            let next = try nextByte(&p)
            if next == UInt8(ascii: ",") {
                p += 1
                c = try nextByte(&p)
                continue
            }
            if next == UInt8(ascii: "]") { return p + 1 }
            throw .syntax
        }
    }

    func literal(_ start: Position, _ word: StaticString) throws(MalformedLineReason) -> Position {
        var p = start
        let w = word.utf8Start
        for i in 0..<word.utf8CodeUnitCount {
            guard p < end else { throw .truncated }
            guard p.pointee == w[i] else { throw .syntax }
            p += 1
        }
        return p
    }

    /// A number per RFC 8259's grammar: `-? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?`.
    @inline(__always)
    func number(_ start: Position) throws(MalformedLineReason) -> Position {
        var p = start
        if p.pointee == UInt8(ascii: "-") {
            p += 1
            guard p < end else { throw .truncated }
        }
        if p.pointee == UInt8(ascii: "0") {
            p += 1
        } else {
            guard isDigit(p.pointee) else { throw .syntax }
            p += 1
            while p < end, isDigit(p.pointee) { p += 1 }
        }
        if p < end, p.pointee == UInt8(ascii: ".") {
            p += 1
            guard p < end else { throw .truncated }
            guard isDigit(p.pointee) else { throw .syntax }
            while p < end, isDigit(p.pointee) { p += 1 }
        }
        if p < end, p.pointee | 0x20 == UInt8(ascii: "e") {
            p += 1
            guard p < end else { throw .truncated }
            if p.pointee == UInt8(ascii: "+") || p.pointee == UInt8(ascii: "-") {
                p += 1
                guard p < end else { throw .truncated }
            }
            guard isDigit(p.pointee) else { throw .syntax }
            while p < end, isDigit(p.pointee) { p += 1 }
        }
        return p
    }

    @inline(__always)
    func isDigit(_ c: UInt8) -> Bool { c &- UInt8(ascii: "0") < 10 }

    /// A string starting at `start` (on its opening quote). Returns the position after the closing
    /// quote and whether it holds escapes; rejects raw control characters and invalid escapes.
    @inline(__always)
    func string(_ start: Position) throws(MalformedLineReason) -> (Position, Bool) {
        var p = start + 1
        var escaped = false
        while true {
            // Eight bytes at a time while none is a quote, a backslash or a control character.
            while end - p >= 8 {
                let x = UnsafeRawPointer(p).loadUnaligned(as: UInt64.self)
                let ones: UInt64 = 0x0101_0101_0101_0101
                let high: UInt64 = 0x8080_8080_8080_8080
                let quote = x ^ 0x2222_2222_2222_2222
                let slash = x ^ 0x5C5C_5C5C_5C5C_5C5C
                let special = (((quote &- ones) & ~quote) | ((slash &- ones) & ~slash) | ((x &- 0x2020_2020_2020_2020) & ~x)) & high
                if special != 0 {
                    // The lowest flagged byte is always a real match (borrows only flag bytes above
                    // one): jump straight to it.
                    p += special.trailingZeroBitCount >> 3
                    break
                }
                p += 8
            }
            guard p < end else { throw .truncated }
            let c = p.pointee
            if c == UInt8(ascii: "\"") { return (p + 1, escaped) }
            if c == UInt8(ascii: "\\") {
                escaped = true
                p += 1
                guard p < end else { throw .truncated }
                switch p.pointee {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                    UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    p += 1
                case UInt8(ascii: "u"):
                    p += 1
                    for _ in 0..<4 {
                        guard p < end else { throw .truncated }
                        guard JSONFieldStringDecoder.hexValue(p.pointee) >= 0 else { throw .syntax }
                        p += 1
                    }
                default:
                    throw .syntax
                }
                continue
            }
            if c < 0x20 { throw .syntax }
            p += 1
        }
    }
}
