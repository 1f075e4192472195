import Testing
import TimeSeries
@testable import Alerting

@Suite("Alert states across a restart")
struct AlertStateCheckpointTests {
    let key = RuleKey(file: "rules/api.yaml", group: "api", rule: "Errors")
    let labels = Labels(["alertname": "Errors", "job": "api"])

    func roundTrip(_ m: AlertStateMachine, at savedAt: Timestamp) throws -> AlertStateCheckpoint {
        var c = AlertStateCheckpoint(savedAt: savedAt)
        c.add(m, key: key)
        return try AlertStateCheckpoint(decoding: c.encoded())
    }

    @Test("encoding and decoding gives back every field of every alert")
    func roundTripKeepsEverything() throws {
        var m = AlertStateMachine(name: "Errors", holdDuration: 60_000, keepFiringFor: 120_000, tiers: fourTiers, recovery: 0.004)
        try m.evaluate([(labels, 0.02), (Labels(["alertname": "Errors", "job": "b"]), 0.3)], at: 0)
        try m.evaluate([(labels, 0.3), (Labels(["alertname": "Errors", "job": "b"]), 0.3)], at: 60_000)
        try m.evaluate([(labels, 0.3)], at: 120_000)
        m.setAnnotations(["summary": "über 30 %", "x": ""], for: labels)
        let decoded = try roundTrip(m, at: 120_000)
        var restored = AlertStateMachine(name: "Errors", holdDuration: 60_000, keepFiringFor: 120_000, tiers: fourTiers, recovery: 0.004)
        #expect(decoded.restore(into: &restored, key: key, now: 120_000) == 2)
        #expect(restored.tracked == m.tracked)
        #expect(decoded.savedAt == 120_000)
    }

    @Test("a firing alert is not fired again after a restart")
    func firingStaysFiring() throws {
        var m = AlertStateMachine(name: "Errors", holdDuration: 60_000)
        try m.evaluate([(labels, 1)], at: 0)
        try m.evaluate([(labels, 1)], at: 60_000)
        #expect(m.alerts()[0].state == .firing)
        let checkpoint = try roundTrip(m, at: 60_000)
        var after = AlertStateMachine(name: "Errors", holdDuration: 60_000)
        checkpoint.restore(into: &after, key: key, now: 600_000)
        try after.evaluate([(labels, 1)], at: 600_000)
        let a = try #require(after.alerts().first)
        #expect(a.state == .firing)
        #expect(a.firedAt == 60_000)  // the same firing: notifications see no new alert
    }

    @Test("a firing alert that is gone after the restart resolves")
    func firingThenGoneResolves() throws {
        var m = AlertStateMachine(name: "Errors", holdDuration: 0)
        try m.evaluate([(labels, 1)], at: 0)
        let checkpoint = try roundTrip(m, at: 0)
        var after = AlertStateMachine(name: "Errors", holdDuration: 0)
        checkpoint.restore(into: &after, key: key, now: 60_000)
        try after.evaluate([], at: 60_000)
        #expect(after.alerts().first?.state == .resolved)
    }

    @Test("a pending alert keeps the time it spent pending; the outage does not count")
    func pendingKeepsItsProgress() throws {
        var m = AlertStateMachine(name: "Errors", holdDuration: 300_000)
        try m.evaluate([(labels, 1)], at: 0)
        try m.evaluate([(labels, 1)], at: 180_000)  // 3 of 5 minutes
        let checkpoint = try roundTrip(m, at: 180_000)
        var after = AlertStateMachine(name: "Errors", holdDuration: 300_000)
        checkpoint.restore(into: &after, key: key, now: 780_000, forGracePeriod: 0)  // down for 10 minutes
        try after.evaluate([(labels, 1)], at: 780_000)
        #expect(after.alerts()[0].state == .pending)
        try after.evaluate([(labels, 1)], at: 899_000)
        #expect(after.alerts()[0].state == .pending)
        try after.evaluate([(labels, 1)], at: 900_000)  // 3 + 2 minutes of evidence
        #expect(after.alerts()[0].state == .firing)
    }

    @Test("a restored pending alert with little time left gets the grace period, when its `for` is that long")
    func gracePeriod() throws {
        var m = AlertStateMachine(name: "Errors", holdDuration: 1_800_000)  // for: 30m
        try m.evaluate([(labels, 1)], at: 0)
        try m.evaluate([(labels, 1)], at: 1_740_000)  // 29 minutes in
        let checkpoint = try roundTrip(m, at: 1_740_000)
        var after = AlertStateMachine(name: "Errors", holdDuration: 1_800_000)
        checkpoint.restore(into: &after, key: key, now: 1_800_000)
        try after.evaluate([(labels, 1)], at: 1_800_000 + 599_000)
        #expect(after.alerts()[0].state == .pending)
        try after.evaluate([(labels, 1)], at: 1_800_000 + 600_000)
        #expect(after.alerts()[0].state == .firing)
    }

    @Test("resolved alerts come back only within their 15 minutes")
    func resolvedRetention() throws {
        var m = AlertStateMachine(name: "Errors", holdDuration: 0)
        try m.evaluate([(labels, 1)], at: 0)
        try m.evaluate([], at: 60_000)
        let checkpoint = try roundTrip(m, at: 60_000)
        var soon = AlertStateMachine(name: "Errors", holdDuration: 0)
        #expect(checkpoint.restore(into: &soon, key: key, now: 120_000) == 1)
        var late = AlertStateMachine(name: "Errors", holdDuration: 0)
        #expect(checkpoint.restore(into: &late, key: key, now: 60_000 + 16 * 60_000) == 0)
    }

    @Test("states of another rule are not restored")
    func otherRule() throws {
        var m = AlertStateMachine(name: "Errors", holdDuration: 0)
        try m.evaluate([(labels, 1)], at: 0)
        let checkpoint = try roundTrip(m, at: 0)
        var other = AlertStateMachine(name: "Errors", holdDuration: 0)
        #expect(checkpoint.restore(into: &other, key: RuleKey(file: "rules/api.yaml", group: "api2", rule: "Errors"), now: 0) == 0)
    }

    @Test("truncated, corrupted and foreign bytes are refused, never crash")
    func hostileBytes() throws {
        var m = AlertStateMachine(name: "Errors", holdDuration: 0, tiers: fourTiers)
        try m.evaluate([(labels, 0.3)], at: 0)
        m.setAnnotations(["summary": "s"], for: labels)
        var c = AlertStateCheckpoint(savedAt: 0)
        c.add(m, key: key)
        let bytes = c.encoded()
        for n in 0..<bytes.count {
            #expect(throws: CheckpointError.self) { try AlertStateCheckpoint(decoding: Array(bytes[..<n])) }
        }
        #expect(throws: CheckpointError.self) { try AlertStateCheckpoint(decoding: bytes + [0]) }
        #expect(throws: CheckpointError.self) { try AlertStateCheckpoint(decoding: [2] + bytes.dropFirst()) }
        // Every single-byte corruption either decodes to something or throws; none crashes.
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            var b = bytes
            b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            _ = try? AlertStateCheckpoint(decoding: b)
        }
        #expect(throws: CheckpointError.self) { try AlertStateCheckpoint(decoding: [1, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]) }
    }
}
