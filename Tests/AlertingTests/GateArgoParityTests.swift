import Testing
@testable import Alerting

/// The gate decides as Argo Rollouts' AnalysisRun does for the same measurements.
///
/// Each row is a sequence of measurement phases and the limits of one AnalysisRun metric (two
/// metrics in the last rows), with the run phase and the measurement at which Argo reaches it,
/// written by hand from Argo Rollouts' documented semantics:
///
/// - docs/features/analysis.md, "Failure Conditions and Failure Limit": the run fails once the
///   failed measurements exceed `failureLimit` (`failureLimit: 3` → failed after three… i.e. the
///   fourth; default 0: no failure tolerated).
/// - ibid., "ConsecutiveSuccessLimit and FailureLimit" › "Both FailureLimit and
///   ConsecutiveSuccessLimit applicable": success after `consecutiveSuccessLimit` successful
///   measurements in a row while failures stay within `failureLimit`; when `count` is reached,
///   "failureLimit is not violated and consecutiveSuccessLimit is not satisfied: Inconclusive".
/// - ibid., "Inconclusive Runs": a measurement that meets neither condition is Inconclusive; the
///   CRD's `inconclusiveLimit` "is the maximum number of times the measurement is allowed to
///   measure Inconclusive, before the entire metric is considered Inconclusive (default: 0)".
/// - CRD `consecutiveErrorLimit`: "the maximum number of times the measurement is allowed to error
///   in succession, before the metric is considered error (default: 4)"; docs/FAQ.md: errors are
///   when the controller cannot take a measurement; an Error (like a failure) aborts the rollout
///   ("If post-promotion Analysis fails or errors, the Rollout enters an aborted state").
/// - ibid., "Handling Metric Results" › "Empty array": an empty Prometheus result is Successful
///   with `len(result) == 0 || …` (our `no_data: pass`), Failed with `len(result) > 0 && …`
///   (`no_data: fail`), and Inconclusive when it meets neither a success nor a failure condition
///   (`no_data: inconclusive`, the default).
/// - A run with several metrics ends with the worst completed phase (Failed > Error >
///   Inconclusive > Successful), and any Failed, Error or Inconclusive metric terminates it.
///
/// Counters as the controller keeps them (analysis/analysis.go): a Successful measurement adds to
/// `consecutiveSuccess`, any other phase resets it; Error does not advance `count`. Sequences that
/// reach `count` therefore hold no Error, since the gate's timeout is a clock and counts every
/// evaluation. Gate parameters: `interval` 1m, `duration` (R − 1)m so that the required streak is
/// R, `timeout` (C − 1)m so that the evaluation limit is C.
@Suite("Gates decide as Argo Rollouts' AnalysisRun")
struct GateArgoParityTests {
    /// One metric's measurements: S successful, F failed, I inconclusive (no data), E error.
    struct Row: CustomTestStringConvertible, Sendable {
        var why: String
        var metrics: [String]
        var failureLimit = 0, inconclusiveLimit = 0, errorLimit = 4
        var successLimit: Int
        var count: Int
        var noData = Gate.NoData.inconclusive
        /// Argo's run phase: Successful, Failed, Error or Inconclusive.
        var phase: String
        /// The measurement (1-based) that completes the run.
        var at: Int
        var testDescription: String { why }
    }

