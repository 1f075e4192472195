/// A checkpoint: named sections of bytes (the store, tail offsets, alert states, …), compressed
/// with zlib and guarded by a CRC-32, so a torn or corrupted file is detected before anything of
/// it is used.
///
/// Layout: `AGENTCK1`, format version (u32), content length (u64), CRC-32 of the content (u32),
/// compressed length (u64), zlib data. Content: section count, then name and bytes of each.
/// Writing the file atomically (temp, fsync, rename) is the daemon's job; this is only bytes.
public struct Checkpoint: Sendable, Equatable {
    static let magic: [UInt8] = Array("AGENTCK1".utf8)
    static let version: UInt32 = 1
    /// Largest content accepted when reading (a corrupt length must not allocate without bound).
    public static let maxContentBytes = 4 << 30

    /// The sections, by name.
    public var sections: [String: [UInt8]]

    public init(sections: [String: [UInt8]] = [:]) { self.sections = sections }

    /// The compressed, checksummed bytes of this checkpoint.
    public func encoded(compressionLevel: Int32 = 6) -> [UInt8] {
        var content = ByteWriter()
        content.varint(sections.count)
        for name in sections.keys.sorted() {
            content.string(name)
            content.blob(sections[name]!)
        }
        let plain = content.bytes
        let compressed = Zlib.compress(plain, level: compressionLevel)
        var out = ByteWriter(capacity: compressed.count + 32)
        out.raw(Checkpoint.magic)
        out.fixed32(Checkpoint.version)
        out.fixed64(UInt64(plain.count))
        out.fixed32(Zlib.crc32(plain))
        out.fixed64(UInt64(compressed.count))
        out.raw(compressed)
        return out.bytes
    }

    /// Reads a checkpoint; throws (and yields nothing) when it is truncated, corrupted or foreign.
    public init(decoding bytes: [UInt8]) throws(CheckpointError) {
        var r = ByteReader(bytes)
        guard bytes.count >= 8 else { throw bytes.isEmpty ? .truncated : .notACheckpoint }
        guard Array(try r.raw(8)) == Checkpoint.magic else { throw .notACheckpoint }
        let version = try r.fixed32()
        guard version == Checkpoint.version else { throw .unsupportedVersion(version) }
        let plainLength = try r.fixed64()
        let crc = try r.fixed32()
        let compressedLength = try r.fixed64()
        guard plainLength <= UInt64(Checkpoint.maxContentBytes) else { throw .malformed("content length \(plainLength) is implausible") }
        guard compressedLength <= UInt64(bytes.count - r.position) else { throw .truncated }
        let compressed = try r.raw(Int(compressedLength))
        guard r.atEnd else { throw .malformed("\(bytes.count - r.position) bytes after the content") }
        let plain = try Zlib.decompress(compressed, expectedLength: Int(plainLength))
        guard Zlib.crc32(plain) == crc else { throw .checksumMismatch }
        var c = ByteReader(plain)
        let n = try c.count(limit: 1 << 16)
        var sections: [String: [UInt8]] = [:]
        for _ in 0..<n {
            let name = try c.string()
            sections[name] = try c.blob()
        }
        guard c.atEnd else { throw .malformed("trailing bytes after the sections") }
        self.sections = sections
    }
}
