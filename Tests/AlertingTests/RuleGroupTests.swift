import Dispatch
import Synchronization
import Query
import Testing
import TimeSeries
@testable import Alerting

@Suite("Rule group evaluation")
struct RuleGroupTests {
    /// A store with `errors` as a gauge per job, one sample per minute for an hour.
    func store(_ values: [String: [Double]]) -> SeriesStore {
        let store = SeriesStore(config: StoreConfig(resolution: 15_000, retention: 7_200_000), clock: { 7_200_000 })
        store.write { w in
            for (job, series) in values {
                let ref = w.ref(for: Labels(name: "errors", ["job": job]), kind: .gauge)!
                for (i, v) in series.enumerated() { _ = w.append(ref, value: v, at: Int64(i) * 60_000) }
            }
        }
        return store
    }

    func group(_ yaml: String, _ store: SeriesStore) throws -> RuleGroup {
        let file = try RuleFile.parse(yaml, path: "g.yaml")
        return RuleGroup(file.groups[0], file: "g.yaml", engine: Engine(store: store), externalLabels: Labels(["host": "h1"]))
    }

    func read(_ store: SeriesStore, _ expr: String, at t: Timestamp) throws -> [String] {
        let value = try Engine(store: store).instant(try PromQL.parse(expr), at: t)
        guard case .vector(let samples, _) = value else { return [] }
        return samples.map { "\($0.labels) \($0.value)" }.sorted()
    }

