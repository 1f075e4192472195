import TimeSeries

/// A batch of outbox entries written as one file, with the notification-log records of the
/// notifications they carry, and the record of which entries are done.
///
/// Files: `<first entry>.seg` holds the entries (magic, count, each entry as a length-prefixed
/// blob with its own checksum) and then the log records (what each group last told its receiver,
/// with its sequence number), written atomically and durably once: temp, fsync, rename, fsync of
/// the directory — two flushes per batch however many notifications it holds. A notification and
/// its record are in the same file, so after a crash the notification log never claims a
/// notification the outbox does not hold, nor the reverse.
///
/// `<first entry>.done` lists, one per line, the indexes of entries that are finished (delivered,
/// refused, given up, dropped); it is appended to in batches (with the journal's, at most every
/// 200 ms) and without fsync: after a `kill -9` within that time, or a power loss, a few finished
/// entries may be sent again, with their idempotency keys, which is the receiver's cue to drop
/// them. When every entry is done both files are removed, and the records go to the
/// outbox's journal (see `OutboxJournal`).
enum OutboxSegment {
    static let magicV1 = Array("AGENTOS1".utf8)
    static let magic = Array("AGENTOS2".utf8)
    static let suffix = ".seg"
    static let doneSuffix = ".done"
    /// Entries per segment at most (one enqueue is one rule evaluation's notifications).
    static let maxEntries = 1 << 16
    /// Body bytes per segment at most (one notification may exceed it alone, up to
    /// `OutboxEntry.maxBytes` per integration).
    static let maxBytes = 16 << 20
    /// What `read` accepts at most from one file.
    static let maxFileBytes = 4 * maxBytes

    struct Contents {
        /// Damaged entries are nil, in place.
        var entries: [OutboxEntry?]
        var records: [LogRecord]
    }

    static func encode(_ entries: [OutboxEntry], records: [LogRecord]) -> [UInt8] {
        var w = ByteWriter()
        w.raw(magic)
        w.varint(entries.count)
        for e in entries { w.blob(e.encoded()) }
        let log = Dispatcher.encode(records)
        w.blob(log)
        w.fixed64(OutboxEntry.checksum(log[...]))
        return w.bytes
    }

    /// The entries and records of a segment file; damaged entries come back as nil, in place; damaged
    /// records are left out (the checkpoint and the state snapshot hold them too).
    static func decode(_ bytes: [UInt8], name: String) throws(CheckpointError) -> Contents {
        let head = Array(bytes.prefix(magic.count))
        guard head == magic || head == magicV1 else { throw .notACheckpoint }
        var r = ByteReader(bytes, position: magic.count)
        let n = try r.count(limit: maxEntries)
        var out: [OutboxEntry?] = []
        for i in 0..<n {
            guard let blob = try? r.blob() else {
                // The rest cannot be framed: every remaining entry is lost.
                out.append(contentsOf: [OutboxEntry?](repeating: nil, count: n - i))
                return Contents(entries: out, records: [])
            }
            out.append(try? OutboxEntry(name: "\(name)#\(i)", decoding: blob))
        }
        var records: [LogRecord] = []
        if head == magic, let blob = try? r.blob(), let sum = try? r.fixed64(), sum == OutboxEntry.checksum(blob[...]) {
            records = (try? Dispatcher.decodeLog(blob)) ?? []
        }
        return Contents(entries: out, records: records)
    }

    /// Indexes listed in a `.done` file (a torn last line, or any other, is ignored).
    static func doneIndexes(_ bytes: [UInt8]) -> Set<Int> {
        var out = Set<Int>()
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            if let i = Int(String(decoding: line, as: UTF8.self)), i >= 0 { out.insert(i) }
        }
        return out
    }
}
