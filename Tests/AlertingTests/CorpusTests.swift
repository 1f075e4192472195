import Foundation
import Testing
import TimeSeries
@testable import Alerting

/// Public rule files from Debian's registry, fetched at test time by scripts/rule-files-deps.sh
/// (`make test-deps`) and never committed: Ceph's alert rules (ceph-prometheus-alerts), whose
/// templates use `range`, `query` and friends, load as promtool loads them.
@Suite("Public rule files from packages")
struct PackagedRuleFilesTests {
    static let ceph = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build/rule-files/ceph/ceph_default_alerts.yml").path

    @Test("Ceph's alert rules (Debian's ceph-prometheus-alerts) load, as promtool check rules accepts them")
    func cephAlertsLoad() throws {
        #expect(FileManager.default.fileExists(atPath: Self.ceph), "missing: run scripts/rule-files-deps.sh (make test-deps)")
        let file = try RuleFile.load(path: Self.ceph)
        #expect(file.ruleCounts.alerting >= 50)
        let promtool = try #require(PromtoolParityTests.promtool(), "promtool is missing: apt-get install prometheus (make test-deps)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: promtool)
        process.arguments = ["check", "rules", Self.ceph]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }
}

/// Whether the local copy of the public corpus exists.
enum LocalCorpus {
    static var present: Bool { FileManager.default.fileExists(atPath: CorpusTests.root + "/prometheus") }
}