    @Test("recording rules write their results back, and later rules of the group read them")
    func recordingWritesBack() throws {
        let s = store(["a": Array(repeating: 2, count: 10), "b": Array(repeating: 3, count: 10)])
        let g = try group("""
            groups:
              - name: g
                labels: {team: core}
                rules:
                  - record: job:errors:doubled
                    expr: errors * 2
                    labels: {source: rule}
                  - record: total:errors:doubled
                    expr: sum(job:errors:doubled)
            """, s)
        let evaluation = g.evaluate(at: 120_000)
        #expect(evaluation.errors.isEmpty)
        #expect(try read(s, "job:errors:doubled", at: 120_000) == [
            "job:errors:doubled{job=\"a\", source=\"rule\", team=\"core\"} 4.0",
            "job:errors:doubled{job=\"b\", source=\"rule\", team=\"core\"} 6.0",
        ])
        #expect(try read(s, "total:errors:doubled", at: 120_000) == ["total:errors:doubled{team=\"core\"} 10.0"])
    }

    static let warningCriticalPair = """
        groups:
          - name: g
            rules:
              - alert: Errors
                expr: errors > 5
                for: 2m
                labels: {severity: warning}
                annotations: {summary: "{{ $labels.job }} warning at {{ $value }}"}
              - alert: Errors
                expr: errors > 8
                for: 1m
                labels: {severity: critical}
                annotations: {summary: "{{ $labels.job }} critical at {{ $value }}"}
        """

    @Test("the same alert name twice (a warning/critical pair) gives independent alerts, told apart by severity, as in Prometheus")
    func warningCriticalPair() throws {
        let s = store(["a": [6, 9, 9, 9, 9, 6, 6, 6]])
        let g = try group(Self.warningCriticalPair, s)
        func states(at m: Int) -> [String] {
            g.evaluate(at: Int64(m) * 60_000)
            return g.alerts().map { "\($0.labels["severity"]!):\($0.state.rawValue)" }.sorted()
        }
        #expect(states(at: 0) == ["warning:pending"])
        #expect(states(at: 1) == ["critical:pending", "warning:pending"])
        #expect(states(at: 2) == ["critical:firing", "warning:firing"])
        #expect(states(at: 5) == ["critical:resolved", "warning:firing"])
        let alerts = g.alerts()
        #expect(Set(alerts.map(\.fingerprint)).count == 2)
        #expect(alerts.map { $0.annotations["summary"]! }.sorted() == ["a critical at 9", "a warning at 6"])
        // ALERTS carries both, each with its own severity.
        #expect(try read(s, "ALERTS", at: 300_000) == ["ALERTS{alertname=\"Errors\", alertstate=\"firing\", job=\"a\", severity=\"warning\"} 1.0"])
        #expect(try read(s, "ALERTS_FOR_STATE", at: 120_000) == [
            "ALERTS_FOR_STATE{alertname=\"Errors\", job=\"a\", severity=\"critical\"} 60.0",
            "ALERTS_FOR_STATE{alertname=\"Errors\", job=\"a\", severity=\"warning\"} 0.0",
        ])
    }

    @Test("a checkpoint restores each rule of a same-name pair into its own rule, even after the pair is reordered")
    func warningCriticalPairCheckpoint() throws {
        let s = store(["a": [9, 9, 9, 9]])
        let g = try group(Self.warningCriticalPair, s)
        g.evaluate(at: 0)
        g.evaluate(at: 60_000)
        var checkpoint = AlertStateCheckpoint(savedAt: 60_000)
        g.checkpoint(into: &checkpoint)
        #expect(checkpoint.ruleCount == 2)
        let decoded = try AlertStateCheckpoint(decoding: checkpoint.encoded())
        // The critical rule first now.
        let lines = Self.warningCriticalPair.split(separator: "\n", omittingEmptySubsequences: false)
        let reordered = (lines[0..<3] + lines[8..<13] + lines[3..<8]).joined(separator: "\n")
        let after = try group(reordered, s)
        #expect(after.restore(from: decoded, now: 60_000) == 2)
        after.evaluate(at: 120_000)
        let byRule = after.alerts().map { "\($0.labels["severity"]!):\($0.state.rawValue):\($0.activeAt)" }.sorted()
        #expect(byRule == ["critical:firing:0", "warning:firing:0"])
    }

    @Test("a value history reaches the alerts of every rule of a shared name")
    func warningCriticalPairHistory() throws {
        let s = store(["a": [6, 7, 9, 9, 9]])
        let g = try group(Self.warningCriticalPair, s)
        for m in 0...4 { g.evaluate(at: Int64(m) * 60_000) }
        let alerts = g.alerts()
        let values = Dictionary(uniqueKeysWithValues: alerts.map { ($0.labels, $0.value) })
        let history = try g.valueHistory(rule: "Errors", alerts: values, evaluatedAt: 240_000, step: 60_000, steps: 5)
        let critical = try #require(alerts.first { $0.severity == "critical" })
        let warning = try #require(alerts.first { $0.severity == "warning" })
        #expect(history[warning.labels]?.points.map(\.value) == [6, 7, 9, 9, 9])
        #expect(history[critical.labels]?.points.map(\.value) == [6, 7, 9, 9, 9])
    }

    @Test("annotations follow the value, and a template reading the store or the clock is rendered at every evaluation")
    func annotationsFollowWhatTheyRead() throws {
        let s = store(["a": [5, 5, 7, 7]])
        let g = try group("""
            groups:
              - name: g
                rules:
                  - alert: V
                    expr: errors > 1
                    annotations: {v: "{{ $value }}", q: "{{ query \\"count(errors)\\" | first | value }} at {{ now }}"}
            """, s)
        var seen: [String] = []
        for m in 0...3 {
            g.evaluate(at: Int64(m) * 60_000)
            let a = try #require(g.alerts().first)
            seen.append("\(a.annotations["v"]!) \(a.annotations["q"]!)")
        }
        #expect(seen == ["5 1 at 0", "5 1 at 60", "7 1 at 120", "7 1 at 180"])
    }

    @Test("a template that fails names the annotation's file:line:column and the place in the template in the rule's status")
    func templateErrorInStatus() throws {
        let g = try group("""
            groups:
              - name: g
                rules:
                  - alert: E
                    expr: errors > 1
                    annotations:
                      summary: "x {{ humanize $labels.job }}"
            """, store(["a": [5, 5]]))
        g.evaluate(at: 0)
        g.evaluate(at: 60_000)
        let status = try #require(g.status.rules.first)
        #expect(status.templateError?.hasPrefix("g.yaml:7:20: annotation \"summary\": error executing template __alert_E: template: __alert_E:1:117:") == true, "\(status.templateError ?? "nil")")
        #expect(status.templateError?.hasSuffix("(at 1:6 of the template)") == true)
        #expect(g.alerts().first?.annotations["summary"]?.hasPrefix("<error expanding template:") == true)
    }

    @Test("a rule label that reads the value follows the value at every evaluation (derived labels are not reused)")
    func valueLabelsAreRebuilt() throws {
        let s = store(["a": [5, 5, 7, 7, 9, 9]])
        let g = try group("""
            groups:
              - name: g
                rules:
                  - alert: Level
                    expr: errors > 1
                    labels: {level: "{{ $value }}", severity: low}
                  - alert: Plain
                    expr: errors > 1
                    labels: {severity: low}
            """, s)
        var seen: [String] = []
        for m in 0...5 {
            g.evaluate(at: Int64(m) * 60_000)
            seen.append(g.alerts().filter { $0.name == "Level" && $0.state != .resolved }.map { $0.labels["level"] ?? "" }.joined())
        }
        #expect(seen == ["5", "5", "7", "7", "9", "9"])
        // The plain rule keeps one alert throughout, firing since the first evaluation.
        let plain = g.alerts().filter { $0.name == "Plain" }
        #expect(plain.count == 1 && plain.first?.state == .firing && plain.first?.activeAt == 0)
    }

    @Test("alerts write ALERTS and ALERTS_FOR_STATE; a series that goes away gets a staleness marker")
    func alertsSeries() throws {
        let s = store(["a": [0, 5, 5, 5, 0, 0]])
        let g = try group("""
            groups:
              - name: g
                rules:
                  - alert: E
                    expr: errors > 1
                    for: 1m
                    labels: {severity: high}
                    annotations: {summary: "{{ $labels.job }} {{ $value }} on {{ $externalLabels.host }}"}
            """, s)
        for m in 0...3 { g.evaluate(at: Int64(m) * 60_000) }
        #expect(try read(s, "ALERTS", at: 180_000) == ["ALERTS{alertname=\"E\", alertstate=\"firing\", job=\"a\", severity=\"high\"} 1.0"])
        #expect(try read(s, "ALERTS", at: 60_000) == ["ALERTS{alertname=\"E\", alertstate=\"pending\", job=\"a\", severity=\"high\"} 1.0"])
        #expect(try read(s, "ALERTS_FOR_STATE", at: 180_000) == ["ALERTS_FOR_STATE{alertname=\"E\", job=\"a\", severity=\"high\"} 60.0"])
        let alert = try #require(g.alerts().first)
        #expect(alert.annotations == ["summary": "a 5 on h1"])
        #expect(alert.source == "g.yaml:g")
        g.evaluate(at: 240_000)
        #expect(try read(s, "ALERTS", at: 240_000).isEmpty)  // stale at once, not after the 5-minute lookback
        #expect(g.alerts().first?.state == .resolved)
    }

    @Test("a failing rule is marked unhealthy with its error and the group goes on")
    func failingRuleDoesNotStopTheGroup() throws {
        let s = store(["a": [1, 1, 1], "b": [1, 1, 1]])
        let g = try group("""
            groups:
              - name: g
                rules:
                  - record: bad
                    expr: errors + on() errors
                  - alert: StillEvaluated
                    expr: errors > 0
            """, s)
        let evaluation = g.evaluate(at: 60_000)
        #expect(evaluation.errors.count == 1)
        let status = g.status
        #expect(status.lastError?.contains("bad") == true)
        #expect(status.evaluations == 1 && status.lastEvaluatedAt == 60_000)
        guard case .error = status.rules[0].health else {
            Issue.record("the failing rule is not marked unhealthy")
            return
        }
        #expect(status.rules[1].health == .ok && status.rules[1].activeAlerts == 2)
    }

    @Test("tiered rules carry the tier in severity, and annotations can read it")
    func tieredRule() throws {
        let s = store(["a": [0.02, 0.3]])
        let g = try group("""
            groups:
              - name: g
                rules:
                  - alert: E
                    expr: errors
                    tiers:
                      - {severity: critical, above: 0.25}
                      - {severity: medium, above: 0.01}
                    annotations: {summary: "{{ $labels.severity }}: {{ $value | humanizePercentage }}"}
            """, s)
        g.evaluate(at: 0)
        #expect(g.alerts().map { "\($0.severity ?? "") \($0.annotations["summary"] ?? "")" } == ["medium medium: 2%"])
        g.evaluate(at: 60_000)
        let a = try #require(g.alerts().first)
        #expect(a.severity == "critical" && a.previousSeverity == "medium" && a.annotations["summary"] == "critical: 30%")
    }

    @Test("the group limit fails the rule when it is exceeded")
    func limit() throws {
        let s = store(["a": [1], "b": [1], "c": [1]])
        let g = try group("groups:\n  - name: g\n    limit: 2\n    rules:\n      - alert: E\n        expr: errors > 0\n", s)
        let evaluation = g.evaluate(at: 0)
        #expect(evaluation.errors == ["rule \"E\": exceeded limit of 2 with 3 alerts"])
        #expect(g.alerts().isEmpty)
    }

    @Test("checkpoint and restore through the group keep a pending alert's progress")
    func groupCheckpoint() throws {
        let s = store(["a": Array(repeating: 5, count: 60)])
        let yaml = "groups:\n  - name: g\n    rules:\n      - alert: E\n        expr: errors > 1\n        for: 10m\n"
        let g = try group(yaml, s)
        g.evaluate(at: 0)
        g.evaluate(at: 240_000)
        var checkpoint = AlertStateCheckpoint(savedAt: 240_000)
        g.checkpoint(into: &checkpoint)
        let restarted = try group(yaml, s)
        #expect(restarted.restore(from: try AlertStateCheckpoint(decoding: checkpoint.encoded()), now: 300_000, forGracePeriod: 0) == 1)
        restarted.evaluate(at: 300_000)
        #expect(restarted.alerts().first?.state == .pending)
        restarted.evaluate(at: 660_000)  // 4 minutes before + 6 after the 1-minute outage
        #expect(restarted.alerts().first?.state == .firing)
    }
}

