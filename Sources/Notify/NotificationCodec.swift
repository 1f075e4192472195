import Alerting
import TimeSeries

/// `AlertNotification` in the outbox's binary form (inside an entry, whose checksum covers it):
/// what the outbox needs to render a notification again without the resolutions it withholds.
/// Every count is bounded before anything is allocated.
///
/// Version 2 adds, after each alert's history, Prometheus's `validUntil` and `generatorURL`
/// (the Alertmanager forwarder's `endsAt` and link, the webhook's `generatorURL`): without them a
/// notification rendered again from disk told Alertmanager only the external URL and an `endsAt`
/// without the rule's hold. Version 1 is still read; its alerts have neither (as before).
enum NotificationCodec {
    static let version: UInt8 = 2
    /// The first format, still read.
    static let versionWithoutAlertLinks: UInt8 = 1
    static let maxAlerts = 1 << 16
    static let maxAnnotations = 1 << 12
    static let maxPoints = 1 << 16

    static func write(_ n: AlertNotification, into w: inout ByteWriter) {
        w.byte(version)
        w.string(n.receiver)
        w.string(n.groupKey)
        w.blob(n.groupLabels.encoded)
        w.string(n.reason.rawValue)
        w.string(n.idempotencyKey)
        w.signed(n.createdAt)
        w.signed(n.validUntil)
        w.string(n.externalURL)
        w.varint(n.alerts.count)
        for a in n.alerts { write(a, into: &w) }
    }

    static func read(_ r: inout ByteReader) throws(CheckpointError) -> AlertNotification {
        let v = try r.byte()
        guard v == version || v == versionWithoutAlertLinks else { throw .malformed("stored notification: unknown version \(v)") }
        let receiver = try r.string(), groupKey = try r.string()
        let groupLabels = try labels(&r)
        let reasonText = try r.string()
        guard let reason = AlertNotification.Reason(rawValue: reasonText) else { throw .malformed("stored notification: reason \(reasonText)") }
        let key = try r.string()
        let createdAt = try r.signed(), validUntil = try r.signed()
        let externalURL = try r.string()
        let n = try r.count(limit: maxAlerts)
        var alerts: [NotifiedAlert] = []
        for _ in 0..<n { alerts.append(try readAlert(&r, version: v)) }
        return AlertNotification(
            receiver: receiver, groupKey: groupKey, groupLabels: groupLabels, alerts: alerts, reason: reason, idempotencyKey: key,
            createdAt: createdAt, validUntil: validUntil, externalURL: externalURL)
    }

    static func write(_ a: NotifiedAlert, into w: inout ByteWriter) {
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
        w.optionalSigned(a.validUntil)
        w.string(a.generatorURL)
    }

    static func readAlert(_ r: inout ByteReader, version: UInt8) throws(CheckpointError) -> NotifiedAlert {
        let status = try r.byte()
        guard status <= 1 else { throw .malformed("stored alert: bad status") }
        let alertLabels = try labels(&r)
        let count = try r.count(limit: maxAnnotations)
        var annotations: [String: String] = [:]
        for _ in 0..<count {
            let k = try r.string()
            annotations[k] = try r.string()
        }
        let severity = try r.optionalString()
        let startsAt = try r.signed()
        let endsAt = try r.optionalSigned()
        let value = try r.double()
        let fingerprint = try r.fixed64()
        let source = try r.string()
        let previousSeverity = try r.optionalString()
        let evaluatedAt = try r.optionalSigned()
        var history: ValueHistory?
        switch try r.byte() {
        case 0: break
        case 1:
            let end = try r.signed(), step = try r.signed()
            let steps = try r.count(limit: maxPoints)
            let n = try r.count(limit: maxPoints)
            var points: [Sample] = []
            for _ in 0..<n {
                let t = try r.signed()
                points.append(Sample(timestamp: t, value: try r.double()))
            }
            history = ValueHistory(end: end, step: step, steps: steps, points: points)
        default: throw .malformed("stored alert: bad history flag")
        }
        var validUntil: Timestamp?
        var generatorURL = ""
        if version >= 2 {
            validUntil = try r.optionalSigned()
            generatorURL = try r.string()
        }
        return NotifiedAlert(
            status: status == 1 ? .firing : .resolved, labels: alertLabels, annotations: annotations, severity: severity, startsAt: startsAt,
            endsAt: endsAt, value: value, fingerprint: fingerprint, source: source, previousSeverity: previousSeverity,
            evaluatedAt: evaluatedAt, history: history, validUntil: validUntil, generatorURL: generatorURL)
    }

    static func labels(_ r: inout ByteReader) throws(CheckpointError) -> Labels {
        guard let l = Labels(encoded: try r.blob()) else { throw .malformed("stored notification: bad labels") }
        return l
    }
}
