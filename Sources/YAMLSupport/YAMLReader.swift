/// Reads a YAML document into typed values while collecting every error with its position.
///
/// Each accessor reports a wrong type, a bad duration or an unknown key (with the closest known key
/// as a suggestion) and returns nil, so one pass over a file reports all of its problems.
public struct YAMLReader {
    /// The file name used in error positions.
    public let file: String
    /// The problems found so far.
    public private(set) var errors: [ConfigError] = []

    public init(file: String) { self.file = file }

    /// Parses `text` into a node tree; nil (with an error) when it is not YAML. A text without a
    /// document (empty, or only comments) is an empty mapping.
    public mutating func parse(_ text: String) -> Node? {
        do {
            return try compose(yaml: text) ?? Node.mapping(Node.Mapping([]))
        } catch {
            record(error)
            return nil
        }
    }

    /// Records why `compose` refused a text, at the problem's position.
    public mutating func record(_ error: YamlError) {
        for p in error.syntaxProblems(withContext: false) {
            errors.append(ConfigError(file: file, line: p.mark.line, column: p.mark.column, message: "invalid YAML: \(p.message)"))
        }
        for p in error.repeatedKeys {
            errors.append(ConfigError(file: file, line: p.mark.line, column: p.mark.column, message: p.message))
        }
    }

    /// Records an error at `node`'s position.
    public mutating func error(_ node: Node?, _ message: String) {
        let mark = node?.mark
        errors.append(ConfigError(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1, message: message))
    }

    /// The entries of a mapping, checked against `known` keys; nil when `node` is not a mapping.
    public mutating func mapping(_ node: Node, _ what: String, known: [String]) -> [String: Node]? {
        guard case .mapping(let mapping) = node else {
            error(node, "\(what) must be a mapping")
            return nil
        }
        var out: [String: Node] = [:]
        for (key, value) in mapping {
            guard let name = key.string else {
                error(key, "\(what): keys must be strings")
                continue
            }
            if !known.contains(name) {
                var message = "\(what): unknown key \"\(name)\""
                if let suggestion = Suggestion.closest(to: name, among: known) { message += " (did you mean \"\(suggestion)\"?)" }
                error(key, message)
                continue
            }
            if out[name] != nil { error(key, "\(what): key \"\(name)\" appears twice") }
            out[name] = value
        }
        return out
    }

    /// The items of a sequence; nil when `node` is not one.
    public mutating func sequence(_ node: Node, _ what: String) -> [Node]? {
        guard case .sequence(let sequence) = node else {
            error(node, "\(what) must be a list")
            return nil
        }
        return Array(sequence)
    }

    /// A string scalar.
    public mutating func string(_ node: Node, _ what: String) -> String? {
        guard case .scalar(let scalar) = node else {
            error(node, "\(what) must be a string")
            return nil
        }
        return scalar.string
    }

    /// A list of strings.
    public mutating func strings(_ node: Node, _ what: String) -> [String]? {
        guard let items = sequence(node, what) else { return nil }
        var out: [String] = []
        for item in items { if let s = string(item, "\(what) item") { out.append(s) } }
        return out
    }

    /// A mapping of strings to strings (labels).
    public mutating func stringMap(_ node: Node, _ what: String) -> [String: String]? {
        guard case .mapping(let mapping) = node else {
            error(node, "\(what) must be a mapping of names to values")
            return nil
        }
        var out: [String: String] = [:]
        for (key, value) in mapping {
            guard let k = key.string, case .scalar = value, let v = value.string else {
                error(key, "\(what): every entry must be a name and a string value")
                continue
            }
            out[k] = v
        }
        return out
    }

    /// An integer within `range`, as Go's YAML reads one (`0x10`, `1_000`, `10.0`; not `1:30`).
    public mutating func int(_ node: Node, _ what: String, in range: ClosedRange<Int>) -> Int? {
        guard let v = node.goInt else {
            error(node, "\(what) must be a whole number")
            return nil
        }
        guard range.contains(v) else {
            error(node, "\(what) must be between \(range.lowerBound) and \(range.upperBound), got \(v)")
            return nil
        }
        return v
    }

    /// A number within `range`, as Go's YAML reads one.
    public mutating func double(_ node: Node, _ what: String, in range: ClosedRange<Double>) -> Double? {
        guard let v = node.goDouble, v.isFinite else {
            error(node, "\(what) must be a number")
            return nil
        }
        guard range.contains(v) else {
            error(node, "\(what) must be between \(range.lowerBound) and \(range.upperBound), got \(v)")
            return nil
        }
        return v
    }

    /// A boolean.
    public mutating func bool(_ node: Node, _ what: String) -> Bool? {
        guard case .scalar = node, let v = node.bool else {
            error(node, "\(what) must be true or false")
            return nil
        }
        return v
    }

    /// A Prometheus-style duration (`500ms`, `15s`, `1h30m`, `8d`) in milliseconds, at least `minimum`.
    public mutating func duration(_ node: Node, _ what: String, minimum: Int64 = 1) -> Int64? {
        guard let text = string(node, what) else { return nil }
        guard let ms = YAMLReader.parseDuration(text) else {
            error(node, "\(what): \"\(text)\" is not a duration (expected e.g. 500ms, 15s, 1h30m, 7d)")
            return nil
        }
        guard ms >= minimum else {
            error(node, "\(what) must be at least \(YAMLReader.formatDuration(minimum)), got \(text)")
            return nil
        }
        return ms
    }

    /// Int64 of a duration such as `1h30m`; nil when it is not one.
    public static func parseDuration(_ text: String) -> Int64? {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000), ("w", 604_800_000), ("y", 31_536_000_000)]
        var rest = Substring(text)
        var total: Int64 = 0
        var lastUnitIndex = -1
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, let n = Int64(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            // Longest unit first so "ms" is not read as "m".
            guard let (index, unit) = units.enumerated().filter({ rest.hasPrefix($0.element.0) }).max(by: { $0.element.0.count < $1.element.0.count }) else { return nil }
            // Units must go from largest to smallest, each once, as in Prometheus.
            let order = [6, 5, 4, 3, 2, 1, 0]
            guard let rank = order.firstIndex(of: index), rank > lastUnitIndex else { return nil }
            lastUnitIndex = rank
            rest = rest.dropFirst(unit.0.count)
            let (product, overflow) = n.multipliedReportingOverflow(by: unit.1)
            guard !overflow else { return nil }
            let (sum, overflow2) = total.addingReportingOverflow(product)
            guard !overflow2 else { return nil }
            total = sum
        }
        return total
    }

    /// `1h30m`-style text for a duration.
    public static func formatDuration(_ ms: Int64) -> String {
        if ms == 0 { return "0s" }
        var rest = ms
        var out = ""
        for (unit, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)] where rest >= size {
            out += "\(rest / size)\(unit)"
            rest %= size
        }
        return out
    }
}
