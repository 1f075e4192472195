/// A YAML node as `compose(yaml:)` builds it: a scalar, a mapping or a sequence, each with the
/// position it starts at. Aliases are resolved (an alias is the node its anchor names, with that
/// node's position), and merge keys (`<<: *base`) are applied, as Go's YAML applies them.
///
/// The API is the part of Yams's `Node` this code base used, with the same meaning, so that a
/// reader written against Yams reads the same here; the typed accessors (`int`, `float`, `bool`,
/// `null`) follow Yams 6.2's constructors and equality follows its YAML 1.1 tag resolution.
public enum Node: Hashable, Sendable {
    /// A scalar: text, with its tag and the style it was written in.
    case scalar(Scalar)
    /// A mapping: key/value pairs in document order.
    case mapping(Mapping)
    /// A sequence: items in document order.
    case sequence(Sequence)
}

/// A position in a YAML text, both 1-based; `column` counts Unicode scalars, as libyaml does.
public struct Mark: Hashable, Sendable, CustomStringConvertible {
    public let line: Int
    public let column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "\(line):\(column)" }
}

/// A node's tag: implicit (resolved from a plain scalar's text, or the kind of collection),
/// non-specific (`!`), or named (`!!int` is `tag:yaml.org,2002:int`).
public struct Tag: Hashable, Sendable, CustomStringConvertible {
    /// A tag's full name.
    public struct Name: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { rawValue = value }

        public static let implicit: Name = ""
        public static let nonSpecific: Name = "!"
        public static let str: Name = "tag:yaml.org,2002:str"
        public static let seq: Name = "tag:yaml.org,2002:seq"
        public static let map: Name = "tag:yaml.org,2002:map"
        public static let bool: Name = "tag:yaml.org,2002:bool"
        public static let float: Name = "tag:yaml.org,2002:float"
        public static let null: Name = "tag:yaml.org,2002:null"
        public static let int: Name = "tag:yaml.org,2002:int"
        public static let merge: Name = "tag:yaml.org,2002:merge"
        public static let timestamp: Name = "tag:yaml.org,2002:timestamp"
        public static let value: Name = "tag:yaml.org,2002:value"
    }

    public var name: Name

    public init(_ name: Name) { self.name = name }

    /// The tag of a node written without one.
    public static var implicit: Tag { Tag(.implicit) }

    public var description: String { name.rawValue }
}

extension Node {
    /// A scalar node.
    public struct Scalar: Hashable, Sendable {
        /// The scalar's text, after unquoting, escapes and line folding.
        public var string: String
        /// The tag as written: `.implicit` for a plain scalar without one, `!!str` for a quoted or block
        /// scalar without one (as libyaml reports them).
        public var tag: Tag
        /// How it was written: quoted scalars are strings even when they read as numbers.
        public var style: Style
        /// Where it starts.
        public var mark: Mark?

        /// The style a scalar was written in (libyaml's `yaml_scalar_style_t`).
        public enum Style: UInt32, Sendable {
            case any = 0
            case plain
            case singleQuoted
            case doubleQuoted
            case literal
            case folded
        }

        public init(_ string: String, _ tag: Tag = .implicit, _ style: Style = .any, _ mark: Mark? = nil) {
            self.string = string
            self.tag = tag
            self.style = style
            self.mark = mark
        }

        /// The tag after YAML 1.1 resolution: what `!!` type the scalar is (an implicit plain `123`
        /// is `!!int`, `"123"` is `!!str`).
        public var resolvedTag: Tag {
            switch tag.name {
            case .implicit: Tag(TagResolution.resolve(string))
            case .nonSpecific: Tag(.str)
            default: tag
            }
        }

        public static func == (lhs: Scalar, rhs: Scalar) -> Bool {
            lhs.string == rhs.string && lhs.resolvedTag == rhs.resolvedTag
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(string)
            hasher.combine(resolvedTag)
        }
    }

    /// A mapping node: its pairs in document order, duplicates refused by `compose(yaml:)`.
    public struct Mapping: Hashable, Sendable, RandomAccessCollection {
        var pairs: [Pair]
        public var tag: Tag
        public var style: Style
        public var mark: Mark?

        /// How a collection was written (libyaml's `yaml_mapping_style_t`).
        public enum Style: UInt32, Sendable {
            case any = 0
            case block
            case flow
        }

        public init(_ pairs: [(Node, Node)], _ tag: Tag = .implicit, _ style: Style = .any, _ mark: Mark? = nil) {
            self.pairs = pairs.map { Pair(key: $0.0, value: $0.1) }
            self.tag = tag
            self.style = style
            self.mark = mark
        }

        /// From keys and values alternately, as the composer collects them.
        init(flat items: [Node], _ tag: Tag, _ style: Style, _ mark: Mark?) {
            pairs = []
            pairs.reserveCapacity(items.count / 2)
            for k in stride(from: 0, to: items.count - 1, by: 2) { pairs.append(Pair(key: items[k], value: items[k + 1])) }
            self.tag = tag
            self.style = style
            self.mark = mark
        }