    static let rows: [Row] = [
        Row(why: "R successes in a row", metrics: ["SSSS"], successLimit: 4, count: 10, phase: "Successful", at: 4),
        Row(why: "failureLimit 0: the first failure fails", metrics: ["FSSSS"], successLimit: 4, count: 10, phase: "Failed", at: 1),
        Row(why: "a failure within the limit", metrics: ["FSSSS"], failureLimit: 1, successLimit: 4, count: 10, phase: "Successful", at: 5),
        Row(why: "failures past the limit", metrics: ["SFSFSF"], failureLimit: 2, successLimit: 4, count: 10, phase: "Failed", at: 6),
        Row(why: "a failure resets the streak", metrics: ["SSSFSSSS"], failureLimit: 3, successLimit: 4, count: 10, phase: "Successful", at: 8),
        Row(why: "inconclusiveLimit 0", metrics: ["SSI"], successLimit: 4, count: 10, phase: "Inconclusive", at: 3),
        Row(why: "an inconclusive within the limit resets the streak", metrics: ["SISSSS"], inconclusiveLimit: 1, successLimit: 4, count: 10,
            phase: "Successful", at: 6),
        Row(why: "five errors in a row", metrics: ["SSEEEEE"], successLimit: 4, count: 10, phase: "Error", at: 7),
        Row(why: "errors interrupted by a success", metrics: ["EEEESEEEESS"], successLimit: 2, count: 20, phase: "Successful", at: 11),
        Row(why: "consecutiveErrorLimit 1", metrics: ["SEE"], errorLimit: 1, successLimit: 4, count: 10, phase: "Error", at: 3),
        Row(why: "count reached without the streak", metrics: ["SSFSSFSSF"], failureLimit: 5, successLimit: 4, count: 9,
            phase: "Inconclusive", at: 9),
        Row(why: "the streak completes at the count", metrics: ["FSSS"], failureLimit: 1, successLimit: 3, count: 4, phase: "Successful", at: 4),
        Row(why: "a failure at the count", metrics: ["SSF"], successLimit: 3, count: 3, phase: "Failed", at: 3),
        Row(why: "an inconclusive at the count", metrics: ["SSI"], successLimit: 3, count: 3, phase: "Inconclusive", at: 3),
        Row(why: "inconclusives and failures within their limits", metrics: ["ISIFSSS"], failureLimit: 1, inconclusiveLimit: 2, successLimit: 3,
            count: 10, phase: "Successful", at: 7),
        Row(why: "empty results with len(result) == 0 || …", metrics: ["III"], successLimit: 3, count: 10, noData: .pass, phase: "Successful", at: 3),
        Row(why: "empty results with len(result) > 0 && …", metrics: ["SI"], successLimit: 3, count: 10, noData: .fail, phase: "Failed", at: 2),
        Row(why: "empty results within failureLimit", metrics: ["ISISSS"], failureLimit: 2, successLimit: 3, count: 10, noData: .fail,
            phase: "Successful", at: 6),
        Row(why: "two metrics: the later streak decides", metrics: ["SSSSSSS", "SSFSSSS"], failureLimit: 1, successLimit: 4, count: 10,
            phase: "Successful", at: 7),
        Row(why: "two metrics: Failed is worse than Inconclusive", metrics: ["SSI", "SFF"], failureLimit: 1, successLimit: 4, count: 10,
            phase: "Failed", at: 3),
        Row(why: "two metrics: one Successful, one Inconclusive", metrics: ["SSSS", "SSSI"], successLimit: 4, count: 10,
            phase: "Inconclusive", at: 4),
        Row(why: "two metrics: an error run ends it", metrics: ["SSSSSS", "EEEEE"], successLimit: 6, count: 10, phase: "Error", at: 5),
    ]

    @Test("the gate's verdict and deciding evaluation", arguments: rows)
    func sameDecision(_ row: Row) {
        let (verdict, at) = Self.run(row)
        let expected: GateVerdict = switch row.phase {
        case "Successful": .promote
        case "Inconclusive": .inconclusive
        default: .abort  // Failed and Error both abort the rollout
        }
        #expect(verdict == expected)
        #expect(at == row.at)
    }

    /// Feeds the row's measurements to a gate with one must-check per metric.
    static func run(_ row: Row) -> (GateVerdict?, Int) {
        let checks = row.metrics.indices.map { Gate.Check(name: "m\($0)", kind: .expr("m\($0)")) }
        let gate = Gate(name: "g", interval: 60_000, duration: Int64(row.successLimit - 1) * 60_000, timeout: Int64(row.count - 1) * 60_000,
                        failureLimit: row.failureLimit, noData: row.noData, noDataLimit: row.inconclusiveLimit, errorLimit: row.errorLimit,
                        must: checks)
        #expect(gate.requiredStreak == row.successLimit)
        #expect(gate.evaluationLimit == row.count)
        var run = GateRun(gate: gate, startedAt: 0)
        let length = row.metrics.map(\.count).max() ?? 0
        for k in 0..<length {
            let measurements = row.metrics.map { m -> GateRun.Measurement in
                let c = Array(m)
                switch k < c.count ? c[k] : "S" {
                case "S": return GateRun.Measurement(.pass, value: 1)
                case "F": return GateRun.Measurement(.fail, value: 0)
                case "I": return GateRun.Measurement(.noData)
                default: return GateRun.Measurement(.error, message: "boom")
                }
            }
            if let v = run.record(measurements, index: k, at: Int64(k) * 60_000) { return (v, k + 1) }
        }
        return (nil, length)
    }

