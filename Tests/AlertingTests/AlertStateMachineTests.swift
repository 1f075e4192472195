import Testing
import TimeSeries
@testable import Alerting

/// Drives one series of a state machine through values at minute steps and records what it shows.
struct Drive {
    var machine: AlertStateMachine
    let labels = Labels(["alertname": "Errors", "job": "api"])

    /// Feeds `value` (nil: the series is absent) at minute `minute`; returns the alert's state and severity.
    mutating func at(_ minute: Double, _ value: Double?) -> String {
        let t = Timestamp(minute * 60_000)
        try! machine.evaluate(value.map { [(labels, $0)] } ?? [], at: t)
        guard let a = machine.alerts().first else { return "inactive" }
        return a.severity.map { "\(a.state.rawValue) \($0)" } ?? a.state.rawValue
    }
}

let fourTiers = [
    SeverityTier(severity: "critical", direction: .above, threshold: 0.25, holdDuration: 0),
    SeverityTier(severity: "high", direction: .above, threshold: 0.05),
    SeverityTier(severity: "medium", direction: .above, threshold: 0.01),
    SeverityTier(severity: "low", direction: .above, threshold: 0.005),
]

@Suite("Alert state machine")
struct AlertStateMachineTests {
    @Test("without tiers it behaves as Prometheus: inactive, pending for `for`, firing, resolved")
    func untieredLifecycle() {
        var d = Drive(machine: AlertStateMachine(name: "Errors", holdDuration: 120_000))
        #expect(d.at(0, nil) == "inactive")
        #expect(d.at(1, 1) == "pending")
        #expect(d.at(2, 1) == "pending")
        #expect(d.at(3, 1) == "firing")
        #expect(d.at(4, nil) == "resolved")
        let resolved = d.machine.alerts()[0]
        #expect(resolved.activeAt == 60_000 && resolved.firedAt == 180_000 && resolved.resolvedAt == 240_000)
    }

    @Test("a pending alert whose condition stops is dropped, and starts over when it returns")
    func pendingIsDropped() {
        var d = Drive(machine: AlertStateMachine(name: "Errors", holdDuration: 120_000))
        #expect(d.at(1, 1) == "pending")
        #expect(d.at(2, nil) == "inactive")
        #expect(d.at(3, 1) == "pending")
        #expect(d.at(4, 1) == "pending")
        #expect(d.at(5, 1) == "firing")
        #expect(d.machine.alerts()[0].activeAt == 180_000)
    }

    @Test("for: 0 fires at the first evaluation")
    func zeroForFiresAtOnce() {
        var d = Drive(machine: AlertStateMachine(name: "Errors", holdDuration: 0))
        #expect(d.at(1, 1) == "firing")
    }

    @Test("a resolved alert is kept 15 minutes, then forgotten")
    func resolvedRetention() {
        var d = Drive(machine: AlertStateMachine(name: "Errors", holdDuration: 0))
        #expect(d.at(1, 1) == "firing")
        #expect(d.at(2, nil) == "resolved")
        #expect(d.at(17, nil) == "resolved")
        #expect(d.at(17.1, nil) == "inactive")
    }

    @Test("a resolved alert that comes back starts again as pending, as a new alert")
    func resolvedComesBack() {
        var d = Drive(machine: AlertStateMachine(name: "Errors", holdDuration: 60_000))
        #expect(d.at(0, 1) == "pending")
        #expect(d.at(1, 1) == "firing")
        #expect(d.at(2, nil) == "resolved")
        #expect(d.at(3, 1) == "pending")
        #expect(d.machine.alerts()[0].firedAt == nil)
        #expect(d.at(4, 1) == "firing")
    }

    @Test("keep_firing_for keeps a firing alert through a gap shorter than it, and resolves after")
    func keepFiringFor() {
        var d = Drive(machine: AlertStateMachine(name: "Errors", holdDuration: 0, keepFiringFor: 120_000))
        #expect(d.at(0, 1) == "firing")
        #expect(d.at(1, nil) == "firing")
        #expect(d.at(2, nil) == "firing")
        #expect(d.at(2.5, 1) == "firing")  // back: the window starts over
        #expect(d.at(3, nil) == "firing")
        #expect(d.at(4.9, nil) == "firing")
        #expect(d.at(5, nil) == "resolved")
        #expect(d.machine.alerts()[0].resolvedAt == 300_000)
    }

    @Test("keep_firing_for does not keep a pending alert")
    func keepFiringForIgnoresPending() {
        var d = Drive(machine: AlertStateMachine(name: "Errors", holdDuration: 300_000, keepFiringFor: 600_000))
        #expect(d.at(0, 1) == "pending")
        #expect(d.at(1, nil) == "inactive")
    }

