import RE2
public import TimeSeries

/// What a `format: health` target must answer for `probe_success` to be 1.
///
/// Each expectation is a named condition; a failed one is written as
/// `probe_failed_condition{condition="…"} 1` (a passing one as 0, so the series set stays stable
/// and rules can say `probe_failed_condition == 1`).
public struct HealthExpectations: Sendable, Equatable {
    /// Acceptable status codes; empty accepts any 2xx (as blackbox_exporter does).
    public var statusCodes: [Int] = []
    /// Longest acceptable response time, in milliseconds (nil: only the timeout bounds it).
    public var maxResponseTime: Milliseconds? = nil
    /// Conditions on the body, all of which must hold.
    public var body: [BodyCondition] = []

    public init(statusCodes: [Int] = [], maxResponseTime: Milliseconds? = nil, body: [BodyCondition] = []) {
        self.statusCodes = statusCodes
        self.maxResponseTime = maxResponseTime
        self.body = body
    }

    /// The status condition's name, e.g. `status in [200, 204]` or `status == 2xx`.
    var statusConditionName: String {
        switch statusCodes.count {
        case 0: "status == 2xx"
        case 1: "status == \(statusCodes[0])"
        default: "status in [\(statusCodes.map(String.init).joined(separator: ", "))]"
        }
    }
}

/// A condition on a health response's body.
public struct BodyCondition: Sendable, Equatable {
    /// What is checked.
    public enum Check: Sendable, Equatable {
        /// The body contains this text.
        case contains(String)
        /// The body does not contain this text.
        case notContains(String)
        /// The JSON value at `path` (`status`, `checks.db.status`, `items[0].name`) …
        case json(path: String, JSONCondition)
    }

    public var check: Check

    public init(_ check: Check) {
        self.check = check
    }

    /// The condition as `probe_failed_condition`'s label shows it, e.g. `body.status == "ok"`.
    public var name: String {
        switch check {
        case .contains(let text): "body contains \(quoted(text))"
        case .notContains(let text): "body does not contain \(quoted(text))"
        case .json(let path, let condition): "body.\(path) \(condition.text)"
        }
    }
}

/// A comparison of a JSON value. Numbers compare numerically; `equals` compares a string with the
/// value's text (`true`, `42`, `ok`), so YAML's `equals: ok` and `equals: 200` both work.
public enum JSONCondition: Sendable, Equatable {
    case exists
    case equals(String)
    case notEquals(String)
    /// The value's text matches the regular expression (anchored at both ends, as PromQL's `=~`).
    case matches(String)
    case lessThan(Double)
    case lessOrEqual(Double)
    case greaterThan(Double)
    case greaterOrEqual(Double)

    /// Compiles a `matches` pattern as every probe does: RE2, anchored at both ends, `.` matching
    /// a newline too (`^(?s:pattern)$`, Prometheus's anchoring).
    static func compile(_ pattern: String) throws(RegularExpressionError) -> RegularExpression {
        try RegularExpression(pattern, options: .prometheus)
    }

    /// Why `pattern` cannot be a `matches` condition (RE2 rejects it, with Go's reason), or nil:
    /// configuration and the command line refuse such a pattern before any probe runs.
    public static func problem(withPattern pattern: String) -> String? {
        do {
            _ = try compile(pattern)
            return nil
        } catch {
            return "invalid regular expression \(quoted(pattern)): \(error.message)"
        }
    }

    var text: String {
        switch self {
        case .exists: "exists"
        case .equals(let v): "== \(quoted(v))"
        case .notEquals(let v): "!= \(quoted(v))"
        case .matches(let v): "=~ \(quoted(v))"
        case .lessThan(let v): "< \(formatNumber(v))"
        case .lessOrEqual(let v): "<= \(formatNumber(v))"
        case .greaterThan(let v): "> \(formatNumber(v))"
        case .greaterOrEqual(let v): ">= \(formatNumber(v))"
        }
    }
}

/// `s` in double quotes, its backslashes and quotes escaped (scalar by scalar, so a quote followed
/// by a combining mark is escaped too).
func quoted(_ s: String) -> String {
    var out = String.UnicodeScalarView()
    out.append("\"")
    for c in s.unicodeScalars {
        if c == "\\" || c == "\"" { out.append("\\") }
        out.append(c)
    }
    out.append("\"")
    return String(out)
}

func formatNumber(_ v: Double) -> String {
    v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
