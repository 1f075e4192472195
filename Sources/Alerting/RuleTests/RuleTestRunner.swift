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

/// Runs a `RuleTestFile` the way `promtool test rules` (Prometheus 3) does.
///
/// For each test: evaluations run at `start_timestamp` + 0, `evaluation_interval`, 2 ×
/// `evaluation_interval`, … up to the latest `eval_time`; before each one, the input samples up
/// to that time are added (value *i* at `start_timestamp` + *i* × `interval`), so a recording rule
/// may write a series the inputs also name, as with promtool's lazy loader. Every group of the
/// rule files is evaluated at each step (group intervals are ignored, as promtool ignores them),
/// in file order or `group_eval_order`. An `alert_rule_test` at `eval_time` compares the *firing*
/// alerts of every rule with that name after the evaluation at the last step not later than
/// `eval_time`. `promql_expr_test`s run after the last evaluation, so they see what recording
/// rules wrote. A rule that fails to evaluate fails the test. Sample values compare exactly, or
/// within one unit in the last place with `fuzzy_compare`.
public enum RuleTestRunner {
    /// Lookback of instant selectors (promtool's default).
    public static let lookback: Milliseconds = 300_000

    /// How to run: which tests, and how rule files are read.
    public struct Options: Sendable {
        /// Only tests whose `name` matches one of these regular expressions run (promtool's
        /// `--run`, unanchored as Go's `MatchString`); empty runs all.
        public var run: [String]
        /// Skip unknown keys in rule files (promtool's `--ignore-unknown-fields`).
        public var ignoreUnknownFields: Bool

        /// Options; throws a message naming the `run` pattern that is not a valid regular expression.
        public init(run: [String] = [], ignoreUnknownFields: Bool = false) throws(RuleFileError) {
            for pattern in run {
                do {
                    _ = try TemplateFunctions.compile(pattern)
                } catch {
                    throw RuleFileError(path: "--run", line: 0, column: 0, message: error.message)
                }
            }
            self.run = run
            self.ignoreUnknownFields = ignoreUnknownFields
        }

        /// Every test, rule files read strictly.
        public static let all = Options(checked: [], ignoreUnknownFields: false)

        init(checked run: [String], ignoreUnknownFields: Bool) {
            self.run = run
            self.ignoreUnknownFields = ignoreUnknownFields
        }

        func selects(_ name: String) -> Bool {
            guard !run.isEmpty else { return true }
            return (try? TemplateFunctions.match(pattern: run.joined(separator: "|"), in: name)) ?? false
        }
    }

