extension JSON {
    /// A value from the `[String: Any]` trees the daemon's status documents are built as: strings,
    /// booleans, integers, doubles, arrays, dictionaries (members sorted by key, as
    /// `JSONSerialization`'s `.sortedKeys` wrote them), optionals (nil is `null`) and `JSON` values.
    /// Anything else is `nil`, so a document that cannot be written is noticed, not guessed at.
    public init?(tree: Any) {
        switch tree {
        case let v as JSON: self = v
        case let v as String: self = .string(v)
        case let v as Substring: self = .string(String(v))
        case let v as Bool: self = .bool(v)
        case let v as Int: self = .int(Int64(v))
        case let v as Int64: self = .int(v)
        case let v as Int32: self = .int(Int64(v))
        case let v as UInt32: self = .int(Int64(v))
        case let v as UInt64:
            if let i = Int64(exactly: v) { self = .int(i) } else { self = .double(Double(v)) }
        case let v as UInt: self = Int64(exactly: v).map(JSON.int) ?? .double(Double(v))
        case let v as Double: self = .double(v)
        case let v as Float: self = .double(Double(v))
        case let v as [String: Any]:
            var members: [(String, JSON)] = []
            members.reserveCapacity(v.count)
            for key in v.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                guard let value = JSON(tree: v[key]!) else { return nil }
                members.append((key, value))
            }
            self = .object(members)
        case let v as [Any]:
            var items: [JSON] = []
            items.reserveCapacity(v.count)
            for element in v {
                guard let value = JSON(tree: element) else { return nil }
                items.append(value)
            }
            self = .array(items)
        default:
            // An optional inside `Any` matches none of the above: unwrap it.
            let mirror = Mirror(reflecting: tree)
            guard mirror.displayStyle == .optional else { return nil }
            guard let wrapped = mirror.children.first?.value else {
                self = .null
                return
            }
            guard let value = JSON(tree: wrapped) else { return nil }
            self = value
        }
    }
}
