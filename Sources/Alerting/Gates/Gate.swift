import Query
public import TimeSeries

/// A rollout gate: checks evaluated every `interval` that decide whether a deployment stage may go
/// on (promote), must be rolled back (abort), or needs a person (inconclusive).
///
/// The model is Argo Rollouts' AnalysisRun with both `failureLimit` and `consecutiveSuccessLimit`
/// applicable, each must-check being one metric:
///
/// | gate            | AnalysisRun metric                                           |
/// |-----------------|--------------------------------------------------------------|
/// | `interval`      | `interval`                                                   |
/// | `duration`      | `consecutiveSuccessLimit` = ⌈duration / interval⌉ + 1        |
/// | `timeout`       | `count` = ⌊timeout / interval⌋ + 1                            |
/// | `failure_limit` | `failureLimit`                                               |
/// | `no_data_limit` | `inconclusiveLimit` (with `no_data: inconclusive`)           |
/// | `error_limit`   | `consecutiveErrorLimit` (default 4, as there)                |
///
/// The first evaluation is at the start, then one every `interval`. After each one:
/// 1. **abort** when a must-blocker (`no_alerts`) sees a firing alert, when a must-check has failed
///    more than `failure_limit` times, or when it could not be evaluated more than `error_limit`
///    times in a row (Argo's Error, which aborts a rollout too);
/// 2. **inconclusive** when a must-check has had no data more than `no_data_limit` times;
/// 3. **promote** when every must-check has held at each of its last ⌈duration / interval⌉ + 1
///    evaluations (so over at least `duration`) and at least `min_should` should-checks hold now;
/// 4. **inconclusive** at the last evaluation within `timeout` when none of that happened.
///
/// One difference from Argo: a must-check whose streak is complete goes on being evaluated (Argo
/// stops measuring a metric once it succeeded), so a canary that breaks while another check is still
/// gathering its streak is caught. Should-checks never abort; they count at the promotion.
public struct Gate: Sendable, Equatable, Codable {
    public var name: String
    /// Between two evaluations.
    public var interval: Milliseconds
    /// How long every must-check must hold before the gate promotes.
    public var duration: Milliseconds
    /// Neither promoted nor aborted by then: inconclusive.
    public var timeout: Milliseconds
    /// Evaluations a must-check may fail before the gate aborts.
    public var failureLimit: Int
    /// How an evaluation without data counts.
    public var noData: NoData
    /// Evaluations without data a must-check may have (with `no_data: inconclusive`) before the gate is inconclusive.
    public var noDataLimit: Int
    /// Evaluations in a row a must-check may fail to evaluate (a query error) before the gate aborts.
    public var errorLimit: Int
    public var must: [Check]
    public var should: [Check]
    /// Should-checks that must hold when the gate promotes.
    public var minShould: Int
    /// Verdicts announced through the notification routes as a `GateVerdict` alert.
    public var notify: [GateVerdict]
    /// Labels added to that alert (routing: `severity`, `team`, …).
    public var labels: [String: String]
    /// Where the gate is defined (`file:line:column`), for messages; empty for a gate made in code.
    public var source: String

    /// How an evaluation that found no data counts (`no_data:`).
    public enum NoData: String, Sendable, Codable, CaseIterable {
        /// Counted apart; more than `no_data_limit` make the gate inconclusive (Argo's Inconclusive measurement).
        case inconclusive
        /// As a failure (Argo: `successCondition: len(result) > 0 && …`).
        case fail
        /// As holding (Argo: `successCondition: len(result) == 0 || …`).
        case pass
    }

    /// One check: a PromQL condition or a blocker.
    public struct Check: Sendable, Equatable, Codable {
        /// What the table and messages call it (`name:`, or the expression).
        public var name: String
        public var kind: Kind

        public enum Kind: Sendable, Equatable, Codable {
            /// Holds when the expression returns at least one sample.
            case expr(String)
            /// Holds while no firing alert carries all these labels.
            case noAlerts([String: String])
        }

        public init(name: String, kind: Kind) {
            self.name = name
            self.kind = kind
        }

