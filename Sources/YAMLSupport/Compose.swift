import CYAML

/// Bounds on what `compose(yaml:)` accepts, so that hostile input is refused with a clear error
/// before it costs much time or memory. Configuration and rule files are kilobytes and a few
/// thousand nodes; the defaults leave them a thousandfold room.
public struct YAMLLimits: Sendable {
    /// The largest document in bytes (16 MiB).
    public var maxBytes = 16 << 20
    /// The most nodes the document may hold once every alias is counted as the nodes it repeats
    /// (1 000 000): this bounds the tree's memory (≈ 100 bytes a node) and the work of any walk
    /// over it, so an alias bomb ("billion laughs") stops here.
    public var maxNodes = 1_000_000
    /// The deepest nesting of collections (1000, as the libyaml Yams vendored allowed).
    public var maxDepth = 1000

    public init() {}

    public static let `default` = YAMLLimits()
}

/// The one YAML document in `yaml` as a node tree; nil when the text holds no document (empty, or
/// only comments). Aliases are resolved; a second document, an undefined alias, a key given twice
/// in one mapping, or exceeding `limits` is an error.
public func compose(yaml: String, limits: YAMLLimits = .default) throws(YamlError) -> Node? {
    var text = yaml
    let result = text.withUTF8 { bytes in
        Result { () throws(YamlError) in try compose(utf8: bytes, limits: limits) }
    }
    return try result.get()
}

/// `compose(yaml:)` for UTF-8 bytes as read from a file: bytes that are not UTF-8 are a
/// `YamlError.reader` at their position rather than a replacement character.
public func compose(utf8 bytes: UnsafeBufferPointer<UInt8>, limits: YAMLLimits = .default) throws(YamlError) -> Node? {
    guard bytes.count <= limits.maxBytes else {
        throw .composer(
            context: nil,
            problem: "the document is \(bytes.count) bytes; YAML files are limited to \(limits.maxBytes) bytes",
            Mark(line: 1, column: 1), line: "")
    }
    guard !bytes.isEmpty else { return nil }
    var composer = try Composer(bytes, limits: limits)
    return try composer.document()
}

/// Builds the node tree from libyaml's events, iteratively (an explicit stack of open
/// collections, so nesting costs no call stack), counting nodes and depth as it goes.
///
/// Owner: one call of `compose`. The libyaml parser and event live in allocations of their own
/// (libyaml keeps a pointer to its parser struct, so the struct must not move), freed by `deinit`.
struct Composer: ~Copyable {
    private let input: UnsafeBufferPointer<UInt8>
    private let limits: YAMLLimits
    private let parser: UnsafeMutablePointer<yaml_parser_t>
    private let event: UnsafeMutablePointer<yaml_event_t>
    /// Anchored nodes by name (a later anchor of the same name replaces an earlier one) with their
    /// size once expanded.
    private var anchors: [String: (node: Node, size: Int)] = [:]
    private var open: [Frame] = []
    /// Nodes so far, each alias counted as the nodes it repeats.
    private var nodes = 0

    /// A collection whose end event has not come yet.
    private struct Frame {
        var isMapping: Bool
        var tag: Tag
        var style: UInt32
        var mark: Mark
        var anchor: String?
        /// A sequence's items, or a mapping's keys and values alternately.
        var items: [Node] = []
        /// Nodes in this collection once expanded, itself included.
        var size = 1
    }

    /// - Precondition: `input` is not empty (libyaml wants a non-null pointer).
    init(_ input: UnsafeBufferPointer<UInt8>, limits: YAMLLimits) throws(YamlError) {
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        guard yaml_parser_initialize(parser) == 1 else {
            parser.deallocate()
            throw .memory
        }
        yaml_parser_set_encoding(parser, YAML_UTF8_ENCODING)
        yaml_parser_set_input_string(parser, input.baseAddress, input.count)
        // Zeroed, so that the first `yaml_event_delete` in `next()` frees nothing.
        let event = UnsafeMutablePointer<yaml_event_t>.allocate(capacity: 1)
        event.initialize(to: yaml_event_t())
        self.input = input
        self.limits = limits
        self.parser = parser
        self.event = event
    }