@Suite("Rule group timer")
struct RuleGroupTimerTests {
    @Test("ticks are aligned to the interval with a stable per-group offset, and a tick is evaluated once")
    func alignedTicks() throws {
        let store = SeriesStore(config: StoreConfig(resolution: 1_000, retention: 600_000), clock: { 0 })
        let file = try RuleFile.parse("groups:\n  - name: g\n    interval: 30s\n    rules:\n      - record: r\n        expr: vector(1)\n", path: "t.yaml")
        let group = RuleGroup(file.groups[0], file: "t.yaml", engine: Engine(store: store))
        let now = Mutex<Timestamp>(1_000_000)
        let evaluations = Mutex<[Timestamp]>([])
        let timer = RuleGroupTimer(group: group, queue: DispatchQueue(label: "t"), clock: { now.withLock { $0 } }) { e, _ in
            evaluations.withLock { $0.append(e.at) }
        }
        let offset = timer.tick(atOrBefore: 1_000_000)
        #expect((1_000_000 - offset) < 30_000 && (1_000_000 - offset) >= 0)
        #expect(timer.tick(atOrBefore: offset + 29_999) == offset)
        #expect(timer.tick(atOrBefore: offset + 30_000) == offset + 30_000)
        timer.fire()
        timer.fire()  // the same tick again: not evaluated twice
        now.withLock { $0 += 30_000 }
        timer.fire()
        #expect(evaluations.withLock { $0 } == [offset, offset + 30_000])
        let other = RuleGroupTimer(group: group, queue: DispatchQueue(label: "u"), clock: { 0 }) { _, _ in }
        #expect(other.tick(atOrBefore: 1_000_000) == offset)  // stable across instances and processes
    }

    @Test("a started timer evaluates on its own")
    func startedTimerRuns() async throws {
        let store = SeriesStore(config: StoreConfig(resolution: 1_000, retention: 600_000))
        let file = try RuleFile.parse("groups:\n  - name: g\n    interval: 100ms\n    rules:\n      - record: r\n        expr: vector(1)\n", path: "t.yaml")
        let group = RuleGroup(file.groups[0], file: "t.yaml", engine: Engine(store: store))
        let count = Mutex(0)
        let timer = RuleGroupTimer(group: group, queue: DispatchQueue(label: "t")) { _, _ in count.withLock { $0 += 1 } }
        timer.start()
        for _ in 0..<50 where count.withLock({ $0 }) < 2 { try await Task.sleep(for: .milliseconds(50)) }
        timer.stop()
        #expect(count.withLock { $0 } >= 2)
    }
}