    @Test("tiers: a pending alert fires at the most severe tier that has held for its `for`")
    func firesAtMostSevereReachedTier() {
        var d = Drive(machine: AlertStateMachine(name: "Errors", holdDuration: 120_000, tiers: fourTiers))
        #expect(d.at(0, 0.001) == "inactive")
        #expect(d.at(1, 0.007) == "pending low")
        #expect(d.at(2, 0.02) == "pending medium")
        #expect(d.at(3, 0.02) == "firing low")      // low held 2m; medium only 1m
        #expect(d.at(4, 0.02) == "firing medium")   // escalation once medium held 2m
    }

    @Test("tiers: escalation waits for the tier's own `for`; `for: 0s` escalates at once")
    func escalation() {
        var d = Drive(machine: AlertStateMachine(name: "Errors", holdDuration: 120_000, tiers: fourTiers))
        _ = d.at(0, 0.02)
        #expect(d.at(2, 0.02) == "firing medium")
        #expect(d.at(3, 0.1) == "firing medium")   // high needs 2m
        #expect(d.at(4, 0.1) == "firing medium")
        #expect(d.at(5, 0.1) == "firing high")
        #expect(d.at(6, 0.3) == "firing critical") // critical: for 0s
        let a = d.machine.alerts()[0]
        #expect(a.previousSeverity == "high" && a.severityChangedAt == 360_000)
        #expect(a.activeAt == 0 && a.firedAt == 120_000)  // a tier change is the same alert
        #expect(a.identity == Labels(["alertname": "Errors", "job": "api"]))
    }

    @Test("tiers: a spike to a higher tier that does not last its `for` changes nothing")
    func shortSpikeDoesNotEscalate() {
        var d = Drive(machine: AlertStateMachine(name: "Errors", holdDuration: 120_000, tiers: fourTiers))
        _ = d.at(0, 0.02)
        #expect(d.at(2, 0.02) == "firing medium")
        #expect(d.at(3, 0.1) == "firing medium")
        #expect(d.at(4, 0.02) == "firing medium")
        #expect(d.at(5, 0.1) == "firing medium")  // the run at high started over at 5m
        #expect(d.at(6, 0.1) == "firing medium")
        #expect(d.at(7, 0.1) == "firing high")
    }

    @Test("tiers: de-escalation is immediate without keep_firing_for, to the tier that holds now")
    func deEscalation() {
        var d = Drive(machine: AlertStateMachine(name: "Errors", holdDuration: 0, tiers: fourTiers))
        #expect(d.at(0, 0.3) == "firing critical")
        #expect(d.at(1, 0.02) == "firing medium")
        let a = d.machine.alerts()[0]
        #expect(a.previousSeverity == "critical" && a.severityChangedAt == 60_000)
    }

    @Test("tiers: de-escalation waits keep_firing_for, like resolution")
    func deEscalationHonoursKeepFiringFor() {
        var d = Drive(machine: AlertStateMachine(name: "Errors", holdDuration: 0, keepFiringFor: 120_000, tiers: fourTiers))
        #expect(d.at(0, 0.3) == "firing critical")
        #expect(d.at(1, 0.02) == "firing critical")
        #expect(d.at(2, 0.3) == "firing critical")   // back: the grace starts over
        #expect(d.at(3, 0.02) == "firing critical")
        #expect(d.at(4, 0.02) == "firing critical")
        #expect(d.at(5, 0.02) == "firing medium")
    }

    @Test("hysteresis: a firing alert stays at the least severe tier until the value crosses recover_below")
    func hysteresisAbove() {
        var d = Drive(machine: AlertStateMachine(name: "Errors", holdDuration: 0, tiers: fourTiers, recovery: 0.004))
        #expect(d.at(0, 0.02) == "firing medium")
        #expect(d.at(1, 0.0045) == "firing low")     // meets no tier, but above 0.004
        #expect(d.at(2, 0.004) == "firing low")      // exactly at the recovery threshold: not crossed
        #expect(d.at(3, 0.0039) == "resolved low")
    }

    @Test("hysteresis does not apply to a pending alert")
    func hysteresisNotForPending() {
        var d = Drive(machine: AlertStateMachine(name: "Errors", holdDuration: 300_000, tiers: fourTiers, recovery: 0.004))
        #expect(d.at(0, 0.02) == "pending medium")
        #expect(d.at(1, 0.0045) == "inactive")
    }