    deinit {
        yaml_event_delete(event)
        event.deallocate()
        yaml_parser_delete(parser)
        parser.deallocate()
    }

    /// Reads the stream: nil without a document, the root of its only document otherwise.
    mutating func document() throws(YamlError) -> Node? {
        try expect(YAML_STREAM_START_EVENT)
        if try next() == YAML_STREAM_END_EVENT { return nil }
        // The event just read is the document's start.
        let root = try rootNode()
        try expect(YAML_DOCUMENT_END_EVENT)
        let after = try next()
        if after != YAML_STREAM_END_EVENT {
            throw .composer(
                context: YamlError.Context(text: "expected a single document in the stream", mark: Mark(line: 1, column: 1)),
                problem: "but found another document", startMark, line: line(of: startMark))
        }
        return root
    }

    /// The events of one node (and everything inside it), as a tree.
    private mutating func rootNode() throws(YamlError) -> Node {
        while true {
            let type = try next()
            var finished: (node: Node, size: Int)
            switch type {
            case YAML_SCALAR_EVENT:
                let data = event.pointee.data.scalar
                var value = UnsafeBufferPointer(start: data.value, count: Int(data.length))
                // A scalar's leading byte-order mark is dropped, as Yams's decoding (Foundation's
                // `String(bytes:encoding:)`) dropped it: `--- \u{FEFF}10` is the number 10.
                if value.starts(with: [0xEF, 0xBB, 0xBF]) { value = UnsafeBufferPointer(rebasing: value.dropFirst(3)) }
                let text = String(decoding: value, as: UTF8.self)
                let tag = data.quoted_implicit == 1 ? Tag(.str) : Self.tag(data.tag)
                let style = Node.Scalar.Style(rawValue: data.style.rawValue) ?? .any
                let node = Node.scalar(Node.Scalar(text, tag, style, startMark))
                try count(1)
                if let anchor = Self.string(data.anchor) { anchors[anchor] = (node, 1) }
                finished = (node, 1)
            case YAML_ALIAS_EVENT:
                let name = Self.string(event.pointee.data.alias.anchor) ?? ""
                guard let anchored = anchors[name] else {
                    throw .composer(context: nil, problem: "found undefined alias", startMark, line: line(of: startMark))
                }
                try count(anchored.size)
                finished = anchored
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                let isMapping = type == YAML_MAPPING_START_EVENT
                guard open.count < limits.maxDepth else {
                    throw .composer(
                        context: nil, problem: "collections are nested more than \(limits.maxDepth) deep",
                        startMark, line: line(of: startMark))
                }
                try count(1)
                if isMapping {
                    let data = event.pointee.data.mapping_start
                    open.append(Frame(isMapping: true, tag: data.implicit != 0 ? .implicit : Self.tag(data.tag),
                                      style: data.style.rawValue, mark: startMark, anchor: Self.string(data.anchor)))
                } else {
                    let data = event.pointee.data.sequence_start
                    open.append(Frame(isMapping: false, tag: data.implicit != 0 ? .implicit : Self.tag(data.tag),
                                      style: data.style.rawValue, mark: startMark, anchor: Self.string(data.anchor)))
                }
                continue
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                let frame = open.removeLast()
                let node: Node
                if frame.isMapping {
                    try checkDuplicates(frame.items)
                    let items = try Self.mergingKeys(frame.items)
                    node = .mapping(Node.Mapping(flat: items, frame.tag, Node.Mapping.Style(rawValue: frame.style) ?? .any, frame.mark))
                } else {
                    node = .sequence(Node.Sequence(frame.items, frame.tag, Node.Sequence.Style(rawValue: frame.style) ?? .any, frame.mark))
                }
                if let anchor = frame.anchor { anchors[anchor] = (node, frame.size) }
                finished = (node, frame.size)
            default:
                throw .composer(context: nil, problem: "unexpected event \(type.rawValue)", startMark, line: line(of: startMark))
            }
            guard !open.isEmpty else { return finished.node }
            open[open.count - 1].items.append(finished.node)
            open[open.count - 1].size += finished.size
        }
    }

