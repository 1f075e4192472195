import TimeSeries

/// Which firing alerts each delivery lane (one integration, one group) has accepted, and which it
/// was never told about because their notification was refused, given up or dropped.
///
/// Rule: a resolution is withheld from an integration when the alert is in its lane's `refused`
/// set, i.e. the last notification that announced it firing there was not delivered, and no
/// delivered notification had announced it firing before. `told` only keeps an alert out of
/// `refused` when a later notification about it fails (it was heard firing before); losing it
/// (an old snapshot after a crash) can only withhold less, never a resolution that is due.
///
/// A value owned by the outbox, behind its lock (the delivery queue decides with it, the writer
/// queue snapshots it). Bounded: entries older than `retention` go at each snapshot, and beyond
/// `maxFingerprints` the oldest go.
struct FiringLedger: Equatable {
    struct Lane: Equatable {
        var told: [UInt64: Timestamp] = [:]
        var refused: [UInt64: Timestamp] = [:]
        var isEmpty: Bool { told.isEmpty && refused.isEmpty }
    }

    var lanes: [String: Lane] = [:]
    static let maxFingerprints = 100_000
    /// A week, as the notification log's records.
    static let retention: Int64 = 7 * 24 * 3600 * 1000

    /// The lane of an integration and a group.
    static func lane(_ integrationID: String, _ groupKey: String) -> String { integrationID + "\u{1}" + groupKey }

    func refused(_ lane: String) -> [UInt64: Timestamp] { lanes[lane]?.refused ?? [:] }

    /// A notification reached the integration: its firing alerts are known there, its resolved ones done.
    mutating func delivered(_ lane: String, firing: [UInt64], resolved: [UInt64], at now: Timestamp) {
        guard !firing.isEmpty || !resolved.isEmpty else { return }
        var l = lanes[lane] ?? Lane()
        for fp in firing {
            l.told[fp] = now
            l.refused[fp] = nil
        }
        for fp in resolved {
            l.told[fp] = nil
            l.refused[fp] = nil
        }
        lanes[lane] = l.isEmpty ? nil : l
    }

    /// A notification did not reach it: its firing alerts that were not heard before are refused.
    mutating func notDelivered(_ lane: String, firing: [UInt64], at now: Timestamp) {
        var l = lanes[lane] ?? Lane()
        for fp in firing where l.told[fp] == nil { l.refused[fp] = now }
        lanes[lane] = l.isEmpty ? nil : l
    }


    /// Moves the lanes of integrations a reload renamed (`old id → new id`), and drops those of
    /// integrations it removed (`old id → nil`).
    mutating func rename(_ mapping: [String: String?]) {
        guard !mapping.isEmpty else { return }
        var out: [String: Lane] = [:]
        for (key, lane) in lanes {
            guard let sep = key.firstIndex(of: "\u{1}") else { continue }
            let id = String(key[..<sep])
            let target: String?
            if let mapped = mapping[id] { target = mapped } else { target = id }
            guard let target else { continue }
            let newKey = target + key[sep...]
            if var existing = out[newKey] {
                existing.told.merge(lane.told) { max($0, $1) }
                existing.refused.merge(lane.refused) { max($0, $1) }
                out[newKey] = existing
            } else {
                out[newKey] = lane
            }
        }
        lanes = out
    }

    var count: Int { lanes.values.reduce(0) { $0 + $1.told.count + $1.refused.count } }

    /// Drops what is older than `retention`, then the oldest beyond `maxFingerprints`; returns how many went.
    @discardableResult
    mutating func prune(now: Timestamp, max limit: Int = FiringLedger.maxFingerprints) -> Int {
        var removed = 0
        for (key, var l) in lanes {
            let before = l.told.count + l.refused.count
            l.told = l.told.filter { now - $0.value < FiringLedger.retention }
            l.refused = l.refused.filter { now - $0.value < FiringLedger.retention }
            removed += before - l.told.count - l.refused.count
            lanes[key] = l.isEmpty ? nil : l
        }
        var total = count
        guard total > limit else { return removed }
        var all: [(at: Timestamp, lane: String, fp: UInt64, refused: Bool)] = []
        for (key, l) in lanes {
            for (fp, at) in l.told { all.append((at, key, fp, false)) }
            for (fp, at) in l.refused { all.append((at, key, fp, true)) }
        }
        all.sort { $0.at < $1.at }
        for victim in all where total > limit {
            if victim.refused { lanes[victim.lane]?.refused[victim.fp] = nil } else { lanes[victim.lane]?.told[victim.fp] = nil }
            if lanes[victim.lane]?.isEmpty == true { lanes[victim.lane] = nil }
            total -= 1
            removed += 1
        }
        return removed
    }
}

