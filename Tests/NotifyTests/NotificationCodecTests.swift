import Alerting
import Foundation
import Testing
import TimeSeries
@testable import Notify

/// The outbox's stored notification: version 2 keeps every field a receiver sends (with each
/// alert's `validUntil` and `generatorURL`), version 1 files written before it are still read,
/// and damaged or hostile records are refused with an error, never a crash.
@Suite struct NotificationCodecTests {
    static let link = "http://agent.example:9090/prefix/graph?g0.expr=rate%28errors_total%5B5m%5D%29+%3E+0.5&g0.tab=1"

    /// Every field set, and differently per alert (nil, empty and present where a field may be).
    static let sample = AlertNotification(
        receiver: "am", groupKey: "{}/{severity=\"critical\"}:{alertname=\"Down\"}", groupLabels: Labels(["alertname": "Down"]),
        alerts: [
            NotifiedAlert(
                status: .firing, labels: Labels(["alertname": "Down", "instance": "db-2", "severity": "critical"]),
                annotations: ["summary": "db-2 is down", "description": "é ✓ <b>&"], severity: "critical", startsAt: 1_700_000_000_000,
                endsAt: nil, value: 0.75, fingerprint: 0xDEAD_BEEF_0000_0001, source: "rules/db.yaml:db", previousSeverity: "high",
                evaluatedAt: 1_700_000_030_000,
                history: ValueHistory(end: 1_700_000_020_000, step: 10_000, steps: 3, points: [Sample(timestamp: 1_700_000_000_000, value: 1)]),
                validUntil: 1_700_000_270_000, generatorURL: link),
            NotifiedAlert(
                status: .resolved, labels: Labels(["alertname": "Down", "instance": "db-3"]), annotations: [:], severity: nil,
                startsAt: -5, endsAt: 1_700_000_025_000, value: -.infinity, fingerprint: 2, source: "", validUntil: -1, generatorURL: ""),
            NotifiedAlert(
                status: .firing, labels: Labels(["alertname": "Down", "instance": "db-4"]), annotations: ["k": ""], severity: "low",
                startsAt: 0, endsAt: nil, value: 3, fingerprint: .max, source: "gate", validUntil: nil, generatorURL: "http://agent.example:9090"),
        ],
        reason: .severityChanged, idempotencyKey: "k-123", createdAt: 1_700_000_030_500, validUntil: 1_700_000_070_500,
        externalURL: "http://agent.example:9090/prefix")

    static func encoded(_ n: AlertNotification) -> [UInt8] {
        var w = ByteWriter()
        NotificationCodec.write(n, into: &w)
        return w.bytes
    }

