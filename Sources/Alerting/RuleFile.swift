#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
public import Query
public import TimeSeries

/// A Prometheus rule file, loaded and validated: groups of alerting and recording rules.
///
/// Files Prometheus accepts load unchanged. One extension makes severity tiers first-class: an
/// alerting rule may give `tiers` (most severe first, each `above:` or `below:` a threshold on the
/// expression's value, optionally with its own `for:`) and a recovery threshold
/// (`recover_below:` / `recover_above:`) for hysteresis; see `SeverityTier` and docs/rules.md.
///
/// Loading never stops at the first problem: `RuleFile.parse` returns every error of the file, each
/// with its `file:line:column`, the group and rule it is in, and a remedy where one is known.
public struct RuleFile: Sendable {
    /// The path the file was read from (as given; used in messages).
    public var path: String
    /// The groups, in file order.
    public var groups: [Group]
    /// Advice about valid rules at their positions: `agent check rules` prints each as
    /// `file:line:column: note: message`; a note never makes a file invalid.
    public var notes: [RuleFileError] = []

    /// A group of rules evaluated together, in order, on one interval.
    public struct Group: Sendable {
        /// The group's name, unique within its file.
        public var name: String
        /// How often the group is evaluated; nil means the global evaluation interval.
        public var interval: Milliseconds?
        /// How far in the past the group evaluates (Prometheus's `query_offset`), to let late data arrive.
        public var queryOffset: Milliseconds
        /// Most alerts (or recorded series) one rule may produce per evaluation; 0 means no limit.
        public var limit: Int
        /// Labels added to every rule's output (rule labels win on conflict).
        public var labels: [(name: String, value: String)]
        /// The rules, in evaluation order.
        public var rules: [Rule]
        /// Where the group starts in its file.
        public var position: SourcePosition
    }

    /// One alerting or recording rule.
    public struct Rule: Sendable {
        /// Alerting (`alert:`) or recording (`record:`).
        public enum Kind: Sendable, Equatable {
            case alerting
            case recording
        }

        public var kind: Kind
        /// The alert's name (`alertname`) or the recorded metric name.
        public var name: String
        /// The expression's text, as written.
        public var expression: String
        /// The parsed expression.
        public var query: Expr
        /// How long the condition must hold before the alert fires (0: at once).
        public var holdDuration: Milliseconds
        /// How long a firing alert keeps firing after its condition stopped holding.
        public var keepFiringFor: Milliseconds
        /// Labels added to the output; values are templates for alerting rules, plain for recording rules.
        public var labels: [TemplatedField]
        /// Annotations of an alerting rule (templates).
        public var annotations: [TemplatedField]
        /// Severity tiers, most severe first; empty for a rule whose `expr` carries its own condition.
        public var tiers: [SeverityTier]
        /// Hysteresis: a firing tiered alert resolves only once its value crosses this threshold.
        public var recovery: Double?
        /// Where the rule starts in its file.
        public var position: SourcePosition

        /// True when the rule has severity tiers.
        public var isTiered: Bool { !tiers.isEmpty }
    }

