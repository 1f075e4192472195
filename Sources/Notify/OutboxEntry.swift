public import TimeSeries

/// One notification rendered for one integration, as the outbox stores and sends it.
///
/// Holds no secret: URLs, routing keys and HMAC keys are read when it is sent.
public struct OutboxEntry: Sendable, Equatable {
    /// File name in the outbox directory: `<createdAt, 13 digits>-<sequence, 10 digits>.entry`,
    /// so names sort in creation order.
    public var name: String
    /// Sent as `Idempotency-Key`: the notification's key, the same on every attempt and after restarts.
    public var idempotencyKey: String
    public var receiver: String
    public var integrationIndex: Int
    /// The integration's kind when rendered; a later configuration with another kind at this index does not get it.
    public var kind: String
    /// Entries of one lane (receiver, integration, group) are delivered in order, one at a time.
    public var lane: String
    public var createdAt: Timestamp
    public var payload: Payload

    public init(
        name: String, idempotencyKey: String, receiver: String, integrationIndex: Int, kind: String, lane: String,
        createdAt: Timestamp, payload: Payload
    ) {
        self.name = name
        self.idempotencyKey = idempotencyKey
        self.receiver = receiver
        self.integrationIndex = integrationIndex
        self.kind = kind
        self.lane = lane
        self.createdAt = createdAt
        self.payload = payload
    }

    static let magic = Array("AGENTOB1".utf8)
    /// Bodies are bounded by the services' own limits (PagerDuty's 512 KB is the largest); 4 MiB
    /// leaves room and stops a corrupt length from allocating without bound.
    static let maxBytes = 4 << 20

    /// The file content: magic, fields, FNV-1a checksum of everything before it.
    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: payload.body.count + 256)
        w.raw(OutboxEntry.magic)
        w.string(idempotencyKey)
        w.string(receiver)
        w.varint(integrationIndex)
        w.string(kind)
        w.string(lane)
        w.signed(createdAt)
        w.string(payload.contentType)
        w.varint(payload.query.count)
        for (k, v) in payload.query.sorted(by: { $0.key < $1.key }) {
            w.string(k)
            w.string(v)
        }
        w.blob(payload.body)
        let sum = OutboxEntry.checksum(w.bytes[...])
        w.fixed64(sum)
        return w.bytes
    }

    /// Reads a file written by `encoded()`; throws on any damage.
    init(name: String, decoding bytes: [UInt8]) throws(CheckpointError) {
        guard bytes.count >= OutboxEntry.magic.count + 8 else { throw .truncated }
        guard Array(bytes.prefix(OutboxEntry.magic.count)) == OutboxEntry.magic else { throw .notACheckpoint }
        let content = bytes[..<(bytes.count - 8)]
        var tail = ByteReader(Array(bytes.suffix(8)))
        guard try tail.fixed64() == OutboxEntry.checksum(content) else { throw .checksumMismatch }
        let contentBytes = Array(content)
        var r = ByteReader(contentBytes, position: OutboxEntry.magic.count)
        let key = try r.string(), receiver = try r.string()
        let index = try r.count(limit: 1 << 16)
        let kind = try r.string(), lane = try r.string()
        let createdAt = try r.signed()
        let contentType = try r.string()
        let queryCount = try r.count(limit: 64)
        var query: [String: String] = [:]
        for _ in 0..<queryCount {
            let k = try r.string()
            query[k] = try r.string()
        }
        let body = try r.blob()
        guard r.atEnd else { throw .malformed("outbox entry \(name): trailing bytes") }
        self.init(
            name: name, idempotencyKey: key, receiver: receiver, integrationIndex: index, kind: kind, lane: lane,
            createdAt: createdAt, payload: Payload(body: body, contentType: contentType, query: query))
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