        public typealias Element = (key: Node, value: Node)
        public var startIndex: Int { pairs.startIndex }
        public var endIndex: Int { pairs.endIndex }
        public subscript(index: Int) -> Element { (pairs[index].key, pairs[index].value) }

        /// The keys in document order.
        public var keys: LazyMapCollection<Mapping, Node> { lazy.map { $0.key } }
        /// The values in document order.
        public var values: LazyMapCollection<Mapping, Node> { lazy.map { $0.value } }

        /// The value of the key that equals `node` (the last such key, as Yams does).
        public subscript(node: Node) -> Node? {
            pairs.last { $0.key == node }?.value
        }

        /// The value of key `string`, read as a plain scalar would be: `m["logs"]` finds `logs:`
        /// and `"logs":` but `m["1"]` finds `1:` (an int), not `"1":`.
        public subscript(string: String) -> Node? {
            self[Node.scalar(Scalar(string))]
        }

        /// The tag after resolution: `!!map` unless another was given.
        public var resolvedTag: Tag {
            tag.name == .implicit || tag.name == .nonSpecific ? Tag(.map) : tag
        }

        public static func == (lhs: Mapping, rhs: Mapping) -> Bool {
            lhs.pairs == rhs.pairs && lhs.resolvedTag == rhs.resolvedTag
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(pairs)
            hasher.combine(resolvedTag)
        }

        struct Pair: Hashable, Sendable {
            var key: Node
            var value: Node
        }
    }

    /// A sequence node.
    public struct Sequence: Hashable, Sendable, RandomAccessCollection {
        private var nodes: [Node]
        public var tag: Tag
        public var style: Style
        public var mark: Mark?

        /// How a collection was written (libyaml's `yaml_sequence_style_t`).
        public enum Style: UInt32, Sendable {
            case any = 0
            case block
            case flow
        }

        public init(_ nodes: [Node], _ tag: Tag = .implicit, _ style: Style = .any, _ mark: Mark? = nil) {
            self.nodes = nodes
            self.tag = tag
            self.style = style
            self.mark = mark
        }

        public var startIndex: Int { nodes.startIndex }
        public var endIndex: Int { nodes.endIndex }
        public subscript(index: Int) -> Node { nodes[index] }

        /// The tag after resolution: `!!seq` unless another was given.
        public var resolvedTag: Tag {
            tag.name == .implicit || tag.name == .nonSpecific ? Tag(.seq) : tag
        }

        public static func == (lhs: Sequence, rhs: Sequence) -> Bool {
            lhs.nodes == rhs.nodes && lhs.resolvedTag == rhs.resolvedTag
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(nodes)
            hasher.combine(resolvedTag)
        }
    }
}

extension Node {
    /// Where the node starts (nil only for nodes made in code).
    public var mark: Mark? {
        switch self {
        case .scalar(let s): s.mark
        case .mapping(let m): m.mark
        case .sequence(let s): s.mark
        }
    }

    /// The node's tag after resolution (`!!str`, `!!int`, `!!map`, …).
    public var tag: Tag {
        switch self {
        case .scalar(let s): s.resolvedTag
        case .mapping(let m): m.resolvedTag
        case .sequence(let s): s.resolvedTag
        }
    }

    /// The scalar, if this is one.
    public var scalar: Scalar? {
        if case .scalar(let s) = self { return s }
        return nil
    }

    /// The mapping, if this is one.
    public var mapping: Mapping? {
        if case .mapping(let m) = self { return m }
        return nil
    }

    /// The sequence, if this is one.
    public var sequence: Sequence? {
        if case .sequence(let s) = self { return s }
        return nil
    }

    /// A scalar's text whatever its type (also a number's or a boolean's); nil for a collection,
    /// except a mapping with a `=` key (YAML 1.1's default value), which reads as that value.
    public var string: String? {
        switch self {
        case .scalar(let s): return s.string
        case .mapping(let m): return m.first { $0.key.tag.name == .value }?.value.string
        case .sequence: return nil
        }
    }

    /// A plain scalar read as a whole number: decimal, `0x`/`0b`/`0o` or leading-`0` octal,
    /// `_` separators and sexagesimal `1:30` allowed (YAML 1.1, as Yams reads it); nil otherwise.
    public var int: Int? { scalar.flatMap(ScalarConstruction.int) }

    /// A plain scalar read as a number: what `Double(_:)` accepts, `.inf`, `-.inf`, `.nan`, with
    /// `_` separators and sexagesimal `1:30.5` (as Yams reads it); nil otherwise.
    public var float: Double? { scalar.flatMap(ScalarConstruction.double) }

    /// A scalar read as a YAML 1.1 boolean (`true`/`yes`/`on`, `false`/`no`/`off`, any case),
    /// unless it is tagged `!!str` (quoted); nil otherwise.
    public var bool: Bool? { scalar.flatMap(ScalarConstruction.bool) }

    /// `Node.Null()` for a plain `~`, `null`, `Null`, `NULL` or empty scalar; nil otherwise
    /// (`'null'` and `''` are strings).
    public var null: Null? { scalar.flatMap(ScalarConstruction.null) }

    /// The value of a YAML null.
    public struct Null: Hashable, Sendable {
        public init() {}
    }
}
