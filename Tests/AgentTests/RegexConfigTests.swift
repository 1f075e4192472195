import AgentDaemon
import Testing
import YAMLSupport

/// Every regular expression a configuration holds is compiled by RE2 when the file is read, so a
/// pattern RE2 rejects (a backreference, a look-ahead, an unclosed group) is refused with its
/// `file:line:column` and Go's reason, not found later at a scrape, probe or notification.
@Suite("Regular expressions in the configuration")
struct RegexConfigTests {
    func errors(_ yaml: String) -> [String] {
        do {
            _ = try AgentConfig.parse(yaml, file: "agent.yaml")
            return []
        } catch let error as ConfigErrors {
            return error.errors.map(\.description)
        } catch {
            return ["\(error)"]
        }
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let testDescription: String
        let yaml: String
        let expected: String
    }

    @Test(arguments: [
        Case(testDescription: "metric_relabel_configs", yaml: """
            scrape:
              - job: api
                targets: [http://127.0.0.1:1/metrics]
                metric_relabel_configs: [{source_labels: [__name__], regex: '(a)\\1', action: drop}]
            """, expected: #"agent.yaml:4:30: scrape[0].metric_relabel_configs[0]: invalid regex "(a)\1": invalid escape sequence: `\1`"#),
        Case(testDescription: "write_relabel_configs", yaml: """
            remote_write:
              - url: http://127.0.0.1:1/write
                write_relabel_configs: [{source_labels: [job], regex: 'a(?=b)', action: keep}]
            """, expected: "agent.yaml:3:29: remote_write[0].write_relabel_configs[0]: invalid regex \"a(?=b)\": invalid or unsupported Perl syntax: `(?=`"),
        Case(testDescription: "health body_json matches", yaml: """
            scrape:
              - job: health
                format: health
                targets: [http://127.0.0.1:1/health]
                expect: {body_json: {path: status, matches: 'ok|(degraded'}}
            """, expected: #"agent.yaml:5:49: scrape[0].expect.body_json.matches: invalid regular expression "ok|(degraded": missing closing ): `ok|(degraded`"#),
        Case(testDescription: "log label regex", yaml: """
            logs:
              - path: /var/log/x.jsonl
                labels: [{field: status, regex: 'x{1001}'}]
                metrics: [{name: lines, type: counter}]
            """, expected: "agent.yaml:3:37: logs[0].labels[0].regex: invalid regular expression: invalid repeat count: `{1001}`"),
        Case(testDescription: "route matchers", yaml: """
            notify:
              route:
                receiver: chat
                routes: [{matchers: ['team=~"(?i)db|(?<!x)api"'], receiver: chat}]
              receivers:
                - {name: chat, webhook: {url: http://127.0.0.1:1/hook}}
            """, expected: #"agent.yaml:4:26: notify.route.routes[0].matchers: invalid regular expression: invalid named capture: `(?<!x)api` at column 7"#),
        Case(testDescription: "inhibit matchers", yaml: """
            notify:
              inhibit:
                - {source_matchers: ['severity="critical"'], target_matchers: ['severity=~"*"'], equal: [alertname]}
              receivers:
                - {name: chat, webhook: {url: http://127.0.0.1:1/hook}}
            """, expected: #"agent.yaml:3:68: notify.inhibit.target_matchers: invalid regular expression: missing argument to repetition operator: `*` at column 11 of "severity=~\"*\"""#),
    ])
    func aPatternRE2RejectsIsRefusedWhereItIsWritten(_ c: Case) {
        let found = errors(c.yaml)
        #expect(found.contains { $0.hasPrefix(c.expected) }, "\(found)")
    }

    @Test func patternsRE2AcceptsAreAccepted() {
        let found = errors("""
            scrape:
              - job: health
                format: health
                targets: [http://127.0.0.1:1/health]
                expect: {body_json: {path: version, matches: '\\p{N}+\\.\\d+(?:-rc\\d+)?'}}
                metric_relabel_configs: [{source_labels: [__name__], regex: '(?i)GO_.*|process_(?P<what>\\w+)', action: drop}]
            """)
        #expect(found.isEmpty, "\(found)")
    }
}
