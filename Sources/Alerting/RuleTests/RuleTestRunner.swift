import Foundation
public import Query
public import TimeSeries

/// Runs a `RuleTestFile` the way `promtool test rules` does.
///
/// For each test: the input series are loaded (value *i* at *i* × `interval` from time 0), every
/// group of the rule files is evaluated at 0, `evaluation_interval`, 2 × `evaluation_interval`, …
/// up to the latest `eval_time` (group intervals are ignored, as promtool ignores them), and an
/// `alert_rule_test` at `eval_time` compares the rule's *firing* alerts after the evaluation at the
/// last step not later than `eval_time`. `promql_expr_test`s run after the last evaluation, so they
/// see what recording rules wrote. A rule that fails to evaluate fails the test, as in promtool.
public enum RuleTestRunner {
    /// Lookback of instant selectors (promtool's default).
    public static let lookback: Milliseconds = 300_000

    /// Runs every test of `file`.
    public static func run(_ file: RuleTestFile) -> RuleTestResult {
        var result = RuleTestResult(path: file.path, testCount: file.tests.count)
        var ruleFiles: [RuleFile] = []
        for path in file.ruleFiles {
            do {
                ruleFiles.append(try RuleFile.load(path: path))
            } catch {
                result.loadErrors += error.errors.map(\.description)
            }
        }
        guard result.loadErrors.isEmpty else { return result }
        for (index, test) in file.tests.enumerated() {
            let failures = run(test, index: index + 1, ruleFiles: ruleFiles, file: file)
            if !failures.isEmpty { result.failedTests += 1 }
            result.failures += failures
            result.alertChecks += test.alertTests.count
            result.exprChecks += test.exprTests.count
        }
        return result
    }