        /// The check as written: the expression, or `no_alerts {a="b"}`.
        public var text: String {
            switch kind {
            case .expr(let e): return e
            case .noAlerts(let labels):
                return "no_alerts {" + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ", ") + "}"
            }
        }

        public var isBlocker: Bool {
            if case .noAlerts = kind { return true }
            return false
        }
    }

    public init(name: String, interval: Milliseconds, duration: Milliseconds, timeout: Milliseconds, failureLimit: Int = 0,
                noData: NoData = .inconclusive, noDataLimit: Int = 0, errorLimit: Int = Gate.defaultErrorLimit, must: [Check],
                should: [Check] = [], minShould: Int = 0, notify: [GateVerdict] = [], labels: [String: String] = [:], source: String = "") {
        self.name = name
        self.interval = interval
        self.duration = duration
        self.timeout = timeout
        self.failureLimit = failureLimit
        self.noData = noData
        self.noDataLimit = noDataLimit
        self.errorLimit = errorLimit
        self.must = must
        self.should = should
        self.minShould = minShould
        self.notify = notify
        self.labels = labels
        self.source = source
    }

    /// Argo Rollouts' default `consecutiveErrorLimit`.
    public static let defaultErrorLimit = 4
    /// Evaluations one run may take at most (⌊timeout / interval⌋ + 1): every check keeps one value per evaluation.
    public static let maxEvaluations = 10_000
    /// Checks (must and should) one gate may have.
    public static let maxChecks = 64
    /// The shortest interval.
    public static let minInterval: Milliseconds = 1_000

    /// Consecutive holding evaluations a must-check needs: enough to span `duration`.
    public var requiredStreak: Int { Int((duration + interval - 1) / interval) + 1 }

    /// Evaluations within `timeout` (the first at the start).
    public var evaluationLimit: Int { Int(timeout / interval) + 1 }

    /// Why these timings cannot make a gate, or nil when they can.
    public static func timingProblem(interval: Milliseconds, duration: Milliseconds, timeout: Milliseconds) -> String? {
        if interval < minInterval { return "interval must be at least \(PrometheusDuration.format(minInterval))" }
        if duration < 0 || timeout < 0 { return "duration and timeout must not be negative" }
        let streak = (duration + interval - 1) / interval + 1
        let limit = timeout / interval + 1
        if limit > Int64(maxEvaluations) {
            return "timeout \(PrometheusDuration.format(timeout)) at interval \(PrometheusDuration.format(interval)) makes \(limit) evaluations; at most \(maxEvaluations) (use a longer interval)"
        }
        if streak > limit {
            return "duration \(PrometheusDuration.format(duration)) does not fit in timeout \(PrometheusDuration.format(timeout)) at interval \(PrometheusDuration.format(interval)): the gate could never promote (it needs \(streak) evaluations in a row and has \(limit))"
        }
        return nil
    }

    /// A copy with the timings a caller overrides (`agent gate --interval/--duration/--timeout`);
    /// throws the problem when the result is not a gate.
    public func overriding(interval: Milliseconds? = nil, duration: Milliseconds? = nil, timeout: Milliseconds? = nil) throws(GateError) -> Gate {
        var copy = self
        if let interval { copy.interval = interval }
        if let duration { copy.duration = duration }
        if let timeout { copy.timeout = timeout }
        if let problem = Gate.timingProblem(interval: copy.interval, duration: copy.duration, timeout: copy.timeout) {
            throw GateError(problem)
        }
        return copy
    }
}

/// What a gate decides.
public enum GateVerdict: String, Sendable, Codable, CaseIterable {
    /// Every must-check held long enough: go on to the next stage (exit status 0).
    case promote
    /// A must-check failed past its limit or a blocker fired: roll back (exit status 1).
    case abort
    /// Neither by the timeout, or too little data: a person decides (exit status 2).
    case inconclusive

    /// `agent gate`'s exit status for this verdict.
    public var exitStatus: Int32 {
        switch self {
        case .promote: 0
        case .abort: 1
        case .inconclusive: 2
        }
    }
}

/// A problem with a gate or a run, in words for the user.
public struct GateError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}
