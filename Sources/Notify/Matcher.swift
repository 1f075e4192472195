public import TimeSeries
import Synchronization

/// One condition on one label, as Alertmanager writes it: `name="value"`, `name!="value"`,
/// `name=~"regex"`, `name!~"regex"`.
///
/// A missing label has the value `""` (so `team=""` matches alerts without `team`, and
/// `team!=""` those with one). Regular expressions are fully anchored, as in Alertmanager and
/// Prometheus: `severity=~"high|low"` matches `high`, not `highest`. A regex that is only an
/// alternation of literals (`high|medium|low`, the common case) is matched by set lookup
/// without running the regex engine.
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
    let pattern: Pattern?

    /// A matcher; throws when `kind` is a regex and `value` does not compile.
    public init(name: String, _ kind: Kind, _ value: String) throws(MatcherError) {
        guard Matcher.isValidLabelName(name) else {
            throw MatcherError(input: name, column: 1, message: "\"\(name)\" is not a label name (letters, digits and _; not starting with a digit)")
        }
        self.name = name
        self.kind = kind
        self.value = value
        switch kind {
        case .equal, .notEqual: pattern = nil
        case .regexMatch, .regexNoMatch: pattern = try Pattern(value)
        }
    }

    /// True when the label value `value` (`""` for a missing label) satisfies this matcher.
    public func matches(value candidate: String) -> Bool {
        switch kind {
        case .equal: return candidate == value
        case .notEqual: return candidate != value
        case .regexMatch: return pattern!.matches(candidate)
        case .regexNoMatch: return !pattern!.matches(candidate)
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

/// A fully anchored regular expression; literal alternations are answered by set lookup.
///
/// Swift's `Regex` is not `Sendable`; it is immutable once compiled, but to stay within the
/// rules it is used under a lock. Matching happens a few times per alert per flush, never in a
/// per-sample loop, so the lock is never contended in practice.
final class Pattern: Sendable {
    /// Shapes answered without the regex engine.
    enum Shape: Sendable, Equatable {
        /// `a|b|c`: one of these literals.
        case oneOf(Set<String>)
        /// `abc.*`
        case prefix(String)
        /// `.*abc`
        case suffix(String)
        /// `.*abc.*`
        case contains(String)
        /// `.*`
        case anything
        /// `.+`
        case nonEmpty
    }

    let shape: Shape?
    let regex: Mutex<Regex<AnyRegexOutput>>?
    var literals: Set<String>? {
        if case .oneOf(let set) = shape { return set }
        return nil
    }

    init(_ source: String) throws(MatcherError) {
        if let shape = Pattern.shape(of: source) {
            self.shape = shape
            regex = nil
            return
        }
        shape = nil
        do {
            regex = Mutex(try Regex("^(?:" + source + ")$"))
        } catch {
            throw MatcherError(input: source, column: 1, message: "invalid regular expression: \(error)")
        }
    }

    func matches(_ s: String) -> Bool {
        switch shape {
        case .oneOf(let set): return set.contains(s)
        case .prefix(let p): return s.utf8.starts(with: p.utf8) && !s.utf8.contains(0x0A)
        case .suffix(let x): return s.utf8.reversed().starts(with: x.utf8.reversed()) && !s.utf8.contains(0x0A)
        case .contains(let x): return !s.utf8.contains(0x0A) && (x.isEmpty || s.utf8.firstRange(of: x.utf8) != nil)
        case .anything: return !s.utf8.contains(0x0A)
        case .nonEmpty: return !s.isEmpty && !s.utf8.contains(0x0A)
        case nil: return regex!.withLock { s.wholeMatch(of: $0) != nil }
        }
    }

    /// The shape of a regex that needs no engine, or nil. `.` does not match a newline (as in
    /// RE2 and Swift's default), which the shapes above respect.
    static func shape(of source: String) -> Shape? {
        if source == ".*" { return .anything }
        if source == ".+" { return .nonEmpty }
        if let alternatives = literalAlternatives(source) { return .oneOf(Set(alternatives)) }
        func plain(_ s: Substring) -> String? {
            s.utf8.allSatisfy { Matcher.isNameByte($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: ":") } ? String(s) : nil
        }
        let starts = source.hasPrefix(".*"), ends = source.hasSuffix(".*")
        if starts, ends, source.count >= 4, let x = plain(source.dropFirst(2).dropLast(2)) { return .contains(x) }
        if ends, let x = plain(source.dropLast(2)) { return .prefix(x) }
        if starts, let x = plain(source.dropFirst(2)) { return .suffix(x) }
        return nil
    }

    /// `a|b|c` made only of letters, digits, `_`, `-`, space and `/` (and the empty alternative):
    /// no regex metacharacter, so the regex is the set of its alternatives.
    static func literalAlternatives(_ source: String) -> [String]? {
        for b in source.utf8 {
            let plain = Matcher.isNameByte(b) || b == UInt8(ascii: "-") || b == UInt8(ascii: " ")
                || b == UInt8(ascii: "/") || b == UInt8(ascii: "|") || b == UInt8(ascii: ":") || b >= 0x80
            if !plain { return nil }
        }
        return source.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
    }
}