    static func run(_ test: RuleTestFile.TestGroup, index: Int, ruleFiles: [RuleFile], file: RuleTestFile) -> [RuleTestFailure] {
        let name = "test \(index)" + (test.name.isEmpty ? "" : " \"\(test.name)\"")
        let location = "\(file.path):\(test.position.line):\(test.position.column)"
        func failure(_ kind: RuleTestFailure.Kind) -> RuleTestFailure { RuleTestFailure(test: name, location: location, kind: kind) }

        let evalInterval = file.evaluationInterval
        let maxEvalTime = (test.alertTests.map(\.evalTime) + test.exprTests.map(\.evalTime)).max() ?? 0
        let store: SeriesStore
        do {
            store = try makeStore(test, evaluationInterval: evalInterval, until: maxEvalTime)
        } catch {
            return [failure(.error(error.message))]
        }
        let engine = Engine(store: store, lookback: lookback)

        // Groups in file order, or in group_eval_order when given.
        var groups: [RuleGroup] = []
        for ruleFile in ruleFiles {
            for g in ruleFile.groups {
                groups.append(RuleGroup(g, file: ruleFile.path, engine: engine, defaultInterval: evalInterval,
                                        externalLabels: test.externalLabels, externalURL: test.externalURL))
            }
        }
        if !file.groupEvalOrder.isEmpty {
            let order = Dictionary(file.groupEvalOrder.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
            groups = groups.enumerated().sorted { a, b in
                (order[a.element.name] ?? Int.max, a.offset) < (order[b.element.name] ?? Int.max, b.offset)
            }.map(\.element)
        }

        var failures: [RuleTestFailure] = []
        let alertTests = test.alertTests.enumerated().sorted { ($0.element.evalTime, $0.offset) < ($1.element.evalTime, $1.offset) }
        var next = 0
        var t: Timestamp = 0
        while t <= maxEvalTime {
            for g in groups {
                let evaluation = g.evaluate(at: t)
                for e in evaluation.errors {
                    failures.append(failure(.error("\(e), time: \(ExpressionTester.goDuration(t))")))
                }
            }
            if !failures.isEmpty { return failures }
            // Alert tests whose eval_time falls in [t, t + evaluation_interval) see this evaluation.
            while next < alertTests.count, alertTests[next].element.evalTime < t + evalInterval {
                let (k, alertTest) = alertTests[next]
                next += 1
                guard alertTest.evalTime >= t else { continue }
                let got = groups.flatMap { $0.alerts() }
                    .filter { $0.name == alertTest.alertname && $0.state == .firing }
                    .map { RuleTestFailure.AlertSummary(labels: $0.labels, annotations: Labels($0.annotations)) }
                    .sorted()
                let expected = alertTest.expected.map {
                    RuleTestFailure.AlertSummary(labels: $0.labels.setting("alertname", to: alertTest.alertname), annotations: $0.annotations)
                }.sorted()
                if got != expected {
                    failures.append(failure(.alerts(index: k + 1, alertname: alertTest.alertname, evalTime: alertTest.evalTime,
                                                    expected: expected, got: got)))
                }
            }
            t += evalInterval
        }
        for (k, exprTest) in test.exprTests.enumerated() {
            let expected = exprTest.expected.map { VectorSample(labels: $0.labels, value: $0.value) }
                .sorted { $0.labels.encoded.lexicographicallyPrecedes($1.labels.encoded) }
            let got: [VectorSample]
            do {
                got = ExpressionTester.samples(of: try engine.instant(try PromQL.parse(exprTest.expr), at: exprTest.evalTime))
            } catch {
                failures.append(failure(.exprError(index: k + 1, expr: exprTest.expr, evalTime: exprTest.evalTime, message: error.message)))
                continue
            }
            if ExpressionTester.mismatch(expected: expected, got: got) != nil {
                failures.append(failure(.samples(index: k + 1, expr: exprTest.expr, evalTime: exprTest.evalTime, expected: expected, got: got)))
            }
        }
        return failures
    }

    struct StoreError: Error {
        var message: String
    }

    /// A store holding the test's input series, fine enough for both the input interval and the
    /// evaluation interval (so every sample, input or rule output, has its own slot) and long
    /// enough for the whole test. The input is read with promtool's notation (`InputSeries`).
    static func makeStore(_ test: RuleTestFile.TestGroup, evaluationInterval: Milliseconds, until maxEvalTime: Milliseconds) throws(StoreError) -> SeriesStore {
        let resolution = gcd(test.interval, evaluationInterval)
        let steps = Int64(test.inputSeries.map(\.values.count).max() ?? 1)
        let end = max((steps - 1) * test.interval, maxEvalTime)
        let slots = end / resolution + 2
        guard slots <= 1_000_000 else {
            throw StoreError(message: "the test spans \(PrometheusDuration.format(end)) at a \(PrometheusDuration.format(resolution)) resolution (\(slots) steps); at most 1000000 are supported — use coarser intervals")
        }
        var config = StoreConfig(resolution: resolution, retention: slots * resolution)
        config.seriesLimit = max(100_000, test.inputSeries.count * 4)
        let store = SeriesStore(config: config, clock: { end })
        var problem: String?
        store.write { writer in
            for s in test.inputSeries {
                guard let ref = writer.ref(for: s.labels, kind: s.kind) else {
                    problem = "input series \(s.labels) was refused by the series limit"
                    return
                }
                for (i, v) in s.values.enumerated() {
                    let t = Int64(i) * test.interval
                    let result: AppendResult
                    switch (v, s.kind) {
                    case (.missing, _), (.stale, .distribution): continue
                    case (.value(let x), .distribution): result = writer.observe(ref, value: x, at: t)
                    case (.value(let x), _): result = writer.append(ref, value: x, at: t)
                    case (.stale, _): result = writer.append(ref, value: .staleMarker, at: t)
                    }
                    if result != .ok, problem == nil { problem = "sample \(i) of input series \(s.labels) was refused: \(result)" }
                }
            }
        }
        if let problem { throw StoreError(message: problem) }
        return store
    }

    static func gcd(_ a: Int64, _ b: Int64) -> Int64 {
        var (x, y) = (a, b)
        while y != 0 { (x, y) = (y, x % y) }
        return max(x, 1)
    }
}

/// The outcome of one test file.
public struct RuleTestResult: Sendable {
    public var path: String
    public var testCount: Int
    public var failedTests = 0
    public var alertChecks = 0
    public var exprChecks = 0
    /// Errors loading the rule files (the tests did not run).
    public var loadErrors: [String] = []
    public var failures: [RuleTestFailure] = []

    /// True when the rule files loaded and every test passed.
    public var passed: Bool { loadErrors.isEmpty && failures.isEmpty }
}

/// One failed check of a test.
public struct RuleTestFailure: Sendable {
    /// `test 2 "name"`.
    public var test: String
    /// `file:line:column` of the test.
    public var location: String
    public var kind: Kind

    public enum Kind: Sendable {
        /// The firing alerts differ from the expected ones.
        case alerts(index: Int, alertname: String, evalTime: Milliseconds, expected: [AlertSummary], got: [AlertSummary])
        /// The expression's samples differ.
        case samples(index: Int, expr: String, evalTime: Milliseconds, expected: [VectorSample], got: [VectorSample])
        /// The expression failed.
        case exprError(index: Int, expr: String, evalTime: Milliseconds, message: String)
        /// The test could not run, or a rule failed to evaluate.
        case error(String)
    }

    /// An alert as a test sees it: labels and annotations.
    public struct AlertSummary: Sendable, Equatable, Comparable {
        public var labels: Labels
        public var annotations: Labels
        public static func < (a: AlertSummary, b: AlertSummary) -> Bool {
            if a.labels != b.labels { return a.labels.encoded.lexicographicallyPrecedes(b.labels.encoded) }
            return a.annotations.encoded.lexicographicallyPrecedes(b.annotations.encoded)
        }
    }
}