    @Test("hysteresis with `below` tiers: recover_above")
    func hysteresisBelow() {
        let tiers = [
            SeverityTier(severity: "high", direction: .below, threshold: 0.5),
            SeverityTier(severity: "medium", direction: .below, threshold: 0.7),
        ]
        var d = Drive(machine: AlertStateMachine(name: "Errors", holdDuration: 0, tiers: tiers, recovery: 0.75))
        #expect(d.at(0, 0.8) == "inactive")
        #expect(d.at(1, 0.65) == "firing medium")
        #expect(d.at(2, 0.4) == "firing high")
        #expect(d.at(3, 0.72) == "firing medium")
        #expect(d.at(4, 0.74) == "firing medium")
        #expect(d.at(5, 0.76) == "resolved medium")
    }

    @Test("hysteresis then keep_firing_for: the grace starts when the value crosses the recovery threshold")
    func hysteresisThenKeepFiring() {
        var d = Drive(machine: AlertStateMachine(name: "Errors", holdDuration: 0, keepFiringFor: 60_000, tiers: fourTiers, recovery: 0.004))
        #expect(d.at(0, 0.02) == "firing medium")
        #expect(d.at(1, 0.0045) == "firing medium")  // medium kept for keep_firing_for
        #expect(d.at(2, 0.0045) == "firing low")
        #expect(d.at(3, 0.001) == "firing low")
        #expect(d.at(4, 0.001) == "resolved low")
    }

    @Test("NaN meets no tier")
    func nanMeetsNoTier() {
        var d = Drive(machine: AlertStateMachine(name: "Errors", holdDuration: 0, tiers: fourTiers, recovery: 0.004))
        #expect(d.at(0, .nan) == "inactive")
        #expect(d.at(1, 0.3) == "firing critical")
        #expect(d.at(2, .nan) == "resolved critical")  // a resolved alert keeps its last tier
    }

    @Test("a static severity label of a rule without tiers is the alert's severity and part of its identity, as in Prometheus")
    func staticSeverity() throws {
        var m = AlertStateMachine(name: "Down", holdDuration: 0)
        try m.evaluate([(Labels(["alertname": "Down", "severity": "page", "job": "a"]), 1)], at: 0)
        let a = try #require(m.alerts().first)
        #expect(a.severity == "page")
        #expect(a.identity == Labels(["alertname": "Down", "job": "a", "severity": "page"]))
        #expect(a.labels == a.identity)
    }

    @Test("without tiers, results that differ only in severity are two alerts; with tiers they are one identity")
    func severityInIdentity() throws {
        var plain = AlertStateMachine(name: "Down", holdDuration: 0)
        try plain.evaluate([(Labels(["alertname": "Down", "severity": "a"]), 1), (Labels(["alertname": "Down", "severity": "b"]), 1)], at: 0)
        #expect(plain.alerts().map(\.severity) == ["a", "b"])
        var tiered = AlertStateMachine(name: "Down", holdDuration: 0, tiers: [SeverityTier(severity: "high", direction: .above, threshold: 0)])
        #expect(throws: AlertRuleError.self) {
            try tiered.evaluate([(Labels(["alertname": "Down", "severity": "a"]), 1), (Labels(["alertname": "Down", "severity": "b"]), 1)], at: 0)
        }
    }

    @Test("two results with the same identity fail the evaluation")
    func duplicateIdentity() {
        var m = AlertStateMachine(name: "Down", holdDuration: 0)
        #expect(throws: AlertRuleError.self) {
            try m.evaluate([(Labels(["alertname": "Down", "job": "a"]), 1), (Labels(["alertname": "Down", "job": "a"]), 2)], at: 0)
        }
    }

    @Test("more active alerts than the limit fail the evaluation and drop the rule's alerts")
    func limit() throws {
        var m = AlertStateMachine(name: "Down", holdDuration: 0, limit: 2)
        try m.evaluate([(Labels(["alertname": "Down", "i": "1"]), 1), (Labels(["alertname": "Down", "i": "2"]), 1)], at: 0)
        #expect(m.count == 2)
        #expect(throws: AlertRuleError.limitExceeded(limit: 2, alerts: 3)) {
            try m.evaluate((1...3).map { (Labels(["alertname": "Down", "i": "\($0)"]), 1.0) }, at: 60_000)
        }
        #expect(m.count == 0)
    }

    @Test("each label set is an alert of its own")
    func severalSeries() throws {
        var m = AlertStateMachine(name: "E", holdDuration: 0, tiers: fourTiers)
        try m.evaluate([(Labels(["alertname": "E", "job": "a"]), 0.3), (Labels(["alertname": "E", "job": "b"]), 0.02)], at: 0)
        #expect(m.alerts().map { $0.severity } == ["critical", "medium"])
    }
}
