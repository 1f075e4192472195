#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Query
import TimeSeries

/// Runs a `GateTestFile`: for each test, the input series are loaded as promtool loads them, the
/// rule files' groups are evaluated every `evaluation_interval` from 0 (so recording rules and
/// alerts are there for the gates to read), and each gate test's run takes its evaluations at
/// `start`, `start + interval`, … exactly as the daemon does, measuring after the rules of the same
/// instant. The run's verdict, the time of the deciding evaluation and the number of evaluations
/// are compared with the expected ones.
public enum GateTestRunner {
    /// Runs every test of `file`.
    public static func run(_ file: GateTestFile) -> GateTestResult {
        var result = GateTestResult(path: file.path, testCount: file.tests.count)
        var ruleFiles: [RuleFile] = []
        for path in file.ruleFiles {
            do { ruleFiles.append(try RuleFile.load(path: path)) } catch { result.loadErrors += error.errors.map(\.description) }
        }
        var gates: [Gate] = []
        do { gates = try GateFile.load(paths: file.gateFiles) } catch { result.loadErrors += error.errors.map(\.description) }
        guard result.loadErrors.isEmpty else { return result }
        let byName = Dictionary(gates.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for (index, test) in file.tests.enumerated() {
            let failures = run(test, index: index + 1, file: file, ruleFiles: ruleFiles, gates: byName)
            if !failures.isEmpty { result.failedTests += 1 }
            result.failures += failures
            result.gateChecks += test.gateTests.count
        }
        return result
    }

    static func run(_ test: GateTestFile.Test, index: Int, file: GateTestFile, ruleFiles: [RuleFile], gates: [String: Gate]) -> [String] {
        let name = "test \(index)" + (test.name.isEmpty ? "" : " \"\(test.name)\"")
        func at(_ p: SourcePosition) -> String { "\(file.path):\(p.line):\(p.column)" }
        var failures: [String] = []

        var runs: [GateRun] = []
        for gt in test.gateTests {
            guard let gate = gates[gt.gate] else {
                failures.append("  \(name) (\(at(gt.position))): no gate named \"\(gt.gate)\" in the gate files (\(gates.keys.sorted().joined(separator: ", ")))")
                continue
            }
            do {
                runs.append(GateRun(gate: try gate.overriding(interval: gt.interval, duration: gt.duration, timeout: gt.timeout), startedAt: gt.start))
            } catch {
                failures.append("  \(name) (\(at(gt.position))): \(error.description)")
            }
        }
        guard failures.isEmpty else { return failures }

        let ei = file.evaluationInterval
        let end = runs.map { $0.startedAt + Int64($0.gate.evaluationLimit - 1) * $0.gate.interval }.max() ?? 0
        let resolution = ([test.interval, ei] + runs.flatMap { [$0.gate.interval, $0.startedAt] }).reduce(0, gcd)
        let store: SeriesStore
        do {
            store = try TestStore.make(test.inputSeries, interval: test.interval, resolution: resolution, through: end)
        } catch {
            return ["  \(name) (\(at(test.position))): \(error.message)"]
        }
        let engine = Engine(store: store, lookback: RuleTestRunner.lookback)
        let groups = ruleFiles.flatMap { rf in
            rf.groups.map { RuleGroup($0, file: rf.path, engine: engine, defaultInterval: ei, externalLabels: Labels(), externalURL: "") }
        }
        var probes: [GateProbe] = []
        for run in runs {
            do { probes.append(try GateProbe(gate: run.gate, engine: engine)) } catch { return ["  \(name): \(error.description)"] }
        }

        var times = Set(stride(from: Int64(0), through: end, by: Int(ei)))
        for run in runs { for k in 0..<run.gate.evaluationLimit { times.insert(run.dueTime(ofIndex: k)) } }
        for t in times.sorted() {
            if t % ei == 0 {
                for g in groups {
                    for e in g.evaluate(at: t).errors { failures.append("  \(name): rule evaluation failed at \(PrometheusDuration.format(t)): \(e)") }
                }
                if !failures.isEmpty { return failures }
            }
            let firing = groups.flatMap { $0.alerts() }.filter { $0.state == .firing }
            for i in runs.indices where runs[i].isRunning {
                let k = runs[i].lastIndex + 1
                guard runs[i].dueTime(ofIndex: k) == t else { continue }
                runs[i].record(probes[i].measure(runs[i], at: t, firing: firing), index: k, at: t)
            }
        }

        for (gt, run) in zip(test.gateTests, runs) {
            let got = "\(run.verdict?.rawValue ?? "running") at \(PrometheusDuration.format(run.endedAt ?? end)) after \(run.evaluations) evaluations: \(run.reason ?? "")"
            var wrong: [String] = []
            if run.verdict != gt.expectedVerdict { wrong.append("verdict \(gt.expectedVerdict.rawValue)") }
            if let t = gt.expectedEvalTime, run.endedAt != t { wrong.append("decided at \(PrometheusDuration.format(t))") }
            if let n = gt.expectedEvaluations, run.evaluations != n { wrong.append("\(n) evaluations") }
            if let r = gt.expectedReason, !(run.reason ?? "").contains(r) { wrong.append("a reason containing \"\(r)\"") }
            if !wrong.isEmpty {
                failures.append("  \(name) (\(at(gt.position))), gate \"\(gt.gate)\":\n    expected: \(wrong.joined(separator: ", "))\n    got:      \(got)"
                                + "\n" + checkTable(run))
            }
        }
        return failures
    }

    /// Each check's counts and values, to show why a verdict came out as it did.
    static func checkTable(_ run: GateRun) -> String {
        run.checks.map { c in
            let values = c.values.map { $0.isNaN ? "_" : PrometheusFormat.float($0) }.joined(separator: " ")
            return "      \(c.must ? "must" : "should") \(c.check.name): pass \(c.passed) fail \(c.failed) no data \(c.noData) errors \(c.errors); values \(values)"
        }.joined(separator: "\n")
    }

    static func gcd(_ a: Int64, _ b: Int64) -> Int64 {
        var (x, y) = (abs(a), abs(b))
        while y != 0 { (x, y) = (y, x % y) }
        return x
    }
}

/// The outcome of one gate test file.
public struct GateTestResult: Sendable {
    public var path: String
    public var testCount: Int
    public var failedTests = 0
    public var gateChecks = 0
    /// Errors loading the rule or gate files (the tests did not run).
    public var loadErrors: [String] = []
    /// Each failure as readable text.
    public var failures: [String] = []

    public var passed: Bool { loadErrors.isEmpty && failures.isEmpty }

    /// What `agent test rules` prints for this file.
    public func report() -> String {
        if !loadErrors.isEmpty {
            return "\(path): FAILED to load the rule or gate files\n" + loadErrors.map { "  " + $0 }.joined(separator: "\n")
        }
        func count(_ n: Int, _ word: String) -> String { n == 1 ? "1 \(word)" : "\(n) \(word)s" }
        if passed { return "\(path): PASS, \(count(testCount, "test")) (\(count(gateChecks, "gate check")))" }
        return "\(path): FAIL, \(failedTests) of \(count(testCount, "test")) failed\n" + failures.joined(separator: "\n")
    }
}
