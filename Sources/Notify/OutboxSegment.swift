import TimeSeries

/// A batch of outbox entries written as one file, and the record of which of them are done.
///
/// Files: `<first entry>.seg` holds the entries (magic, count, each entry as a length-prefixed
/// blob with its own checksum), written atomically and durably once: temp, fsync, rename, fsync of
/// the directory — two flushes per batch however many notifications it holds. `<first entry>.done`
/// lists, one per line, the indexes of entries that are finished (delivered, refused, given up,
/// dropped); it is appended to without fsync: after a power loss a few finished entries may be
/// sent again, with their idempotency keys, which is the receiver's cue to drop them. When every
/// entry is done both files are removed.
enum OutboxSegment {
    static let magic = Array("AGENTOS1".utf8)
    static let suffix = ".seg"
    static let doneSuffix = ".done"
    /// Entries per segment at most (one enqueue is one rule evaluation's notifications).
    static let maxEntries = 1 << 16
    /// Body bytes per segment at most (one entry may exceed it alone, up to `OutboxEntry.maxBytes`).
    static let maxBytes = 16 << 20

    static func encode(_ entries: [OutboxEntry]) -> [UInt8] {
        var w = ByteWriter()
        w.raw(magic)
        w.varint(entries.count)
        for e in entries { w.blob(e.encoded()) }
        return w.bytes
    }

    /// The entries of a segment file; damaged entries come back as nil, in place.
    static func decode(_ bytes: [UInt8], name: String) throws(CheckpointError) -> [OutboxEntry?] {
        guard bytes.count >= magic.count, Array(bytes.prefix(magic.count)) == magic else { throw .notACheckpoint }
        var r = ByteReader(bytes, position: magic.count)
        let n = try r.count(limit: maxEntries)
        var out: [OutboxEntry?] = []
        for i in 0..<n {
            guard let blob = try? r.blob() else {
                // The rest cannot be framed: every remaining entry is lost.
                out.append(contentsOf: [OutboxEntry?](repeating: nil, count: n - i))
                return out
            }
            out.append(try? OutboxEntry(name: "\(name)#\(i)", decoding: blob))
        }
        return out
    }

    /// Indexes listed in a `.done` file (a torn last line is ignored).
    static func doneIndexes(_ bytes: [UInt8]) -> Set<Int> {
        var out = Set<Int>()
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            if let i = Int(String(decoding: line, as: UTF8.self)) { out.insert(i) }
        }
        return out
    }
}