/// The outbox's snapshot file, `<outbox>/state`: the notification log as far as the outbox holds
/// it (each group's last record) and the firing ledger. Written atomically and durably (temp,
/// fsync, rename, fsync of the directory) on the outbox's writer queue when the journal grew past
/// `OutboxJournal.compactBytes`, after a reload that renamed integrations, after records were
/// imported from a checkpoint, and at open when the journal or the state was damaged; the journal
/// is emptied after it. Starting and stopping cost no flush of their own.
///
/// Form: magic, a blob (version, log records in `Dispatcher.encode`'s form, ledger lanes), the
/// FNV-1a checksum of the blob. A damaged file is set aside (`corrupt/`) and the outbox starts
/// from its segments and the checkpoint's log.
enum OutboxState {
    static let magic = Array("AGENTOX1".utf8)
    static let fileName = "state"
    static let version: UInt8 = 1
    static let maxFileBytes = 256 << 20

    static func encode(records: [LogRecord], ledger: FiringLedger) -> [UInt8] {
        var body = ByteWriter()
        body.byte(version)
        body.blob(Dispatcher.encode(records))
        body.varint(ledger.lanes.count)
        for (key, lane) in ledger.lanes.sorted(by: { $0.key < $1.key }) {
            body.string(key)
            for set in [lane.told, lane.refused] {
                body.varint(set.count)
                for (fp, at) in set.sorted(by: { $0.key < $1.key }) {
                    body.fixed64(fp)
                    body.signed(at)
                }
            }
        }
        var w = ByteWriter()
        w.raw(magic)
        w.blob(body.bytes)
        w.fixed64(OutboxEntry.checksum(body.bytes[...]))
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(CheckpointError) -> (records: [LogRecord], ledger: FiringLedger) {
        guard bytes.count >= magic.count, Array(bytes.prefix(magic.count)) == magic else { throw .notACheckpoint }
        var outer = ByteReader(bytes, position: magic.count)
        let body = try outer.blob()
        guard try outer.fixed64() == OutboxEntry.checksum(body[...]) else { throw .checksumMismatch }
        guard outer.atEnd else { throw .malformed("outbox state: trailing bytes") }
        var r = ByteReader(body)
        let v = try r.byte()
        guard v == version else { throw .malformed("outbox state: unknown version \(v)") }
        let records = try Dispatcher.decodeLog(try r.blob())
        var ledger = FiringLedger()
        let lanes = try r.count(limit: 1 << 22)
        for _ in 0..<lanes {
            let key = try r.string()
            var lane = FiringLedger.Lane()
            for which in 0..<2 {
                let n = try r.count(limit: 1 << 22)
                for _ in 0..<n {
                    let fp = try r.fixed64()
                    let at = try r.signed()
                    if which == 0 { lane.told[fp] = at } else { lane.refused[fp] = at }
                }
            }
            if !lane.isEmpty { ledger.lanes[key] = lane }
        }
        guard r.atEnd else { throw .malformed("outbox state: trailing bytes") }
        return (records, ledger)
    }
}

/// The outbox's journal, `<outbox>/journal`: what happened since the last state snapshot, appended
/// as it happens (on the writer queue) so that finished segments can be removed at once.
///
/// Each event is one frame: a marker byte, the payload's length (4 bytes) and FNV-1a checksum
/// (8 bytes), the payload (a type byte and its fields). Events are appended in batches (at most
/// one write per 200 ms) and not flushed, except a not-delivered event (rare, and what withholds a
/// resolution), which is written and flushed at once; a finished segment is removed only after
/// its records were written. So a `kill -9` loses at most the done mark of the last deliveries
/// (sent again after the restart, under their keys), and a power loss at most their records too
/// (their notifications may then be made again, under the same keys). Reading stops at the first frame that is torn or damaged. Replaying an event
/// twice changes nothing, so a crash between a snapshot and the journal's truncation is harmless.
enum OutboxJournal {
    static let fileName = "journal"
    static let marker: UInt8 = 0xA7
    static let maxFrame = 64 << 20
    /// A snapshot is written, and the journal emptied, beyond this size.
    static let compactBytes = 1 << 20

