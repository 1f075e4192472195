import Foundation
import Notify
import Testing
import YAMLSupport
@testable import AgentDaemon

/// The request side of the Alertmanager API: `postableSilence` bodies (valid, malformed,
/// truncated, huge and hostile) and the configuration `GET /api/v2/status` shows.
@Suite struct AlertmanagerAPIParsingTests {
    static let valid = #"""
        {"matchers":[{"name":"alertname","value":"X","isRegex":false},{"name":"instance","value":"api-.*","isRegex":true,"isEqual":false}],
         "startsAt":"2026-01-01T00:00:00.000Z","endsAt":"2026-01-01T01:00:00Z","createdBy":"ana","comment":"deploy","id":"abc"}
        """#

    func parse(_ text: String) -> Result<PostableSilence, AlertmanagerAPIError> {
        do throws(AlertmanagerAPIError) { return .success(try PostableSilence(body: Array(text.utf8))) } catch { return .failure(error) }
    }

    @Test func aPostableSilenceIsReadWithItsMatcherKinds() throws {
        let s = try parse(Self.valid).get()
        #expect(s.matchers.map(\.description) == [#"alertname="X""#, #"instance!~"api-.*""#])
        #expect(s.id == "abc" && s.createdBy == "ana" && s.comment == "deploy")
        #expect(s.endsAt - s.startsAt == 3_600_000)
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var body: String
        var testDescription: String { name }
    }

    static let refused: [Case] = [
        Case(name: "empty", body: ""),
        Case(name: "not an object", body: "[1,2]"),
        Case(name: "truncated", body: String(valid.prefix(60))),
        Case(name: "no matchers", body: valid.replacingOccurrences(of: #""matchers":["#, with: #""x":["#)),
        Case(name: "empty matchers", body: #"{"matchers":[],"startsAt":"2026-01-01T00:00:00Z","endsAt":"2026-01-01T01:00:00Z","createdBy":"a","comment":"c"}"#),
        Case(name: "matcher without isRegex", body: valid.replacingOccurrences(of: #","isRegex":false"#, with: "")),
        Case(name: "isEqual not a bool", body: valid.replacingOccurrences(of: #""isEqual":false"#, with: #""isEqual":"no""#)),
        Case(name: "bad regex", body: valid.replacingOccurrences(of: "api-.*", with: "api-(")),
        Case(name: "bad label name", body: valid.replacingOccurrences(of: #""name":"alertname""#, with: #""name":"1x""#)),
        Case(name: "no createdBy", body: valid.replacingOccurrences(of: #""createdBy":"ana","#, with: "")),
        Case(name: "time not RFC 3339", body: valid.replacingOccurrences(of: "2026-01-01T01:00:00Z", with: "tomorrow")),
        Case(name: "time a number", body: valid.replacingOccurrences(of: #""2026-01-01T01:00:00Z""#, with: "1700000000")),
        Case(name: "too many matchers", body: #"{"matchers":["# + Array(repeating: #"{"name":"a","value":"b","isRegex":false}"#, count: 65).joined(separator: ",")
            + #"],"startsAt":"2026-01-01T00:00:00Z","endsAt":"2026-01-01T01:00:00Z","createdBy":"a","comment":"c"}"#),
        Case(name: "deeply nested", body: String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)),
        Case(name: "deeply nested value", body: #"{"matchers":"# + String(repeating: "[", count: 50_000)),
        Case(name: "not UTF-8", body: String(decoding: [0x7B, 0xFF, 0xFE, 0x7D], as: UTF8.self)),
    ]

    @Test(arguments: refused)
    func malformedBodiesAreRefusedWithAReason(_ c: Case) {
        guard case .failure(let e) = parse(c.body) else {
            Issue.record("\(c.name): accepted")
            return
        }
        #expect([400, 422].contains(e.status) && !e.message.isEmpty, "\(c.name): \(e.status) \(e.message)")
    }

    @Test func aHugeCommentIsReadAndLeftToTheSilenceModelToRefuse() throws {
        let big = String(repeating: "x", count: 1 << 20)
        let s = try parse(Self.valid.replacingOccurrences(of: #""comment":"deploy""#, with: #""comment":"\#(big)""#)).get()
        #expect(s.comment.count == 1 << 20)
        let silences = Silences(clock: { 1_767_225_600_000 })
        #expect(throws: SilenceError.self) {
            try silences.set(id: nil, matchers: s.matchers, startsAt: s.startsAt, endsAt: s.endsAt, createdBy: s.createdBy, comment: s.comment)
        }
    }

    @Test func filtersAndBooleansAreReadAsAlertmanagerReadsThem() throws {
        #expect(Daemon.AlertmanagerAlertFilter.bool(nil) && Daemon.AlertmanagerAlertFilter.bool("") && Daemon.AlertmanagerAlertFilter.bool("Yes"))
        #expect(!Daemon.AlertmanagerAlertFilter.bool("false") && !Daemon.AlertmanagerAlertFilter.bool("nope"))
        #expect(try Daemon.AlertmanagerAlertFilter.matchers([#"alertname="X""#, "severity=~high|critical"]).count == 2)
        #expect(throws: AlertmanagerAPIError.self) { try Daemon.AlertmanagerAlertFilter.matchers(["alertname"]) }
        #expect(throws: AlertmanagerAPIError.self) { try Daemon.AlertmanagerAlertFilter.matchers([#"a=~"(""#]) }
    }

    @Test func theStatusConfigurationIsAnAlertmanagerConfigurationOfTheRoutes() throws {
        let notify = try NotifyConfig.parse("""
            notify:
              route:
                receiver: chat
                group_by: [alertname]
                repeat_interval: 90m
                routes:
                  - {matchers: ['severity="critical"', 'team=~"db|api"'], receiver: pager, continue: true, group_wait: 5s}
              inhibit:
                - {source_matchers: ['severity="critical"'], target_matchers: ['severity="high"'], equal: [alertname]}
              receivers:
                - {name: chat, webhook: {url: "http://127.0.0.1:1/secret-token"}}
                - {name: pager, stdout: {}}
            """, file: "t.yaml")
        let text = Daemon.alertmanagerConfigYAML(notify)
        #expect(!text.contains("secret-token"), "integrations are left out")
        let doc = try #require(try compose(yaml: text))
        let route = try #require(doc.mapping?["route"])
        #expect(route.mapping?["receiver"]?.string == "chat" && route.mapping?["repeat_interval"]?.string == "1h30m")
        let child = try #require(route.mapping?["routes"]?.sequence?.first)
        #expect(child.mapping?["matchers"]?.sequence?.compactMap(\.string) == [#"severity="critical""#, #"team=~"db|api""#])
        #expect(child.mapping?["continue"]?.bool == true && child.mapping?["group_wait"]?.string == "5s")
        #expect(doc.mapping?["receivers"]?.sequence?.compactMap { $0.mapping?["name"]?.string } == ["chat", "pager"])
        #expect(doc.mapping?["inhibit_rules"]?.sequence?.first?.mapping?["equal"]?.sequence?.compactMap(\.string) == ["alertname"])
        #expect(Daemon.alertmanagerConfigYAML(NotifyConfig()).isEmpty)
    }
}