/// The public corpus measured locally (README's Compatibility section): rule files and promtool
/// suites nobody here wrote, fetched into `.corpus/` by scripts/import-rules-corpus.sh and never
/// committed, so these run only where that copy exists. Every rule file the real promtool
/// accepts, the agent accepts; every suite gives the verdict scripts/rules-corpus-suites.tsv
/// records (its project's CI or Prometheus's own test code, Prometheus 3 semantics); a suite whose
/// expectation is made wrong fails.
@Suite("Public corpus (local .corpus/)", .serialized, .enabled(if: LocalCorpus.present, "no .corpus/: scripts/import-rules-corpus.sh fetches it"))
struct CorpusTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    // Resolved: .corpus may be a symlink to another worktree's copy, and a directory listing does not follow one.
    static let root = repository.appendingPathComponent(".corpus").resolvingSymlinksInPath().path

    /// One line of suites.tsv.
    struct Run: CustomTestStringConvertible, Sendable {
        var suite: String
        var options: [String]
        var expected: String
        var decidedBy: String
        var promtool: String
        var agent: String
        var note: String
        var testDescription: String { options.isEmpty ? suite : "\(suite) \(options.joined(separator: " "))" }
    }

    /// Suites promtool takes long over (95 s and 19 s here): its recorded verdict for them is
    /// re-checked live only with AGENT_CORPUS_FULL=1, so that `make test` stays quick.
    static let slowUnderPromtool: Set<String> = ["kubernetes-mixin/tests/tests.yaml", "govuk/search_api_v2_tests.yaml"]
    static var checkSlowSuites: Bool { ProcessInfo.processInfo.environment["AGENT_CORPUS_FULL"] == "1" }

    static let runs: [Run] = {
        guard let text = try? String(contentsOfFile: repository.appendingPathComponent("scripts/rules-corpus-suites.tsv").path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            return Run(suite: f[0], options: f[1] == "-" ? [] : f[1].split(separator: " ").map(String.init), expected: f[2],
                       decidedBy: f[3], promtool: f[4], agent: f[5], note: f[6])
        }
    }()

    /// Every YAML file of the corpus, relative to its root.
    static func yamlFiles() throws -> [String] {
        let all = try FileManager.default.subpathsOfDirectory(atPath: root)
        return all.filter { $0.hasSuffix(".yml") || $0.hasSuffix(".yaml") }.sorted()
    }

    /// A unit-test file has a top-level `tests:` key.
    static func isSuite(_ path: String) throws -> Bool {
        try String(contentsOfFile: root + "/" + path, encoding: .utf8).split(separator: "\n").contains { $0.hasPrefix("tests:") }
    }

    static func agentVerdict(_ path: String, options: [String]) throws -> (passed: Bool, report: String) {
        var run: [String] = []
        var ignoreUnknownFields = false
        for o in options {
            if o.hasPrefix("--run=") { run.append(String(o.dropFirst(6))) } else if o == "--ignore-unknown-fields" { ignoreUnknownFields = true }
        }
        do {
            let result = RuleTestRunner.run(try RuleTestFile.load(path: path), options: try RuleTestRunner.Options(run: run, ignoreUnknownFields: ignoreUnknownFields))
            return (result.passed, result.report())
        } catch let error as RuleFileErrors {
            return (false, error.description)
        }
    }

    @Test("the manifest is consistent: every suite of the corpus is listed, every difference has its reason")
    func manifest() throws {
        #expect(Self.runs.count >= 45)
        let suites = try Self.yamlFiles().filter(Self.isSuite)
        let listed = Set(Self.runs.map(\.suite))
        #expect(Set(suites) == listed, "listed but missing: \(listed.subtracting(suites)); not listed: \(Set(suites).subtracting(listed))")
        for r in Self.runs {
            #expect(["pass", "fail"].contains(r.expected) && ["pass", "fail"].contains(r.agent) && ["pass", "fail", "-"].contains(r.promtool), "\(r)")
            if r.agent != r.expected { #expect(r.note.hasPrefix("deviation:"), "\(r.testDescription): the agent differs from \(r.decidedBy) without a reason") }
            if r.promtool != "-", r.promtool != r.expected { #expect(r.note != "-", "\(r.testDescription): promtool 2.42 differs without a reason") }
        }
    }

    @Test("every rule file promtool accepts, the agent accepts (and refuses only what promtool refuses)")
    func ruleFiles() throws {
        let files = try Self.yamlFiles().filter { try !Self.isSuite($0) }
        #expect(files.count >= 350)
        let promtool = try #require(PromtoolParityTests.promtool(), "promtool is missing: apt-get install prometheus (make test-deps)")
        // One promtool for all files: a file passed when its "Checking" line is followed by "SUCCESS".
        let process = Process()
        process.executableURL = URL(fileURLWithPath: promtool)
        process.arguments = ["check", "rules", "--lint=none"] + files
        process.currentDirectoryURL = URL(fileURLWithPath: Self.root)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        var accepted = Set<String>()
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
        for (i, line) in lines.enumerated() where line.hasPrefix("Checking ") && i + 1 < lines.count && lines[i + 1].hasPrefix("  SUCCESS") {
            accepted.insert(String(line.dropFirst("Checking ".count)))
        }
        #expect(accepted.count >= 350, "\(output.prefix(2000))")
        var agentAccepted = 0
        for file in files {
            let ours: String?
            do {
                _ = try RuleFile.load(path: Self.root + "/" + file)
                ours = nil
                agentAccepted += 1
            } catch {
                ours = error.description
            }
            if accepted.contains(file) {
                #expect(ours == nil, "promtool accepts \(file); the agent refuses it:\n\(ours ?? "")")
            } else {
                #expect(ours != nil, "promtool refuses \(file); the agent accepts it")
            }
        }
        #expect(agentAccepted == accepted.count)
    }

    @Test("every suite gives its recorded verdict; the packaged promtool still gives the one recorded for it", arguments: runs)
    func suite(_ run: Run) throws {
        let path = Self.root + "/" + run.suite
        let (passed, report) = try Self.agentVerdict(path, options: run.options)
        #expect((passed ? "pass" : "fail") == run.agent, "\(run.testDescription): expected \(run.agent) (\(run.note))\n\(report.prefix(3000))")
        if run.promtool != "-", Self.checkSlowSuites || !Self.slowUnderPromtool.contains(run.suite) {
            let (promtoolPassed, output) = try PromtoolParityTests.promtoolPasses(path)
            #expect((promtoolPassed ? "pass" : "fail") == run.promtool, "promtool 2.42 on \(run.testDescription): \(output.prefix(2000))")
        }
    }

    /// A deliberately wrong expectation: the first expected value, else the first severity, else
    /// the first empty list of expected alerts, changed.
    static func mutate(_ text: String) -> String? {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        func change(_ key: String, _ accept: (String) -> Bool, _ replacement: (String) -> String) -> Bool {
            for (i, line) in lines.enumerated() {
                let indent = line.prefix { $0 == " " || $0 == "-" }
                let rest = line.dropFirst(indent.count)
                guard rest.hasPrefix(key + ":") else { continue }
                let value = rest.dropFirst(key.count + 1).trimmingCharacters(in: .whitespaces)
                guard accept(value) else { continue }
                lines[i] = indent + key + ": " + replacement(value)
                return true
            }
            return false
        }
        if change("value", { Double($0) != nil }, { $0 == "1" ? "2" : "1" })
            || change("severity", { !$0.isEmpty && !$0.contains("{") }, { _ in "mutated" })
            || change("exp_alerts", { $0 == "[]" }, { _ in "[{exp_labels: {mutated: x}}]" }) {
            return lines.joined(separator: "\n")
        }
        return nil
    }

    @Test("a corpus suite with a deliberately wrong expectation fails, under the agent and under promtool")
    func wrongExpectationsFail() throws {
        // The smallest passing suites of every collection (the big ones run once above): quick, and each collection is covered.
        let passing = Self.runs.filter { $0.agent == "pass" && $0.options.isEmpty }
        #expect(passing.count >= 30)
        func size(_ r: Run) -> Int { (try? FileManager.default.attributesOfItem(atPath: Self.root + "/" + r.suite)[.size] as? Int) ?? 0 }
        let chosen = Dictionary(grouping: passing.sorted { size($0) < size($1) }, by: { $0.suite.split(separator: "/").first! })
            .values.flatMap { $0.prefix(5) }.sorted { $0.suite < $1.suite }
        var mutated = 0
        for run in chosen {
            let original = try String(contentsOfFile: Self.root + "/" + run.suite, encoding: .utf8)
            guard let changed = Self.mutate(original), changed != original else { continue }
            // A copy of the collection, so the suite's relative rule files come along.
            let collection = String(run.suite.split(separator: "/").first!)
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corpus-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            try FileManager.default.copyItem(atPath: Self.root + "/" + collection, toPath: dir.appendingPathComponent(collection).path)
            let target = dir.appendingPathComponent(run.suite).path
            try changed.write(toFile: target, atomically: true, encoding: .utf8)
            let (passed, _) = try Self.agentVerdict(target, options: [])
            #expect(!passed, "\(run.suite) with a wrong expectation passed")
            if run.promtool == "pass", Self.checkSlowSuites || !Self.slowUnderPromtool.contains(run.suite) {
                let (promtoolPassed, _) = try PromtoolParityTests.promtoolPasses(target)
                #expect(!promtoolPassed, "promtool passed \(run.suite) with a wrong expectation: the mutation is not one")
            }
            mutated += 1
        }
        #expect(mutated >= 12)
    }
}
