public import TimeSeries

/// One notification rendered for one integration, as the outbox stores and sends it.
///
/// Holds no secret: URLs, routing keys and HMAC keys are read when it is sent. Besides the
/// payload it keeps what the payload announces (`alerts`: each alert's fingerprint and whether it
/// fires) so that the outbox can withhold resolutions the integration must not hear (see
/// `FiringLedger`), and, when it announces a resolution, the notification itself so that the
/// payload can be rendered again without it.
public struct OutboxEntry: Sendable, Equatable {
    /// One alert as the payload announces it.
    public struct Announced: Sendable, Equatable {
        public var fingerprint: UInt64
        public var firing: Bool
        public init(fingerprint: UInt64, firing: Bool) {
            self.fingerprint = fingerprint
            self.firing = firing
        }
    }

    /// `<createdAt, 13 digits>-<sequence, 10 digits>`: names sort in creation order. Entries live
    /// in segment files (see `OutboxSegment`), which take the name of their first entry.
    public var name: String
    /// Sent as `Idempotency-Key`: derived from what is said (see `Notifier.integrationKey`), the
    /// same on every attempt, after restarts, and when a crash makes the notification again.
    public var idempotencyKey: String
    /// The integration it was rendered for.
    public var target: IntegrationIdentity
    /// The group's key (Alertmanager's `groupKey`); with the integration, the delivery lane.
    public var groupKey: String
    public var createdAt: Timestamp
    public var payload: Payload
    /// What the payload announces; empty for entries of earlier versions (nothing is withheld).
    public var alerts: [Announced]
    /// The notification as rendered, kept when it announces a resolution (to render it again
    /// without withheld resolutions); nil otherwise.
    public var notification: AlertNotification?
    /// For entries written by earlier versions: the integration's overall position.
    var legacyIndex: Int?

    public init(
        name: String, idempotencyKey: String, target: IntegrationIdentity, groupKey: String, createdAt: Timestamp, payload: Payload,
        alerts: [Announced] = [], notification: AlertNotification? = nil
    ) {
        self.name = name
        self.idempotencyKey = idempotencyKey
        self.target = target
        self.groupKey = groupKey
        self.createdAt = createdAt
        self.payload = payload
        self.alerts = alerts
        self.notification = notification
    }

    public var receiver: String { target.receiver }
    public var kind: String { target.kind }

    static let magicV1 = Array("AGENTOB1".utf8)
    static let magic = Array("AGENTOB2".utf8)
    /// Bodies are bounded by the services' own limits (PagerDuty's 512 KB is the largest); 4 MiB
    /// leaves room and stops a corrupt length from allocating without bound.
    static let maxBytes = 4 << 20
    /// Alerts one entry announces at most (a group beyond it is cut by its payload builder anyway).
    static let maxAlerts = 1 << 16

    /// The stored form: magic, fields, FNV-1a checksum of everything before it.
    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: payload.body.count + 256)
        w.raw(OutboxEntry.magic)
        w.string(idempotencyKey)
        w.string(target.receiver)
        w.string(target.kind)
        w.varint(target.kindIndex)
        w.fixed64(target.destination)
        w.string(groupKey)
        w.signed(createdAt)
        w.string(payload.contentType)
        w.varint(payload.query.count)
        for (k, v) in payload.query.sorted(by: { $0.key < $1.key }) {
            w.string(k)
            w.string(v)
        }
        w.blob(payload.body)
        w.varint(alerts.count)
        for a in alerts {
            w.fixed64(a.fingerprint)
            w.byte(a.firing ? 1 : 0)
        }
        if let notification {
            w.byte(1)
            NotificationCodec.write(notification, into: &w)
        } else {
            w.byte(0)
        }
        let sum = OutboxEntry.checksum(w.bytes[...])
        w.fixed64(sum)
        return w.bytes
    }

    /// Reads what `encoded()` wrote, or an entry of the previous format; throws on any damage.
    init(name: String, decoding bytes: [UInt8]) throws(CheckpointError) {
        guard bytes.count >= OutboxEntry.magic.count + 8 else { throw .truncated }
        let head = Array(bytes.prefix(OutboxEntry.magic.count))
        guard head == OutboxEntry.magic || head == OutboxEntry.magicV1 else { throw .notACheckpoint }
        let content = bytes[..<(bytes.count - 8)]
        var tail = ByteReader(Array(bytes.suffix(8)))
        guard try tail.fixed64() == OutboxEntry.checksum(content) else { throw .checksumMismatch }
        var r = ByteReader(Array(content), position: OutboxEntry.magic.count)
        if head == OutboxEntry.magicV1 {
            try self.init(name: name, readingV1: &r)
        } else {
            let key = try r.string()
            let receiver = try r.string(), kind = try r.string()
            let kindIndex = try r.count(limit: 1 << 16)
            let destination = try r.fixed64()
            let groupKey = try r.string()
            let createdAt = try r.signed()
            let payload = try OutboxEntry.readPayload(&r)
            let n = try r.count(limit: OutboxEntry.maxAlerts)
            var alerts: [Announced] = []
            alerts.reserveCapacity(n)
            for _ in 0..<n {
                let fp = try r.fixed64()
                let flag = try r.byte()
                guard flag <= 1 else { throw .malformed("outbox entry \(name): bad alert flag") }
                alerts.append(Announced(fingerprint: fp, firing: flag == 1))
            }
            let hasNotification = try r.byte()
            guard hasNotification <= 1 else { throw .malformed("outbox entry \(name): bad notification flag") }
            let notification = hasNotification == 1 ? try NotificationCodec.read(&r) : nil
            self.init(
                name: name, idempotencyKey: key, target: IntegrationIdentity(receiver: receiver, kind: kind, kindIndex: kindIndex, destination: destination),
                groupKey: groupKey, createdAt: createdAt, payload: payload, alerts: alerts, notification: notification)
        }
        guard r.atEnd else { throw .malformed("outbox entry \(name): trailing bytes") }
    }

    /// The previous format: no alerts, the integration by its overall position, the lane as
    /// `receiver/kind[index] \u{1} groupKey`.
    private init(name: String, readingV1 r: inout ByteReader) throws(CheckpointError) {
        let key = try r.string(), receiver = try r.string()
        let index = try r.count(limit: 1 << 16)
        let kind = try r.string(), lane = try r.string()
        let createdAt = try r.signed()
        let payload = try OutboxEntry.readPayload(&r)
        let groupKey = lane.firstIndex(of: "\u{1}").map { String(lane[lane.index(after: $0)...]) } ?? lane
        self.init(
            name: name, idempotencyKey: key, target: IntegrationIdentity(receiver: receiver, kind: kind, kindIndex: index),
            groupKey: groupKey, createdAt: createdAt, payload: payload)
        legacyIndex = index
    }

    private static func readPayload(_ r: inout ByteReader) throws(CheckpointError) -> Payload {
        let contentType = try r.string()
        let queryCount = try r.count(limit: 64)
        var query: [String: String] = [:]
        for _ in 0..<queryCount {
            let k = try r.string()
            query[k] = try r.string()
        }
        return Payload(body: try r.blob(), contentType: contentType, query: query)
    }

    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes {
            h ^= UInt64(b)
            h &*= 0x0000_0100_0000_01b3
        }
        return h
    }
}