    enum Event: Equatable {
        /// The log records of a segment whose entries are all done (the segment is removed).
        case records([LogRecord])
        case delivered(lane: String, firing: [UInt64], resolved: [UInt64], at: Timestamp)
        case notDelivered(lane: String, firing: [UInt64], at: Timestamp)
        case withheld(lane: String, fingerprints: [UInt64])
    }

    static func frame(_ event: Event) -> [UInt8] {
        var p = ByteWriter()
        func fps(_ list: [UInt64]) {
            p.varint(list.count)
            for fp in list { p.fixed64(fp) }
        }
        switch event {
        case .records(let records):
            p.byte(1)
            p.blob(Dispatcher.encode(records))
        case .delivered(let lane, let firing, let resolved, let at):
            p.byte(2)
            p.string(lane)
            fps(firing)
            fps(resolved)
            p.signed(at)
        case .notDelivered(let lane, let firing, let at):
            p.byte(3)
            p.string(lane)
            fps(firing)
            p.signed(at)
        case .withheld(let lane, let list):
            p.byte(4)
            p.string(lane)
            fps(list)
        }
        var w = ByteWriter()
        w.byte(marker)
        w.fixed32(UInt32(p.bytes.count))
        w.fixed64(OutboxEntry.checksum(p.bytes[...]))
        w.raw(p.bytes)
        return w.bytes
    }

    /// The events of a journal file, in order, up to the first damaged frame; `intact` is false
    /// when something followed that could not be read.
    static func decode(_ bytes: [UInt8]) -> (events: [Event], intact: Bool) {
        var events: [Event] = []
        var r = ByteReader(bytes)
        while !r.atEnd {
            guard let event = try? next(&r) else { return (events, false) }
            events.append(event)
        }
        return (events, true)
    }

    static func next(_ r: inout ByteReader) throws(CheckpointError) -> Event {
        guard try r.byte() == marker else { throw .malformed("journal: no frame marker") }
        let length = Int(try r.fixed32())
        guard length <= maxFrame else { throw .malformed("journal: frame too long") }
        let sum = try r.fixed64()
        let payload = Array(try r.raw(length))
        guard OutboxEntry.checksum(payload[...]) == sum else { throw .checksumMismatch }
        var p = ByteReader(payload)
        func fps() throws(CheckpointError) -> [UInt64] {
            let n = try p.count(limit: OutboxEntry.maxAlerts)
            var out: [UInt64] = []
            for _ in 0..<n { out.append(try p.fixed64()) }
            return out
        }
        let event: Event
        switch try p.byte() {
        case 1: event = .records(try Dispatcher.decodeLog(try p.blob()))
        case 2:
            let lane = try p.string()
            let firing = try fps(), resolved = try fps()
            event = .delivered(lane: lane, firing: firing, resolved: resolved, at: try p.signed())
        case 3:
            let lane = try p.string()
            let firing = try fps()
            event = .notDelivered(lane: lane, firing: firing, at: try p.signed())
        case 4:
            let lane = try p.string()
            event = .withheld(lane: lane, fingerprints: try fps())
        case let t: throw .malformed("journal: unknown event \(t)")
        }
        guard p.atEnd else { throw .malformed("journal: trailing bytes in a frame") }
        return event
    }
}

extension FiringLedger {
    /// Applies a journal event (records are the notification log's business, not the ledger's).
    mutating func apply(_ event: OutboxJournal.Event) {
        switch event {
        case .records: break
        case .delivered(let lane, let firing, let resolved, let at): delivered(lane, firing: firing, resolved: resolved, at: at)
        case .notDelivered(let lane, let firing, let at): notDelivered(lane, firing: firing, at: at)
        // A withheld resolution leaves its alert marked: the same resolution can be made again (a
        // restart's rules report it anew) and must be withheld again. Older journals hold the event.
        case .withheld: break
        }
    }
}