    /// Reads and validates the rule file at `path`; `ignoringUnknownKeys` skips keys this format
    /// does not know (promtool's `--ignore-unknown-fields`) instead of reporting them.
    public static func load(path: String, ignoringUnknownKeys: Bool = false) throws(RuleFileErrors) -> RuleFile {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw RuleFileErrors([RuleFileError(path: path, line: 0, column: 0, message: "cannot read the file: \(Self.describe(error))")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw RuleFileErrors([RuleFileError(path: path, line: 0, column: 0, message: "the file is not UTF-8 text")])
        }
        return try parse(text, path: path, ignoringUnknownKeys: ignoringUnknownKeys)
    }

    /// Parses and validates rule-file text; `path` is used in messages. Throws every error found.
    public static func parse(_ text: String, path: String, ignoringUnknownKeys: Bool = false) throws(RuleFileErrors) -> RuleFile {
        var validator = RuleFileValidator(text: text, path: path)
        validator.yaml.ignoresUnknownKeys = ignoringUnknownKeys
        let file = validator.validate()
        if !validator.errors.isEmpty { throw RuleFileErrors(validator.errors) }
        return file
    }

    /// Number of alerting and recording rules.
    public var ruleCounts: (alerting: Int, recording: Int) {
        var a = 0, r = 0
        for group in groups {
            for rule in group.rules {
                if rule.kind == .alerting { a += 1 } else { r += 1 }
            }
        }
        return (a, r)
    }

    /// Why a file could not be read, as `strerror` says it (`No such file or directory`); one wording
    /// for rule files, configuration and log mappings, without full Foundation's `localizedDescription`.
    public static func describe(_ error: any Error) -> String {
        if let e = error as? CocoaError, let underlying = e.underlying as? POSIXError {
            return String(cString: strerror(underlying.code.rawValue))
        }
        if let e = error as? CocoaError, e.code == .fileReadNoSuchFile { return "no such file" }
        return "\(error)"
    }
}

/// A label or annotation of a rule: its name and its value as a template.
public struct TemplatedField: Sendable {
    public var name: String
    public var template: Template
    /// Where the value starts in its rule file (0:0 when not from a file), for messages about the template.
    public var position = SourcePosition(line: 0, column: 0)
    public init(name: String, template: Template) {
        self.name = name
        self.template = template
    }
}

/// One severity tier of a tiered alerting rule.
///
/// A tier holds when the rule's value is strictly `above` (or strictly `below`) its threshold. Tiers
/// are listed from most to least severe, so the thresholds of `above` tiers descend and those of
/// `below` tiers ascend; the most severe tier that holds (for its `for`) is the alert's `severity`.
public struct SeverityTier: Sendable, Equatable {
    /// Which side of the threshold is bad.
    public enum Direction: String, Sendable, Equatable {
        case above
        case below
    }

    /// The `severity` label value while this tier is the alert's tier.
    public var severity: String
    public var direction: Direction
    public var threshold: Double
    /// How long this tier must hold before the alert takes it (default: the rule's `for`).
    public var holdDuration: Milliseconds?

    public init(severity: String, direction: Direction, threshold: Double, holdDuration: Milliseconds? = nil) {
        self.severity = severity
        self.direction = direction
        self.threshold = threshold
        self.holdDuration = holdDuration
    }

    /// True when `value` is on the bad side of the threshold (NaN never is).
    @inlinable
    public func holds(_ value: Double) -> Bool {
        switch direction {
        case .above: value > threshold
        case .below: value < threshold
        }
    }

    /// The default severity names, most severe first (from the monitoring plans: CRITICAL/HIGH/MEDIUM/LOW).
    public static let defaultOrder = ["critical", "high", "medium", "low"]
}

/// A 1-based line and column in a source file (0 when unknown).
public struct SourcePosition: Sendable, Equatable, Comparable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
    public static func < (a: SourcePosition, b: SourcePosition) -> Bool {
        (a.line, a.column) < (b.line, b.column)
    }
    public var description: String { "\(line):\(column)" }
}

/// One problem in a rule file: `file:line:column: message`.
public struct RuleFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var line: Int
    public var column: Int
    /// What is wrong, with the group and rule it concerns and the remedy where one is known.
    public var message: String

    public init(path: String, line: Int, column: Int, message: String) {
        self.path = path
        self.line = line
        self.column = column
        self.message = message
    }

    /// `file:line:column: message` (`file: message` when there is no position).
    public var description: String {
        line > 0 ? "\(path):\(line):\(column): \(message)" : "\(path): \(message)"
    }
}

/// Every problem found in a rule file, in file order.
public struct RuleFileErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [RuleFileError]
    public init(_ errors: [RuleFileError]) { self.errors = errors }
    /// One error per line.
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
