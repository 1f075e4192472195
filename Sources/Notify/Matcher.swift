import RE2
public import TimeSeries

/// One condition on one label, as Alertmanager writes it: `name="value"`, `name!="value"`,
/// `name=~"regex"`, `name!~"regex"`.
///
/// A missing label has the value `""` (so `team=""` matches alerts without `team`, and
/// `team!=""` those with one). Regular expressions are RE2, fully anchored as in Alertmanager
/// (`^(?:regex)$`, `.` not matching a newline): `severity=~"high|low"` matches `high`, not
/// `highest`. They run on the linear-time `RE2` engine, whose shortcuts answer the common shapes
/// (`high|medium|low`, `db-.*`) by comparing bytes.
public struct Matcher: Sendable, Hashable, CustomStringConvertible {
    /// The comparison.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case equal = "="
        case notEqual = "!="
        case regexMatch = "=~"
        case regexNoMatch = "!~"
    }

    /// The label name.
    public let name: String
    /// The comparison.
    public let kind: Kind
    /// The literal value or the regular expression's source (unanchored, as written).
    public let value: String
    let regex: RegularExpression?

    /// A matcher; throws when `kind` is a regex and `value` does not compile.
    public init(name: String, _ kind: Kind, _ value: String) throws(MatcherError) {
        guard Matcher.isValidLabelName(name) else {
            throw MatcherError(input: name, column: 1, message: "\"\(name)\" is not a label name (letters, digits and _; not starting with a digit)")
        }
        self.name = name
        self.kind = kind
        self.value = value
        switch kind {
        case .equal, .notEqual: regex = nil
        case .regexMatch, .regexNoMatch:
            do {
                regex = try RegularExpression(value, options: .alertmanager)
            } catch {
                throw MatcherError(input: value, column: 1 + value.utf8.prefix(error.offset).count(where: { $0 & 0xC0 != 0x80 }), message: "invalid regular expression: \(error.message)")
            }
        }
    }

    /// True when the label value `value` (`""` for a missing label) satisfies this matcher.
    public func matches(value candidate: String) -> Bool {
        switch kind {
        case .equal: return candidate == value
        case .notEqual: return candidate != value
        case .regexMatch: return regex!.matches(candidate)
        case .regexNoMatch: return !regex!.matches(candidate)
        }
    }

    /// True when `labels` satisfies this matcher.
    public func matches(_ labels: Labels) -> Bool {
        matches(value: labels[name] ?? "")
    }

    /// True when this matcher accepts an absent label; a silence needs at least one matcher that does not.
    public var matchesEmpty: Bool { matches(value: "") }

    /// `name="value"` with the value quoted and escaped, so that `Matcher.parse` reads it back.
    public var description: String {
        "\(name)\(kind.rawValue)\"\(Matcher.escape(value))\""
    }

    public static func == (a: Matcher, b: Matcher) -> Bool {
        a.name == b.name && a.kind == b.kind && a.value == b.value
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(kind)
        hasher.combine(value)
    }

    static func isValidLabelName(_ s: String) -> Bool {
        guard let first = s.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return false }
        return s.utf8.allSatisfy { isNameByte($0) }
    }

    static func isNameByte(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == 0x5F
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for ch in s.unicodeScalars {
            switch ch {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }
}

extension Array where Element == Matcher {
    /// True when every matcher matches `labels` (an empty list matches everything).
    public func matches(_ labels: Labels) -> Bool {
        allSatisfy { $0.matches(labels) }
    }

    /// `{a="1",b=~"x|y"}`: Alertmanager's rendering of a matcher list, used in group keys.
    public var listDescription: String {
        "{" + map(\.description).joined(separator: ",") + "}"
    }
}

/// A matcher that could not be read, with the column (1-based, in characters) where it went wrong.
public struct MatcherError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The text that was being read.
    public var input: String
    /// 1-based column in `input`.
    public var column: Int
    public var message: String

    public init(input: String, column: Int, message: String) {
        self.input = input
        self.column = column
        self.message = message
    }

    public var description: String { "column \(column): \(message) in \(input.debugDescription)" }
}
