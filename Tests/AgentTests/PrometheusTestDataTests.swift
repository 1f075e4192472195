import Foundation
import Testing

/// Prometheus's own rule-file test data (cmd/promtool/testdata, model/rulefmt/testdata,
/// rules/fixtures of Prometheus 2.42), from Debian's `prometheus` source package, fetched at test
/// time by scripts/prometheus-testdata-deps.sh (`make test-deps`) and never committed. The real
/// promtool 2.42 (Debian's `prometheus`) runs beside the agent and decides: every rule file gets
/// the same accept/refuse verdict from `agent check rules` as from `promtool check rules`, every
/// unit-test suite the same pass/fail verdict from `agent test rules` as from `promtool test rules`
/// — except the expectations `differences` lists, where Prometheus 3's semantics (the agent's)
/// give another answer than promtool 2.42's (docs/rules.md, Compatibility, has the same list).
@Suite("Prometheus 2.42's test data: the agent and promtool agree", .serialized)
struct PrometheusTestDataTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build/rule-files/prometheus-2.42")
    static let directories = ["cmd/promtool/testdata", "model/rulefmt/testdata", "rules/fixtures"]
    static let missing = "missing: run scripts/prometheus-testdata-deps.sh (make test-deps)"

    /// Expectations of a 2.42 suite that Prometheus 3 changed in its own copy of the file, because
    /// its semantics give other values: each edited line as 2.42 has it and as Prometheus 3 has it.
    struct Difference: Sendable {
        struct Edit: Sendable {
            var line: Int
            var promtool2: String
            var prometheus3: String
        }
        var suite: String
        var edits: [Edit]
        var reason: String
    }

    /// Where Prometheus 3 (the agent) and promtool 2.42 give different verdicts, and why. The edits
    /// are the ones Prometheus 3's `cmd/promtool/testdata/unittest.yml` made.
    static let differences: [Difference] = [
        Difference(suite: "cmd/promtool/testdata/unittest.yml",
                   edits: [.init(line: 46, promtool2: "eval_time: 5m", prometheus3: "eval_time: 4m59s"),
                           .init(line: 50, promtool2: "eval_time: 5m1s", prometheus3: "eval_time: 5m")],
                   reason: "left-open lookback (t − 5m, t]: test_missing's one sample, at 0, is last seen at 4m59s and gone at 5m; 2.42 still sees it at 5m"),
        Difference(suite: "cmd/promtool/testdata/unittest.yml",
                   edits: [.init(line: 70, promtool2: "- value: 61", prometheus3: "- value: 60")],
                   reason: "left-open range window (0, 1h]: count_over_time(fixed_data[1h]) at 1h counts 60 evaluations, 2.42 counts 61"),
        Difference(suite: "cmd/promtool/testdata/unittest.yml",
                   edits: [.init(line: 140, promtool2: "- value: 61", prometheus3: "- value: 60")],
                   reason: "left-open range window: count_over_time(test[1m]) over 1 s samples at 1m counts 60, 2.42 counts 61"),
        Difference(suite: "cmd/promtool/testdata/unittest.yml",
                   edits: [.init(line: 151, promtool2: "- value: 61", prometheus3: "- value: 60")],
                   reason: "left-open range window: the same recording rule at 2m counts 60, 2.42 counts 61"),
    ]

    /// What a YAML file of the test data is, told by its content: a promtool unit-test suite
    /// (top-level `tests:`), a Prometheus configuration (a top-level key of prometheus.yml), a
    /// file_sd target list (a top-level sequence), else a rule file, good or bad.
    enum Kind: Equatable { case ruleFile, suite, prometheusConfig, serviceDiscovery }

    static let configurationKeys: Set<String> = [
        "global", "scrape_configs", "scrape_config_files", "rule_files", "alerting", "remote_write",
        "remote_read", "storage", "tracing", "runtime", "otlp",
    ]

    static func kind(of text: String) -> Kind {
        let lines = text.split(whereSeparator: \.isNewline).map(String.init).filter {
            let t = $0.trimmingCharacters(in: .whitespaces)
            return !t.isEmpty && !t.hasPrefix("#") && t != "---"
        }
        if let first = lines.first, first.hasPrefix("-") { return .serviceDiscovery }
        let keys = Set(lines.compactMap { line -> String? in
            guard let c = line.first, c != " ", c != "\t", let colon = line.firstIndex(of: ":") else { return nil }
            return String(line[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "\"' "))
        })
        if keys.contains("tests") { return .suite }
        if !keys.isDisjoint(with: configurationKeys) { return .prometheusConfig }
        return .ruleFile
    }

    /// Every YAML file of the three directories, relative to `root`, with its kind.
    static func files() -> [(path: String, kind: Kind)] {
        directories.flatMap { dir -> [(path: String, kind: Kind)] in
            let names = (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(dir).path)) ?? []
            return names.filter { $0.hasSuffix(".yml") || $0.hasSuffix(".yaml") }.sorted().compactMap { name in
                let path = dir + "/" + name
                guard let text = try? String(contentsOf: root.appendingPathComponent(path), encoding: .utf8) else { return nil }
                return (path, kind(of: text))
            }
        }
    }

    /// One suite, described by its path relative to `root`.
    struct Suite: CustomTestStringConvertible, Sendable {
        var path: String
        var testDescription: String { path }
    }

    static let suites: [Suite] = files().filter { $0.kind == .suite }.map { Suite(path: $0.path) }

    static var promtool: URL {
        get throws {
            let path = try #require(["/usr/bin/promtool", "/usr/local/bin/promtool"].first { FileManager.default.isExecutableFile(atPath: $0) },
                                    "promtool is missing: apt-get install prometheus (make test-deps)")
            return URL(fileURLWithPath: path)
        }
    }

    /// Runs `promtool ARGS… FILE` and `agent ARGS… FILE` in the file's directory: whether each exited 0, and what they said.
    static func verdicts(_ arguments: [String], _ path: String, under base: URL = root) throws -> (promtool: Bool, agent: Bool, output: String) {
        let file = base.appendingPathComponent(path)
        let dir = file.deletingLastPathComponent()
        let promtool = try runProgram(try Self.promtool, arguments + [file.lastPathComponent], in: dir)
        let agent = try runAgent(arguments + [file.lastPathComponent], in: dir)
        let output = "promtool (\(promtool.status)):\n\((promtool.stdout + promtool.stderr).prefix(1500))\nagent (\(agent.status)):\n\((agent.stdout + agent.stderr).prefix(1500))"
        return (promtool.status == 0, agent.status == 0, output)
    }

    @Test("the test data is there (scripts/prometheus-testdata-deps.sh ran) and is told apart by content")
    func testDataPresent() throws {
        let source = try #require(try? String(contentsOf: Self.root.appendingPathComponent("SOURCE"), encoding: .utf8), "\(Self.missing)")
        #expect(source.contains("prometheus 2.42."))
        #expect(FileManager.default.fileExists(atPath: Self.root.appendingPathComponent("LICENSE").path))
        #expect(FileManager.default.fileExists(atPath: Self.root.appendingPathComponent("copyright").path))
        let kinds = Dictionary(grouping: Self.files(), by: \.kind).mapValues { $0.map(\.path) }
        // 2.42's three directories: 26 rule files (12 good, 14 bad), 9 suites, 10 configurations, 3 SD files.
        #expect(kinds[.ruleFile]?.count == 26, "\(kinds[.ruleFile] ?? [])")
        #expect(kinds[.suite]?.count == 9, "\(kinds[.suite] ?? [])")
        #expect(kinds[.prometheusConfig]?.count == 10, "\(kinds[.prometheusConfig] ?? [])")
        #expect(kinds[.serviceDiscovery]?.count == 3, "\(kinds[.serviceDiscovery] ?? [])")
        #expect(Self.suites.count == 9)
    }

    @Test("the content tells a suite, a configuration, an SD file and a rule file apart")
    func kinds() {
        #expect(Self.kind(of: "rule_files:\n  - a.yml\ntests:\n  - interval: 1m\n") == .suite)
        #expect(Self.kind(of: "# a suite\ntests: []\n") == .suite)
        #expect(Self.kind(of: "global:\n  scrape_interval: 1m\nrule_files: [a.yml]\n") == .prometheusConfig)
        #expect(Self.kind(of: "- targets: ['localhost:9100']\n") == .serviceDiscovery)
        #expect(Self.kind(of: "---\n# targets\n- labels: {job: node}\n") == .serviceDiscovery)
        #expect(Self.kind(of: "groups:\n  - name: g\n    rules: []\n") == .ruleFile)
        #expect(Self.kind(of: "") == .ruleFile)
        #expect(Self.kind(of: "not-prometheus:\n") == .ruleFile)
        // A rule's expression naming `tests:` further in is not a top-level key.
        #expect(Self.kind(of: "groups:\n  - name: g\n    rules:\n      - record: x\n        expr: 'tests: 1'\n") == .ruleFile)
    }

    @Test("every rule file: agent check rules accepts or refuses it as promtool 2.42 does")
    func ruleFiles() throws {
        let ruleFiles = Self.files().filter { $0.kind == .ruleFile }.map(\.path)
        try #require(!ruleFiles.isEmpty, "\(Self.missing)")
        var accepted = 0
        for path in ruleFiles {
            let (promtool, agent, output) = try Self.verdicts(["check", "rules"], path)
            #expect(agent == promtool, "\(path): promtool \(promtool ? "accepts" : "refuses") it, the agent \(agent ? "accepts" : "refuses") it\n\(output)")
            if promtool { accepted += 1 }
        }
        // The good half: Prometheus's fixtures, rulefmt's test.yaml, promtool's rule files (rules_large's 10 002 rules among them).
        #expect(accepted == 12)
    }

    @Test("every suite: agent test rules passes or fails it as promtool 2.42 does, or as Prometheus 3 does where the two differ", arguments: suites)
    func suite(_ suite: Suite) throws {
        let (promtool, agent, output) = try Self.verdicts(["test", "rules"], suite.path)
        let differences = Self.differences.filter { $0.suite == suite.path }
        guard !differences.isEmpty else {
            #expect(agent == promtool, "promtool 2.42 \(promtool ? "passes" : "fails") \(suite.path), the agent \(agent ? "passes" : "fails") it\n\(output)")
            return
        }
        // 2.42's expectations hold under Prometheus 2 only: promtool passes the file, the agent fails it ...
        #expect(promtool, "\(output)")
        #expect(!agent, "\(output)")
        // ... with Prometheus 3's expectations the agent passes and promtool 2.42 fails; each
        // difference alone fails promtool 2.42, and the agent fails without any one of them.
        let all = try Self.edited(suite.path, differences.flatMap(\.edits))
        defer { try? FileManager.default.removeItem(at: all) }
        let whole = try Self.verdicts(["test", "rules"], suite.path, under: all)
        #expect(whole.agent, "with Prometheus 3's expectations:\n\(whole.output)")
        #expect(!whole.promtool, "with Prometheus 3's expectations:\n\(whole.output)")
        for (i, difference) in differences.enumerated() {
            let alone = try Self.edited(suite.path, difference.edits)
            defer { try? FileManager.default.removeItem(at: alone) }
            #expect(try !Self.verdicts(["test", "rules"], suite.path, under: alone).promtool,
                    "promtool 2.42 passes \(suite.path) with line \(difference.edits[0].line) as Prometheus 3 has it: no difference (\(difference.reason))")
            let others = try Self.edited(suite.path, differences.enumerated().filter { $0.offset != i }.flatMap(\.element.edits))
            defer { try? FileManager.default.removeItem(at: others) }
            #expect(try !Self.verdicts(["test", "rules"], suite.path, under: others).agent,
                    "the agent passes \(suite.path) with line \(difference.edits[0].line) as 2.42 has it: no difference (\(difference.reason))")
        }
    }

    /// A copy of the suite's directory (its rule files come along) with the edited lines as
    /// Prometheus 3 has them; the caller removes it.
    static func edited(_ suite: String, _ edits: [Difference.Edit]) throws -> URL {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("prometheus-testdata-\(UUID().uuidString)")
        let dir = (suite as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(at: copy.appendingPathComponent(dir).deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: root.appendingPathComponent(dir), to: copy.appendingPathComponent(dir))
        do {
            let file = copy.appendingPathComponent(suite)
            var lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            for d in edits {
                let line = d.line <= lines.count ? lines[d.line - 1] : ""
                try #require(line.trimmingCharacters(in: .whitespaces) == d.promtool2, "\(suite):\(d.line) is \"\(line)\", not \"\(d.promtool2)\"")
                lines[d.line - 1] = String(line.prefix { $0 == " " }) + d.prometheus3
            }
            try lines.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
            return copy
        } catch {
            try? FileManager.default.removeItem(at: copy)
            throw error
        }
    }
}