    /// Runs every test of `file`.
    public static func run(_ file: RuleTestFile, options: Options = .all) -> RuleTestResult {
        var result = RuleTestResult(path: file.path, testCount: 0)
        var ruleFiles: [RuleFile] = []
        for path in file.ruleFiles {
            do {
                ruleFiles.append(try RuleFile.load(path: path, ignoringUnknownKeys: options.ignoreUnknownFields))
            } catch {
                result.loadErrors += error.errors.map(\.description)
            }
        }
        guard result.loadErrors.isEmpty else { return result }
        for (index, test) in file.tests.enumerated() {
            if !options.selects(test.name) { continue }
            result.testCount += 1
            let failures = run(test, index: index + 1, ruleFiles: ruleFiles, file: file)
            result.tests.append((name: test.name.isEmpty ? "unnamed#\(index)" : test.name, failures: failures.count))
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
        let start = test.startTimestamp
        let (last, overflow) = start.addingReportingOverflow(maxEvalTime)
        guard !overflow else { return [failure(.error("start_timestamp + eval_time overflows"))] }
        var input: InputLoader
        do {
            input = try InputLoader(test, evaluationInterval: evalInterval, start: start, through: last)
        } catch {
            return [failure(.error(error.message))]
        }
        var engine = Engine(store: input.store, lookback: lookback)
        // promtool's subqueries without a step use the evaluation interval.
        engine.defaultSubqueryStep = evalInterval

        // Groups in file order, or in group_eval_order when given.
        var groups: [RuleGroup] = []
        for ruleFile in ruleFiles {
            for g in ruleFile.groups {
                groups.append(RuleGroup(g, file: ruleFile.path, engine: engine, defaultInterval: test.interval,
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
        var t = start
        while t <= last {
            if let problem = input.load(through: t) { return [failure(.error(problem))] }
            for g in groups {
                let evaluation = g.evaluate(at: t)
                for e in evaluation.errors {
                    failures.append(failure(.error("\(e), time: \(ExpressionTester.goDuration(t - start))")))
                }
            }
            if !failures.isEmpty { return failures }
            // Alert tests whose eval_time falls in [t, t + evaluation_interval) see this evaluation.
            let elapsed = t - start
            while next < alertTests.count, alertTests[next].element.evalTime < elapsed + evalInterval {
                let (k, alertTest) = alertTests[next]
                next += 1
                guard alertTest.evalTime >= elapsed else { continue }
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
            let (stepped, overflow) = t.addingReportingOverflow(evalInterval)
            if overflow { break }
            t = stepped
        }
        for (k, exprTest) in test.exprTests.enumerated() {
            let expected = exprTest.expected.map { VectorSample(labels: $0.labels, value: $0.value) }
                .sorted { $0.labels.encoded.lexicographicallyPrecedes($1.labels.encoded) }
            let got: [VectorSample]
            do {
                got = ExpressionTester.samples(of: try engine.instant(try PromQL.parse(exprTest.expr), at: start + exprTest.evalTime))
            } catch {
                failures.append(failure(.exprError(index: k + 1, expr: exprTest.expr, evalTime: exprTest.evalTime, message: error.message)))
                continue
            }
            if !samplesMatch(expected, got, fuzzy: file.fuzzyCompare) {
                failures.append(failure(.samples(index: k + 1, expr: exprTest.expr, evalTime: exprTest.evalTime, expected: expected, got: got)))
            }
        }
        return failures
    }

    /// promtool's comparison: the same labels and values, exactly, or one unit in the last place
    /// apart with `fuzzy_compare`. NaN matches NaN (promtool's never does; an expected NaN is an
    /// expectation, not a way to make a test fail).
    static func samplesMatch(_ expected: [VectorSample], _ got: [VectorSample], fuzzy: Bool) -> Bool {
        guard expected.count == got.count else { return false }
        for (e, g) in zip(expected, got) {
            guard e.labels == g.labels, valuesMatch(e.value, g.value, fuzzy: fuzzy) else { return false }
        }
        return true
    }

    static func valuesMatch(_ a: Double, _ b: Double, fuzzy: Bool) -> Bool {
        if a.isNaN || b.isNaN { return a.isNaN && b.isNaN }
        if a == b { return true }
        return fuzzy && (a.nextUp == b || a.nextDown == b)
    }

    struct StoreError: Error {
        var message: String
    }

    /// The test's input series, added to a store step by step as the evaluation advances.
    ///
    /// The store is fine enough for both the input interval and the evaluation interval (so every
    /// sample, input or rule output, has its own slot) and long enough for the whole test.
    struct InputLoader {
        let store: SeriesStore
        let series: [InputSeries]
        let start: Timestamp
        let interval: Milliseconds
        /// Per series: its reference once created, and the index of its next value.
        var refs: [SeriesRef?]
        var nextValue: [Int]

        init(_ test: RuleTestFile.TestGroup, evaluationInterval: Milliseconds, start: Timestamp, through last: Timestamp) throws(StoreError) {
            let resolution = RuleTestRunner.gcd(test.interval, evaluationInterval)
            let steps = Int64(test.inputSeries.map(\.values.count).max() ?? 1)
            let (inputSpan, o1) = (steps - 1).multipliedReportingOverflow(by: test.interval)
            let span = o1 ? Int64.max : max(inputSpan, last - start)
            let slots = span / resolution + 2
            guard slots <= 1_000_000 else {
                throw StoreError(message: "the test spans \(PrometheusDuration.format(span)) at a \(PrometheusDuration.format(resolution)) resolution (\(slots) steps); at most 1000000 are supported — use coarser intervals")
            }
            var config = StoreConfig(resolution: resolution, retention: slots * resolution)
            config.seriesLimit = max(100_000, test.inputSeries.count * 4)
            let end = start + span
            store = SeriesStore(config: config, clock: { end })
            series = test.inputSeries
            self.start = start
            interval = test.interval
            refs = Array(repeating: nil, count: series.count)
            nextValue = Array(repeating: 0, count: series.count)
        }

        /// Adds every input sample at or before `t` not added yet; returns a problem, if any.
        mutating func load(through t: Timestamp) -> String? {
            var problem: String?
            let (series, start, interval) = (self.series, self.start, self.interval)
            var refs = self.refs, nextValue = self.nextValue
            store.write { writer in
                for (k, s) in series.enumerated() {
                    var i = nextValue[k]
                    guard i < s.values.count, start + Int64(i) * interval <= t else { continue }
                    if refs[k] == nil {
                        guard let ref = writer.ref(for: s.labels, kind: s.kind) else {
                            problem = "input series \(s.labels) was refused by the series limit"
                            return
                        }
                        refs[k] = ref
                    }
                    let ref = refs[k]!
                    while i < s.values.count {
                        let at = start + Int64(i) * interval
                        guard at <= t else { break }
                        let result: AppendResult
                        switch (s.values[i], s.kind) {
                        case (.missing, _), (.stale, .distribution): result = .ok
                        case (.value(let x), .distribution): result = writer.observe(ref, value: x, at: at)
                        case (.value(let x), _): result = writer.append(ref, value: x, at: at)
                        case (.stale, _): result = writer.append(ref, value: .staleMarker, at: at)
                        }
                        if result != .ok, problem == nil { problem = "sample \(i) of input series \(s.labels) was refused: \(result)" }
                        i += 1
                    }
                    nextValue[k] = i
                }
            }
            self.refs = refs
            self.nextValue = nextValue
            return problem
        }
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
    /// Tests run (those `--run` selected).
    public var testCount: Int
    /// Each test run, by name (`unnamed#N` without one, as promtool's JUnit report names it), and its failures.
    public var tests: [(name: String, failures: Int)] = []
    public var failedTests = 0
    public var alertChecks = 0
    public var exprChecks = 0
    /// Errors loading the rule files (the tests did not run).
    public var loadErrors: [String] = []
    public var failures: [RuleTestFailure] = []

    public init(path: String, testCount: Int, loadErrors: [String] = []) {
        self.path = path
        self.testCount = testCount
        self.loadErrors = loadErrors
    }

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
