/// A JSON value, the one the whole agent reads and writes: the CLI reads the daemon's answers into
/// it, the daemon's API and the notification payloads are written from it, health checks and
/// state files are read into it. No Foundation: the reader and the writer are our own
/// (`JSON+Reading.swift`, `JSON+Writing.swift`), so nothing links `JSONSerialization` and its ICU.
///
/// Object members keep their order: payloads come out byte for byte as the receiver's
/// documentation (and Alertmanager's Go structs) lay them out, and a document read keeps the order
/// it had. `init(tree:)` turns the `[String: Any]` trees the API handlers build into a value with
/// sorted keys, as `JSONSerialization`'s `.sortedKeys` did.
public enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSON])
    /// Keys in insertion order.
    case object([(String, JSON)])

    public static func == (a: JSON, b: JSON) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.int(let x), .int(let y)): return x == y
        case (.double(let x), .double(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// An object from a dictionary, keys sorted (as Go encodes maps).
    public static func sortedObject(_ dictionary: [String: String]) -> JSON {
        .object(dictionary.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }.map { ($0.key, .string($0.value)) })
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(nilLiteral: ()) { self = .null }
}

// MARK: Reading a value

extension JSON {
    /// The member `key` of an object (the last one when a document repeats it); nil otherwise.
    public subscript(key: String) -> JSON? {
        guard case .object(let members) = self else { return nil }
        return members.last { $0.0 == key }?.1
    }

    /// The string, or nil.
    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The number (an integer too), or nil.
    public var double: Double? {
        switch self {
        case .double(let d): return d
        case .int(let i): return Double(i)
        default: return nil
        }
    }

    /// The integer, or nil (a number with a fraction or an exponent is not one).
    public var int: Int? {
        if case .int(let i) = self { return Int(exactly: i) }
        return nil
    }

    /// The boolean, or nil.
    public var bool: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// True for `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The elements of an array (empty otherwise).
    public var array: [JSON] {
        if case .array(let a) = self { return a }
        return []
    }

    /// The members of an object by key (empty otherwise; the last of a repeated key).
    public var object: [String: JSON] {
        guard case .object(let members) = self else { return [:] }
        return Dictionary(members, uniquingKeysWith: { _, last in last })
    }

    /// The members of an object in document order, or nil when it is not one.
    public var members: [(String, JSON)]? {
        if case .object(let members) = self { return members }
        return nil
    }

    /// The value as text in a table: strings as they are, numbers as JSON writes them, the rest
    /// as compact JSON with sorted keys.
    public var text: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return JSON.format(d)
        case .string(let s): return s
        case .array, .object: return json
        }
    }

    /// Compact JSON with sorted keys (what `agent … --output json` prints).
    public var json: String {
        String(decoding: encoded(sortedKeys: true), as: UTF8.self)
    }
}