    /// Where the gate knowingly differs: Argo stops measuring a metric once it succeeded, the gate
    /// goes on evaluating it until every must-check is done, so a check that breaks meanwhile aborts.
    /// (Argo: the first metric succeeds at 3 and is no longer measured, the second succeeds at 5.)
    @Test func aCompletedCheckThatBreaksStillAborts() {
        let (verdict, at) = Self.run(Row(why: "", metrics: ["SSSFF", "SFSSSSS"], failureLimit: 1, successLimit: 3, count: 10, phase: "", at: 0))
        #expect(verdict == .abort)
        #expect(at == 5)
    }

    /// Should-checks never abort; they must hold (`min_should`) at the promotion, else the gate waits
    /// and is inconclusive at the timeout.
    @Test func shouldChecksHoldBackPromotionUntilTheTimeout() {
        let gate = Gate(name: "g", interval: 60_000, duration: 60_000, timeout: 180_000, must: [Gate.Check(name: "m", kind: .expr("m"))],
                        should: [Gate.Check(name: "s", kind: .expr("s"))], minShould: 1)
        var run = GateRun(gate: gate, startedAt: 0)
        let pass = GateRun.Measurement(.pass, value: 1), fail = GateRun.Measurement(.fail, value: 0)
        #expect(run.record([pass, fail], index: 0, at: 0) == nil)
        #expect(run.record([pass, fail], index: 1, at: 60_000) == nil)
        #expect(run.record([pass, pass], index: 2, at: 120_000) == .promote)
        var late = GateRun(gate: gate, startedAt: 0)
        for k in 0..<3 { #expect(late.record([pass, fail], index: k, at: Int64(k) * 60_000) == nil) }
        #expect(late.record([pass, fail], index: 3, at: 180_000) == .inconclusive)
        #expect(late.reason?.contains("0 of 1 should-checks hold (min_should 1)") == true)
    }

    /// A firing blocker aborts at once, whatever the failure limit.
    @Test func aBlockerAbortsAtOnce() {
        let gate = Gate(name: "g", interval: 60_000, duration: 600_000, timeout: 1_800_000, failureLimit: 5,
                        must: [Gate.Check(name: "m", kind: .expr("m")), Gate.Check(name: "b", kind: .noAlerts(["gate": "canary"]))])
        var run = GateRun(gate: gate, startedAt: 0)
        #expect(run.record([GateRun.Measurement(.pass, value: 1), GateRun.Measurement(.pass, value: 0)], index: 0, at: 0) == nil)
        #expect(run.record([GateRun.Measurement(.pass, value: 1), GateRun.Measurement(.fail, value: 1, message: "X firing")], index: 1, at: 60_000) == .abort)
        #expect(run.reason == "blocker must-check 2 \"b\" fired: X firing")
    }

    /// After a pause the run goes on with the latest evaluation due; missed ones count as nothing,
    /// and a run whose last evaluation was missed is inconclusive.
    @Test func aPausedRunResumesWithTheLatestDueEvaluation() {
        let gate = Gate(name: "g", interval: 10_000, duration: 30_000, timeout: 100_000, must: [Gate.Check(name: "m", kind: .expr("m"))])
        var run = GateRun(gate: gate, startedAt: 1_000)
        #expect(run.due(now: 999) == .nothing)
        #expect(run.due(now: 1_000) == .evaluate(index: 0))
        run.record([GateRun.Measurement(.pass, value: 1)], index: 0, at: 1_200)
        #expect(run.due(now: 10_999) == .nothing)
        #expect(run.nextEvaluation == 11_000)
        #expect(run.due(now: 11_000) == .evaluate(index: 1))
        #expect(run.due(now: 45_000) == .evaluate(index: 4))
        run.record([GateRun.Measurement(.pass, value: 1)], index: 4, at: 45_000)
        #expect(run.checks[0].streak == 2)
        #expect(run.nextEvaluation == 51_000)
        #expect(run.due(now: 110_999) == .evaluate(index: 10))
        #expect(run.due(now: 111_000) == .expired)
        run.expire(at: 200_000)
        #expect(run.verdict == .inconclusive)
        #expect(run.due(now: 200_000) == .nothing)
        #expect(run.nextEvaluation == nil)
    }
}
