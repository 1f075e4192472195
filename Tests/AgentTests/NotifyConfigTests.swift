import AgentDaemon
import Notify
import Testing
import TimeSeries
import YAMLSupport

@Suite struct NotifyConfigTests {
    func errors(_ yaml: String) -> [String] {
        do {
            _ = try NotifyConfig.parse(yaml, file: "agent.yaml")
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    @Test func theDesignDocumentsExampleReads() throws {
        let yaml = """
            notify:
              route:
                receiver: chat
                group_by: [alertname]
                group_wait: 10s
                group_interval: 1m
                repeat_interval: 4h
                routes:
                  - {matchers: ['severity="critical"'], receiver: pager, continue: true}
              inhibit:
                - {source_matchers: ['severity="critical"'], target_matchers: ['severity=~"high|medium|low"'], equal: [alertname]}
              receivers:
                - name: chat
                  slack: {url_file: /run/credentials/agent.service/slack_url}
                - name: pager
                  pagerduty: {routing_key_file: /run/credentials/agent.service/pd_key}
                - name: hook
                  webhook: {url: http://127.0.0.1:5001/alerts}
            """
        let c = try NotifyConfig.parse(yaml, file: "agent.yaml")
        #expect(c.receivers.map(\.name) == ["chat", "pager", "hook"])
        #expect(c.route?.routes.first?.receiver == "pager")
        #expect(c.route?.routes.first?.continue == true)
        #expect(c.route?.groupInterval == .seconds(60))
        #expect(c.inhibitRules == [InhibitRule.severityDefault])
        let n = try c.notifierConfiguration(stateDir: "/var/lib/agent")
        #expect(n.integrations.map(\.kind) == ["slack", "pagerduty", "webhook"])
        #expect(n.outbox.directory == "/var/lib/agent/outbox")
        let pager = try #require(n.integrations.first { $0.kind == "pagerduty" })
        #expect(pager.bodySecret?.secret == .file("/run/credentials/agent.service/pd_key"))
        if case .http(let endpoint) = pager.destination {
            #expect(endpoint.url == .inline("https://events.pagerduty.com/v2/enqueue"))
        } else {
            Issue.record("pagerduty is HTTP")
        }
    }

    @Test func withoutARouteTheSeverityTreeIsUsed() throws {
        let c = try NotifyConfig.parse(
            """
            notify:
              receivers:
                - {name: pager, pagerduty: {routing_key_env: PD_KEY}}
                - {name: chat, discord: {url_env: DISCORD_URL}}
                - {name: digest, file: {path: /var/log/agent/digest.jsonl}}
            """, file: "a.yaml")
        let route = try Route(root: try #require(c.route))
        #expect(route.match(Labels(["alertname": "X", "severity": "critical"])).map(\.receiver) == ["pager", "chat"])
        #expect(route.match(Labels(["alertname": "X", "severity": "low"])).map(\.receiver) == ["digest"])
    }

    @Test func everyKindOfReceiverReads() throws {
        let c = try NotifyConfig.parse(
            """
            notify:
              external_url: http://api-1:9464
              outbox: {max_age: 2h, initial_backoff: 500ms, max_backoff: 1m, max_in_flight: 4, max_entries: 500}
              route: {receiver: all, group_by: ['...']}
              inhibit: []
              receivers:
                - name: all
                  slack: {url: 'https://hooks.slack.com/services/T/B/X', channel: '#ops', send_resolved: false}
                  mattermost: {url_file: /etc/agent/mm}
                  discord: {url_env: DISCORD}
                  teams: {url_file: /etc/agent/teams, timeout: 5s}
                  googlechat: {url_file: /etc/agent/gchat, format: text}
                  pagerduty: {routing_key_file: /etc/agent/pd, source: api-1, class: latency}
                  webhook:
                    - {url: 'http://127.0.0.1:5001/a', hmac_secret_file: /etc/agent/hmac, headers: {X-Team: ops}, max_alerts: 10}
                    - {url: 'http://127.0.0.1:5001/b'}
                  alertmanager: {urls: ['http://127.0.0.1:9093/', 'http://127.0.0.1:9094'], resend_interval: 30s, sparkline_annotation: true}
                  file: {path: /var/log/agent/n.jsonl}
                  stdout: {}
            """, file: "a.yaml")
        let n = try c.notifierConfiguration(stateDir: "/s")
        #expect(n.integrations.map(\.kind) == ["slack", "mattermost", "discord", "teams", "googlechat", "pagerduty", "webhook", "webhook", "alertmanager", "alertmanager", "file", "stdout"])
        #expect(n.integrations.map(\.index) == Array(0..<12))
        #expect(n.integrations[0].sendResolved == false)
        #expect(n.resendIntervals == ["all": .seconds(30)])
        #expect(n.inhibitRules.isEmpty)
        #expect(n.externalURL == "http://api-1:9464")
        #expect(n.outbox.maxAge == .seconds(7200) && n.outbox.maxEntries == 500 && n.outbox.maxInFlight == 4)
        guard case .http(let am) = n.integrations[8].destination, case .http(let hook) = n.integrations[6].destination else {
            Issue.record("HTTP destinations")
            return
        }
        #expect(am.url == .inline("http://127.0.0.1:9093/api/v2/alerts"))
        #expect((n.integrations[8].builder as? AlertmanagerReceiver)?.sparklineAnnotation == true)
        #expect(hook.hmacSecret == .file("/etc/agent/hmac"))
        #expect(hook.headers.map(\.name) == ["X-Team"])
        #expect(c.route?.groupBy == .all)
    }

    @Test func mistakesAreReportedWithTheirPositionsAllAtOnce() {
        let found = errors(
            """
            notify:
              route:
                receiver: chatt
                group_wiat: 10s
                group_interval: soon
                routes:
                  - matchers: ['severity=="critical"']
                    receiver: pager
              receivers:
                - name: chat
                  slack: {url_file: relative/path}
                - name: pager
                  pagerduty: {routing_key: inline-secret}
                - name: pager
                  webhook: {url: http://x}
                - name: nothing
                - name: hook
                  webhook: {url: ftp://x, tiemout: 1s}
            """)
        let expected = [
            "agent.yaml:3:15: notify.route.receiver: \"chatt\" is not defined under notify.receivers (defined: \"chat\", \"hook\", \"nothing\", \"pager\")",
            "agent.yaml:4:5: notify.route: unknown key \"group_wiat\" (did you mean \"group_wait\"?)",
            "agent.yaml:5:21: notify.route.group_interval: \"soon\" is not a duration (expected e.g. 500ms, 15s, 1h30m, 7d)",
            "agent.yaml:7:20: notify.route.routes[0].matchers: \"==\" is not an operator; write \"=\" at column 9 of \"severity==\\\"critical\\\"\" (write e.g. severity=\"critical\" or team=~\"db|api\")",
            "agent.yaml:11:25: receiver \"chat\" slack.url_file must be an absolute path (e.g. /run/credentials/agent.service/url)",
            "agent.yaml:13:19: receiver \"pager\" pagerduty: unknown key \"routing_key\"",
            "agent.yaml:13:18: receiver \"pager\" pagerduty needs exactly one of routing_key_file or routing_key_env",
            "agent.yaml:14:7: notify.receivers: the name \"pager\" is used twice",
            "agent.yaml:16:7: receiver \"nothing\" has no integration (one of: slack, mattermost, discord, teams, googlechat, pagerduty, webhook, alertmanager, file, stdout)",
            "agent.yaml:18:31: receiver \"hook\" webhook: unknown key \"tiemout\" (did you mean \"timeout\"?)",
            "agent.yaml:18:22: receiver \"hook\" webhook.url must start with http:// or https://",
        ]
        #expect(found.sorted() == expected.sorted(), "\(found.joined(separator: "\n"))")
    }

    @Test func theAgentConfigurationReadsItsNotifySection() throws {
        let config = try AgentConfig.parse(
            """
            global: {state_dir: /tmp/agent}
            notify:
              receivers: [{name: chat, stdout: {}}]
            """, file: "agent.yaml")
        #expect(config.notify.isEnabled)
        #expect(throws: ConfigErrors.self) {
            try AgentConfig.parse("notify: {receivers: [{name: chat, smtp: {}}]}", file: "agent.yaml")
        }
    }
}