    /// The bytes today's (version 1) encoder wrote for `n`, built field by field as it wrote them:
    /// no `validUntil` or `generatorURL` per alert (`theVersion1FixtureIsWhatVersion1Wrote`).
    static func version1(_ n: AlertNotification) -> [UInt8] {
        var w = ByteWriter()
        w.byte(1)
        w.string(n.receiver)
        w.string(n.groupKey)
        w.blob(n.groupLabels.encoded)
        w.string(n.reason.rawValue)
        w.string(n.idempotencyKey)
        w.signed(n.createdAt)
        w.signed(n.validUntil)
        w.string(n.externalURL)
        w.varint(n.alerts.count)
        for a in n.alerts {
            w.byte(a.status == .firing ? 1 : 0)
            w.blob(a.labels.encoded)
            w.varint(a.annotations.count)
            for (k, v) in a.annotations.sorted(by: { $0.key < $1.key }) {
                w.string(k)
                w.string(v)
            }
            w.optionalString(a.severity)
            w.signed(a.startsAt)
            w.optionalSigned(a.endsAt)
            w.double(a.value)
            w.fixed64(a.fingerprint)
            w.string(a.source)
            w.optionalString(a.previousSeverity)
            w.optionalSigned(a.evaluatedAt)
            if let h = a.history {
                w.byte(1)
                w.signed(h.end)
                w.signed(h.step)
                w.varint(h.steps)
                w.varint(h.points.count)
                for p in h.points {
                    w.signed(p.timestamp)
                    w.double(p.value)
                }
            } else {
                w.byte(0)
            }
        }
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(CheckpointError) -> (AlertNotification, atEnd: Bool) {
        var r = ByteReader(bytes)
        let n = try NotificationCodec.read(&r)
        return (n, r.atEnd)
    }

    @Test func version2KeepsEveryFieldOfEveryAlert() throws {
        let bytes = Self.encoded(Self.sample)
        #expect(bytes.first == 2)
        let (n, atEnd) = try Self.decode(bytes)
        #expect(atEnd)
        #expect(n == Self.sample)
        // Equatable covers them; said field by field so that a field added later and left out of
        // `==` would not hide here.
        #expect(n.alerts.map(\.validUntil) == [1_700_000_270_000, -1, nil])
        #expect(n.alerts.map(\.generatorURL) == [Self.link, "", "http://agent.example:9090"])
        #expect(n.alerts.map(\.evaluatedAt) == [1_700_000_030_000, nil, nil])
        #expect(n.alerts.map(\.previousSeverity) == ["high", nil, nil])
        #expect(n.alerts.map(\.history) == Self.sample.alerts.map(\.history))
        #expect(n.alerts[1].value == -.infinity)
        #expect(n.alerts.map(\.annotations) == Self.sample.alerts.map(\.annotations))
        #expect(n.externalURL == Self.sample.externalURL && n.validUntil == Self.sample.validUntil && n.createdAt == Self.sample.createdAt)
    }

    /// `Fixtures/notification-v1.hex`: `sample` as main's version 1 encoder wrote it (at 92b212d,
    /// before this format change), in hex.
    static func fixture() throws -> [UInt8] {
        let text = try String(contentsOf: notifyFixtures.appendingPathComponent("notification-v1.hex"), encoding: .utf8)
        let digits = Array(text.utf8.filter { $0 != UInt8(ascii: "\n") })
        return try stride(from: 0, to: digits.count, by: 2).map { i in
            try #require(UInt8(String(decoding: digits[i..<min(i + 2, digits.count)], as: UTF8.self), radix: 16))
        }
    }

    @Test func theVersion1FixtureIsWhatVersion1Wrote() throws {
        #expect(try Self.fixture() == Self.version1(Self.sample), "the field-by-field version 1 writer here matches main's encoder")
    }

    @Test func version1RecordsAreStillReadWithoutTheAlertsLinks() throws {
        let (n, atEnd) = try Self.decode(try Self.fixture())
        #expect(atEnd)
        var expected = Self.sample
        for i in expected.alerts.indices {
            expected.alerts[i].validUntil = nil
            expected.alerts[i].generatorURL = ""
        }
        #expect(n == expected, "every other field as version 1 stored it")
        // Written again, it is version 2 and reads back the same.
        let again = Self.encoded(n)
        #expect(again.first == 2)
        #expect(try Self.decode(again).0 == expected)
    }

    enum Format: String, CaseIterable, CustomTestStringConvertible {
        case v1, v2
        var testDescription: String { rawValue }
        var bytes: [UInt8] { self == .v1 ? NotificationCodecTests.version1(NotificationCodecTests.sample) : NotificationCodecTests.encoded(NotificationCodecTests.sample) }
    }

    @Test(arguments: Format.allCases)
    func everyTruncationIsRefused(format: Format) {
        let bytes = format.bytes
        for cut in 0..<bytes.count {
            #expect(throws: CheckpointError.self, "cut at \(cut) of \(bytes.count)") { try Self.decode(Array(bytes.prefix(cut))) }
        }
    }

    @Test func aVersion1BodyLabelledVersion2IsRefused() {
        var one = Self.sample
        one.alerts = [one.alerts[0]]
        var bytes = Self.version1(one)
        bytes[0] = 2
        #expect(throws: CheckpointError.truncated) { try Self.decode(bytes) }
    }

    @Test func unknownVersionsAreRefused() {
        for v: UInt8 in [0, 3, 0x80, 0xFF] {
            var bytes = Self.encoded(Self.sample)
            bytes[0] = v
            #expect(throws: CheckpointError.malformed("stored notification: unknown version \(v)")) { try Self.decode(bytes) }
        }
    }

    /// The bytes of a one-alert notification up to its alert's history flag (no history), so
    /// that a test can write its own `validUntil` and `generatorURL`.
    static func upToTheLinks() -> [UInt8] {
        var one = sample
        one.alerts = [NotifiedAlert(status: .firing, labels: Labels(["alertname": "A"]), annotations: [:], severity: nil, startsAt: 1, endsAt: nil, value: 1, fingerprint: 1, source: "")]
        var bytes = encoded(one)
        bytes.removeLast(2)  // validUntil absent (0), generatorURL "" (length 0)
        return bytes
    }

    @Test func hostileAlertLinksAreRefused() {
        var w = ByteWriter()
        w.raw(Self.upToTheLinks())
        w.byte(0)
        w.byte(0)
        #expect((try? Self.decode(w.bytes).0) != nil, "the plain record reads")

        // A presence byte other than 0 or 1.
        w = ByteWriter()
        w.raw(Self.upToTheLinks())
        w.byte(7)
        #expect(throws: CheckpointError.malformed("bad presence byte 7")) { try Self.decode(w.bytes) }

        // A varint of more than 64 bits as validUntil.
        w = ByteWriter()
        w.raw(Self.upToTheLinks())
        w.byte(1)
        w.raw([UInt8](repeating: 0xFF, count: 10) + [0x01])
        #expect(throws: CheckpointError.self) { try Self.decode(w.bytes) }

        // A generatorURL claiming a terabyte: refused before anything is allocated.
        w = ByteWriter()
        w.raw(Self.upToTheLinks())
        w.byte(0)
        w.varint(UInt64(1) << 40)
        w.raw(Array("http://x".utf8))
        #expect(throws: CheckpointError.truncated) { try Self.decode(w.bytes) }

        // The largest validUntil and a long link are kept exactly.
        w = ByteWriter()
        w.raw(Self.upToTheLinks())
        w.optionalSigned(.min)
        let long = "http://a/graph?g0.expr=" + String(repeating: "%7B", count: 20_000)
        w.string(long)
        let n = try? Self.decode(w.bytes).0
        #expect(n?.alerts.first?.validUntil == .min)
        #expect(n?.alerts.first?.generatorURL == long)
    }

    @Test func anAlertCountBeyondTheBoundIsRefused() {
        var w = ByteWriter()
        w.byte(2)
        for s in ["r", "g"] { w.string(s) }
        w.blob(Labels().encoded)
        w.string("new")
        w.string("k")
        w.signed(1)
        w.signed(2)
        w.string("")
        w.varint(NotificationCodec.maxAlerts + 1)
        #expect(throws: CheckpointError.malformed("count \(NotificationCodec.maxAlerts + 1) exceeds \(NotificationCodec.maxAlerts)")) { try Self.decode(w.bytes) }
    }

    /// Every byte overwritten with a few hostile values: refused, or read as something that
    /// writes and reads back the same. Never a crash.
    @Test(arguments: Format.allCases)
    func damagedBytesAreRefusedOrReadConsistently(format: Format) {
        let bytes = format.bytes
        for i in bytes.indices {
            for value: UInt8 in [0x00, 0x01, 0x7F, 0x80, 0xFF] where bytes[i] != value {
                var damaged = bytes
                damaged[i] = value
                guard let n = try? Self.decode(damaged).0 else { continue }
                // Compared as bytes: a damaged double may read as NaN, which is not == itself.
                let written = Self.encoded(n)
                #expect((try? Self.decode(written).0).map(Self.encoded) == written, "byte \(i) = \(value)")
            }
        }
    }
}