    /// Counts `n` more nodes against `limits.maxNodes`.
    private mutating func count(_ n: Int) throws(YamlError) {
        nodes += n
        guard nodes <= limits.maxNodes else {
            throw .composer(
                context: nil,
                problem: "the document has more than \(limits.maxNodes) nodes (counting each alias as the nodes it repeats)",
                startMark, line: line(of: startMark))
        }
    }

    /// A mapping's keys and values with YAML's merge keys applied, as Go's YAML (Prometheus,
    /// promtool) applies them: `<<: *base` (or a list of mappings, the earlier winning) adds the
    /// entries whose keys the mapping does not give itself, after its own. The merged entries keep
    /// their positions (where the anchor wrote them). Anything else under `<<` is an error.
    private static func mergingKeys(_ items: [Node]) throws(YamlError) -> [Node] {
        func isMergeKey(_ key: Node) -> Bool {
            guard case .scalar(let s) = key else { return false }
            return s.style == .plain && s.tag.name == .implicit && s.string == "<<"
        }
        guard stride(from: 0, to: items.count, by: 2).contains(where: { isMergeKey(items[$0]) }) else { return items }
        var out: [Node] = []
        var sources: [Node.Mapping] = []
        for k in stride(from: 0, to: items.count - 1, by: 2) {
            guard isMergeKey(items[k]) else {
                out += [items[k], items[k + 1]]
                continue
            }
            let value = items[k + 1]
            switch value {
            case .mapping(let m):
                sources.append(m)
            case .sequence(let list) where list.allSatisfy({ $0.mapping != nil }):
                sources += list.compactMap(\.mapping)
            default:
                let mark = value.mark ?? Mark(line: 1, column: 1)
                throw .composer(
                    context: nil, problem: "a merge key (<<) needs a mapping or a list of mappings", mark, line: "")
            }
        }
        var present = Set(stride(from: 0, to: out.count, by: 2).map { out[$0] })
        for source in sources {
            for (key, value) in source where present.insert(key).inserted {
                out += [key, value]
            }
        }
        return out
    }

    /// Refuses a mapping that gives a key twice, as Yams does: every such key with both positions,
    /// in key order, the context at the first occurrence of the first.
    private func checkDuplicates(_ items: [Node]) throws(YamlError) {
        guard items.count >= 4 else { return }
        var firstIndex: [Node: Int] = [:]
        var repeated: [(first: Int, second: Int)] = []
        var reported = Set<Int>()
        for k in stride(from: 0, to: items.count, by: 2) {
            if let first = firstIndex[items[k]] {
                if reported.insert(first).inserted { repeated.append((first, k)) }
            } else {
                firstIndex[items[k]] = k
            }
        }
        guard !repeated.isEmpty else { return }
        func name(_ key: Node) -> String {
            switch key {
            case .scalar(let s): s.string
            case .mapping: key.string ?? "<a mapping>"
            case .sequence: "<a list>"
            }
        }
        // Scalars in text order first (Yams sorts its keys so), then other keys as they came.
        let sorted = repeated.enumerated().sorted { a, b in
            switch (items[a.element.first].scalar, items[b.element.first].scalar) {
            case (let x?, let y?): x.string < y.string || (x.string == y.string && a.offset < b.offset)
            case (_?, nil): true
            case (nil, _?): false
            case (nil, nil): a.offset < b.offset
            }
        }.map(\.element)
        let unknown = Mark(line: 0, column: 0)
        let keys = sorted.map {
            YamlError.DuplicatedKey(name: name(items[$0.first]), first: items[$0.first].mark ?? unknown, repeated: items[$0.second].mark ?? unknown)
        }
        throw .duplicatedKeysInMapping(
            duplicates: keys,
            context: YamlError.Context(text: "expected all keys of a mapping to be unique", mark: keys[0].first))
    }

