import Alerting
import Foundation
import Testing
import TextRendering
import TimeSeries
@testable import Notify

/// Alerts leave the agent as Prometheus sends them (issue 14 item 4): `startsAt` the firing time,
/// a firing alert's `endsAt` no sooner than Prometheus's `ValidUntil`, `generatorURL` the rule's
/// expression link. The side-by-side run with a real Prometheus is AlertsAsPrometheusSendsThemTests.
@Suite struct AlertsAsSentTests {
    static let t0: Timestamp = 1_714_564_800_000
    static let link = "http://agent.test:9464/graph?g0.expr=up+%3D%3D+0&g0.tab=1"

    /// A rule's firing alert: pending since `t0 - 60 s`, fired at `t0`.
    func ruleAlert(validUntil: Timestamp?, generatorURL: String = AlertsAsSentTests.link) -> Alert {
        var a = Alert(
            identity: Labels(["alertname": "Down", "job": "api"]), severity: "high", annotations: ["summary": "api down"],
            state: .firing, value: 1, activeAt: Self.t0 - 60_000, firedAt: Self.t0, source: "rules/api.yaml:api")
        a.evaluatedAt = Self.t0
        a.validUntil = validUntil
        a.generatorURL = generatorURL
        return a
    }

    /// What a forwarding receiver (resend every minute, the default) is notified of `alert`.
    func notified(_ alert: Alert, externalURL: String = "http://agent.test:9464") throws -> AlertNotification {
        let clock = ManualClock(Self.t0)
        let d = Dispatcher(
            route: try Route(root: .init(receiver: "am", groupWait: .zero)), silences: Silences(clock: clock.read),
            timings: ["am": .init(resendInterval: .seconds(60))], externalURL: externalURL, clock: clock.read)
        return try #require(d.receive([alert]).first)
    }

    func item(_ n: AlertNotification) throws -> [String: Any] {
        let body = AlertmanagerReceiver().payload(for: n).body
        return try #require((try JSONSerialization.jsonObject(with: Data(body)) as? [[String: Any]])?.first)
    }

    @Test func startsAtIsTheFiringTimeNotThePendingStart() throws {
        let n = try notified(ruleAlert(validUntil: Self.t0 + 240_000))
        #expect(n.alerts[0].startsAt == Self.t0)
        #expect(try item(n)["startsAt"] as? String == "2024-05-01T12:00:00Z")
        let hook = try JSONSerialization.jsonObject(with: Data(WebhookReceiver().payload(for: n).body)) as? [String: Any]
        #expect(((hook?["alerts"] as? [[String: Any]])?.first?["startsAt"]) as? String == "2024-05-01T12:00:00Z")
    }

    @Test func generatorURLIsTheRulesLinkAndTheExternalURLWithoutOne() throws {
        #expect(try item(notified(ruleAlert(validUntil: nil)))["generatorURL"] as? String == Self.link)
        let hook = try JSONSerialization.jsonObject(with: Data(WebhookReceiver().payload(for: notified(ruleAlert(validUntil: nil))).body)) as? [String: Any]
        #expect(((hook?["alerts"] as? [[String: Any]])?.first?["generatorURL"]) as? String == Self.link)
        // A long expression's link goes whole, as Prometheus sends it (chat links stop at 2 KiB).
        let long = "http://agent.test:9464/graph?g0.expr=" + String(repeating: "up%7Bjob%3D%22api%22%7D+or+", count: 200) + "up&g0.tab=1"
        #expect(try item(notified(ruleAlert(validUntil: nil, generatorURL: long)))["generatorURL"] as? String == long)
                // A gate's verdict has no expression: the agent's external URL; with none, no field at all.
        #expect(try item(notified(ruleAlert(validUntil: nil, generatorURL: "")))["generatorURL"] as? String == "http://agent.test:9464")
        #expect(try item(notified(ruleAlert(validUntil: nil, generatorURL: ""), externalURL: ""))["generatorURL"] == nil)
    }

    @Test(arguments: [
        (Int64(240_000), Int64(240_000)),  // Prometheus's and ours agree (1m intervals)
        (Int64(1_200_000), Int64(1_200_000)),  // a 5m rule group: Prometheus's 20 minutes, not our 4
        (Int64(30_000), Int64(240_000)),  // never sooner than our next send allows
    ])
    func aFiringAlertsEndsAtIsTheLaterValidity(validFor: Int64, expected: Int64) throws {
        let n = try notified(ruleAlert(validUntil: Self.t0 + validFor))
        #expect(n.validUntil == Self.t0 + 240_000)
        let endsAt = try #require((try item(n)["endsAt"] as? String).flatMap(RFC3339.parse))
        #expect(endsAt == Self.t0 + expected)
    }

    @Test func externalLabelsAreAddedAndTheAlertsOwnWinOnConflict() {
        let a = ruleAlert(validUntil: nil).addingExternalLabels(Labels(["sender": "agent", "job": "external", "dc": "eu"]))
        #expect(a.labels == Labels(["alertname": "Down", "job": "api", "sender": "agent", "dc": "eu", "severity": "high"]))
        #expect(a.severity == "high")
        #expect(ruleAlert(validUntil: nil).addingExternalLabels(Labels()) == ruleAlert(validUntil: nil))
    }
}
