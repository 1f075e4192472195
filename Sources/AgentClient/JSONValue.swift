public import FoundationEssentials
import TextRendering

/// A JSON document as the CLI reads the daemon's answers: any value, read by key and index.
///
/// FoundationEssentials has no `JSONSerialization`; its `JSONDecoder` reads into this instead, so
/// the `agent` command links no full Foundation (ICU) and starts in a few milliseconds.
public enum JSONValue: Sendable, Equatable, Decodable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Parses a document; nil when it is not JSON.
    public init?(parsing data: Data) {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: data) else { return nil }
        self = value
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int.self) {
            self = .int(i)
        } else if let d = try? c.decode(Double.self) {
            self = .double(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    /// The member `key` of an object (nil otherwise).
    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
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

    /// The integer, or nil.
    public var int: Int? {
        if case .int(let i) = self { return i }
        return nil
    }

    /// The boolean, or nil.
    public var bool: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The elements of an array (empty otherwise).
    public var array: [JSONValue] {
        if case .array(let a) = self { return a }
        return []
    }

    /// The members of an object (empty otherwise).
    public var object: [String: JSONValue] {
        if case .object(let o) = self { return o }
        return [:]
    }

    /// The value as text in a table: strings as they are, numbers without a needless `.0`.
    public var text: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : "\(d)"
        case .string(let s): return s
        case .array, .object: return json
        }
    }

    /// Compact JSON with sorted keys and unescaped slashes (what `--output json` prints).
    public var json: String {
        var out = ""
        write(into: &out)
        return out
    }

    func write(into out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            if !d.isFinite { out += "null" } else if d == d.rounded() && abs(d) < 1e15 { out += String(Int64(d)) } else { out += "\(d)" }
        case .string(let s): JSONString.append(s, to: &out)
        case .array(let a):
            out += "["
            for (i, v) in a.enumerated() {
                if i > 0 { out += "," }
                v.write(into: &out)
            }
            out += "]"
        case .object(let o):
            out += "{"
            for (i, key) in o.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                JSONString.append(key, to: &out)
                out += ":"
                o[key]!.write(into: &out)
            }
            out += "}"
        }
    }
}