    /// Reads the next event (freeing the previous one) and returns its type.
    private mutating func next() throws(YamlError) -> yaml_event_type_t {
        yaml_event_delete(event)
        guard yaml_parser_parse(parser, event) == 1 else { throw error() }
        return event.pointee.type
    }

    private mutating func expect(_ type: yaml_event_type_t) throws(YamlError) {
        let got = try next()
        guard got == type else {
            throw .composer(context: nil, problem: "unexpected event \(got.rawValue)", startMark, line: line(of: startMark))
        }
    }

    /// The current event's start, 1-based.
    private var startMark: Mark { Self.mark(event.pointee.start_mark) }

    /// libyaml's error as a `YamlError`.
    private func error() -> YamlError {
        let p = parser.pointee
        let problem = p.problem.map { String(cString: $0) } ?? "unknown problem"
        let context = p.context.map { YamlError.Context(text: String(cString: $0), mark: Self.mark(p.context_mark)) }
        let mark = Self.mark(p.problem_mark)
        switch p.error {
        case YAML_MEMORY_ERROR:
            return .memory
        case YAML_READER_ERROR:
            return .reader(problem: problem, offset: Int(p.problem_offset), value: p.problem_value, mark: position(ofByte: Int(p.problem_offset)))
        case YAML_SCANNER_ERROR:
            return .scanner(context: context, problem: problem, mark, line: line(of: mark))
        case YAML_PARSER_ERROR:
            return .parser(context: context, problem: problem, mark, line: line(of: mark))
        default:
            return .composer(context: context, problem: problem, mark, line: line(of: mark))
        }
    }

    /// The line and column of byte `offset`, counting lines and columns as libyaml's scanner does
    /// (CR LF, CR, LF, NEL, LS and PS end a line; a column is a Unicode scalar).
    func position(ofByte offset: Int) -> Mark {
        var line = 1
        var column = 1
        var i = 0
        let end = min(offset, input.count)
        while i < end {
            let b = input[i]
            if b == 0x0D, i + 1 < end, input[i + 1] == 0x0A {
                i += 2
                line += 1
                column = 1
                continue
            }
            if b == 0x0A || b == 0x0D || Self.isUnicodeBreak(input, at: i) {
                line += 1
                column = 1
            } else if b & 0xC0 != 0x80 {
                column += 1
            }
            i += 1
        }
        return Mark(line: line, column: column)
    }

    /// The text of line `mark.line` for display, empty when longer than 200 bytes (an error never
    /// carries a megabyte line).
    func line(of mark: Mark) -> String {
        var line = 1
        var i = 0
        while i < input.count, line < mark.line {
            if input[i] == 0x0A || (input[i] == 0x0D && !(i + 1 < input.count && input[i + 1] == 0x0A)) || Self.isUnicodeBreak(input, at: i) {
                line += 1
            }
            i += 1
        }
        var end = i
        while end < input.count, end - i <= 200, input[end] != 0x0A, input[end] != 0x0D, !Self.isUnicodeBreak(input, at: end) { end += 1 }
        guard end - i <= 200 else { return "" }
        return String(decoding: UnsafeBufferPointer(rebasing: input[i..<end]), as: UTF8.self)
    }

    /// NEL (C2 85), LS (E2 80 A8) or PS (E2 80 A9) at byte `i`: line breaks to libyaml.
    private static func isUnicodeBreak(_ b: UnsafeBufferPointer<UInt8>, at i: Int) -> Bool {
        if b[i] == 0xC2, i + 1 < b.count { return b[i + 1] == 0x85 }
        if b[i] == 0xE2, i + 2 < b.count { return b[i + 1] == 0x80 && (b[i + 2] == 0xA8 || b[i + 2] == 0xA9) }
        return false
    }

    private static func mark(_ m: yaml_mark_t) -> Mark {
        Mark(line: Int(m.line) + 1, column: Int(m.column) + 1)
    }

    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: $0) }
    }

    private static func tag(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> Tag {
        Tag(Tag.Name(rawValue: string(pointer) ?? ""))
    }
}
