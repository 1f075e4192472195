import Alerting
import Foundation
import Testing
import TimeSeries
@testable import AgentDaemon

/// `{{ $externalURL }}` in rule templates is the configured `notify.external_url`, so a runbook
/// link written as `{{ $externalURL }}/runbooks/…` (rules/api.yaml) is absolute in every payload.
@Suite struct RulesExternalURLTests {
    @Test func rulesTemplatesSeeTheConfiguredExternalURL() throws {
        let dir = NSTemporaryDirectory() + "/rules-external-url-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
            groups:
              - name: g
                rules:
                  - alert: Always
                    expr: vector(1)
                    annotations:
                      runbook: "{{ $externalURL }}/runbooks/always"
            """.write(toFile: dir + "/g.yaml", atomically: true, encoding: .utf8)
        let config = try AgentConfig.parse("""
            rule_files: [g.yaml]
            notify:
              external_url: https://ops.example.org
              receivers: [{name: log, stdout: {}}]
            """, file: dir + "/agent.yaml")
        let files = try RulesComponent.load(globs: config.ruleFiles, relativeTo: dir)
        let store = SeriesStore(config: StoreConfig(), clock: { 1_700_000_000_000 })
        let rules = RulesComponent(files: files, store: store, evaluationInterval: 15_000, externalLabels: [:],
                                   externalURL: config.notify.externalURL)
        _ = rules.groups[0].evaluate(at: 1_700_000_000_000)
        let alert = try #require(rules.groups[0].alerts().first)
        #expect(alert.annotations["runbook"] == "https://ops.example.org/runbooks/always")
    }
}
