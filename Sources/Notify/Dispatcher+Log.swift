public import TimeSeries

/// What a group last told its receiver: kept across restarts (checkpoint) and reloads, so the
/// agent does not notify again about alerts the receivers already know, as Alertmanager's
/// notification log does.
public struct LogRecord: Sendable, Equatable {
    public var groupKey: String
    public var receiver: String
    /// Notifications sent for the group so far.
    public var sequence: UInt64
    /// When the last one was sent.
    public var at: Timestamp
    /// When the last one every integration got was sent (`at`, unless resends came after it).
    public var everyoneAt: Timestamp
    /// The firing alerts it contained (fingerprint → tier, `""` for none).
    public var firing: [UInt64: String]

    /// A record; `everyoneAt` defaults to `at` (the last notification went to every integration).
    public init(groupKey: String, receiver: String, sequence: UInt64, at: Timestamp, everyoneAt: Timestamp? = nil, firing: [UInt64: String]) {
        self.groupKey = groupKey
        self.receiver = receiver
        self.sequence = sequence
        self.at = at
        self.everyoneAt = everyoneAt ?? at
        self.firing = firing
    }
}

extension Dispatcher {
    /// The checkpoint section the daemon stores `encodedLog()` under.
    public static let checkpointSection = "notify.log"
    /// 2 added `everyoneAt`; version 1 logs are read with `everyoneAt` = `at`.
    static let logVersion: UInt8 = 2
    /// Records older than this are not kept: after a week the receivers' view is stale anyway.
    static let logRetention: Int64 = 7 * 24 * 3600 * 1000

    /// Every group's notification log (and restored records not yet used).
    public func exportLog() -> [LogRecord] {
        let now = clock()
        return state.withLock { state in
            var records = state.restored.filter { now - $0.value.at < Dispatcher.logRetention }
            for group in state.groups.values {
                guard let last = group.last else { continue }
                records[group.key + "\u{1}" + group.route.receiver] = LogRecord(
                    groupKey: group.key, receiver: group.route.receiver, sequence: group.sequence, at: last.at,
                    everyoneAt: last.everyoneAt, firing: last.firing)
            }
            return records.values.sorted { ($0.groupKey, $0.receiver) < ($1.groupKey, $1.receiver) }
        }
    }

    /// Takes records from `exportLog()` (of a previous run or configuration) or from the outbox:
    /// groups formed again with the same key and receiver continue from them; of two records for
    /// one group, the one with the higher sequence wins.
    public func importLog(_ records: [LogRecord]) {
        state.withLock { state in
            for record in records {
                let key = record.groupKey + "\u{1}" + record.receiver
                // Two sources (the checkpoint and the outbox) may know a group: the later record wins.
                if let held = state.restored[key], (held.sequence, held.at) >= (record.sequence, record.at) { continue }
                state.restored[key] = record
                for (fp, tier) in record.firing where state.notifiedTier[fp] == nil { state.notifiedTier[fp] = tier }
            }
        }
    }

    /// `exportLog()` as bytes for the checkpoint.
    public func encodedLog() -> [UInt8] { Dispatcher.encode(exportLog()) }

    /// Reads `encodedLog()` bytes and imports them; on any error nothing is imported.
    public func restoreLog(from bytes: [UInt8]) throws(CheckpointError) {
        importLog(try Dispatcher.decodeLog(bytes))
    }

    /// Records as bytes: the one form of the notification log, in the checkpoint's section, the
    /// outbox's segments and its state snapshot.
    public static func encode(_ records: [LogRecord]) -> [UInt8] {
        var w = ByteWriter()
        w.byte(Dispatcher.logVersion)
        w.varint(records.count)
        for r in records {
            w.string(r.groupKey)
            w.string(r.receiver)
            w.varint(r.sequence)
            w.signed(r.at)
            w.signed(r.everyoneAt)
            w.varint(r.firing.count)
            for (fp, tier) in r.firing.sorted(by: { $0.key < $1.key }) {
                w.fixed64(fp)
                w.string(tier)
            }
        }
        return w.bytes
    }

    /// Reads `encode` bytes; throws on any damage (nothing is returned then).
    public static func decodeLog(_ bytes: [UInt8]) throws(CheckpointError) -> [LogRecord] {
        var r = ByteReader(bytes)
        let version = try r.byte()
        guard version == 1 || version == Dispatcher.logVersion else { throw .malformed("notification log: unknown version \(version)") }
        let n = try r.count(limit: 1 << 20)
        var records: [LogRecord] = []
        for _ in 0..<n {
            let key = try r.string(), receiver = try r.string()
            let sequence = try r.varint()
            let at = try r.signed()
            let everyoneAt = version >= 2 ? try r.signed() : at
            let m = try r.count(limit: 1 << 20)
            var firing: [UInt64: String] = [:]
            for _ in 0..<m {
                let fp = try r.fixed64()
                firing[fp] = try r.string()
            }
            records.append(LogRecord(groupKey: key, receiver: receiver, sequence: sequence, at: at, everyoneAt: everyoneAt, firing: firing))
        }
        guard r.atEnd else { throw .malformed("notification log: trailing bytes") }
        return records
    }
}
