/// A checkpoint: named sections of bytes (the store, tail offsets, alert states, …), compressed
/// with zlib and guarded by a CRC-32, so a torn or corrupted file is detected before anything of
/// it is used.
///
/// Layout: `AGENTCK1`, format version (u32), content length (u64), CRC-32 of the content (u32),
/// compressed length (u64), zlib data. Content: section count, then name and bytes of each.
/// Writing the file atomically (temp, fsync, rename) is the daemon's job; this is only bytes.
///
/// Reading trusts no length: the content length must be at most `maxContentBytes` and at most
/// what the compressed bytes present can inflate to (deflate's ratio is at most 1032:1), and the
/// content is inflated in bounded chunks, so memory grows only with bytes zlib actually produced.
/// Counts and lengths inside are bounded by the bytes left before anything is reserved.
public struct Checkpoint: Sendable, Equatable {
    static let magic: [UInt8] = Array("AGENTCK1".utf8)
    static let version: UInt32 = 1
    /// Largest content written or read: 2 GiB − 1. A store that needs more is refused at write time
    /// (with a clear error) rather than written as a file no reader would take.
    public static let maxContentBytes = Int(Int32.max)
    /// Most sections a checkpoint holds.
    static let maxSections = 1 << 16
    /// deflate's greatest compression ratio (zlib's "technical details": 1032:1).
    static let maxDeflateRatio = 1032
    /// The level the daemon writes with: checkpoints are written often and read once.
    public static let defaultCompressionLevel: Int32 = 1

    /// The sections, by name.
    public var sections: [String: [UInt8]]

    public init(sections: [String: [UInt8]] = [:]) { self.sections = sections }

    /// Bytes of the uncompressed content `encoded()` writes (compare with `maxContentBytes`).
    public var contentLength: Int {
        var total = ByteWriter.varintLength(UInt64(sections.count))
        for (name, bytes) in sections {
            total += ByteWriter.varintLength(UInt64(name.utf8.count)) + name.utf8.count
            total += ByteWriter.varintLength(UInt64(bytes.count)) + bytes.count
        }
        return total
    }

    /// The compressed, checksummed bytes of this checkpoint.
    public func encoded(compressionLevel: Int32 = Checkpoint.defaultCompressionLevel) -> [UInt8] {
        var content = ByteWriter()
        content.varint(sections.count)
        for name in sections.keys.sorted() {
            content.string(name)
            content.blob(sections[name]!)
        }
        return Checkpoint.file(content: content.bytes, compressionLevel: compressionLevel)
    }

    /// The file bytes around `content` (a section table as `encoded()` writes it): header, CRC,
    /// zlib. `recordedLength` replaces the content length in the header, so that tests and the
    /// fuzzer can build files whose lengths lie.
    public static func file(content plain: [UInt8], recordedLength: UInt64? = nil,
                            compressionLevel: Int32 = Checkpoint.defaultCompressionLevel) -> [UInt8] {
        let compressed = Zlib.compress(plain, level: compressionLevel)
        var out = ByteWriter(capacity: compressed.count + 32)
        out.raw(Checkpoint.magic)
        out.fixed32(Checkpoint.version)
        out.fixed64(recordedLength ?? UInt64(plain.count))
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
        guard compressedLength <= UInt64(r.remaining) else { throw .truncated }
        guard compressedLength == UInt64(r.remaining) else { throw .malformed("\(UInt64(r.remaining) - compressedLength) bytes after the content") }
        guard plainLength <= UInt64(Checkpoint.maxContentBytes) else {
            throw .malformed("content length \(plainLength) exceeds the \(Checkpoint.maxContentBytes) bytes a checkpoint may hold")
        }
        guard plainLength <= compressedLength * UInt64(Checkpoint.maxDeflateRatio) + 64 else {
            throw .malformed("content length \(plainLength) is more than \(compressedLength) compressed bytes can hold")
        }
        let compressed = try r.raw(Int(compressedLength))
        let plain = try Zlib.decompress(compressed, expectedLength: Int(plainLength))
        guard Zlib.crc32(plain) == crc else { throw .checksumMismatch }
        var c = ByteReader(plain)
        // A section takes at least two bytes (its name's length and its bytes' length).
        let n = try c.count(limit: Checkpoint.maxSections, each: 2)
        var sections: [String: [UInt8]] = [:]
        for _ in 0..<n {
            let name = try c.string()
            guard sections[name] == nil else { throw .malformed("section \"\(name)\" appears twice") }
            sections[name] = try c.blob()
        }
        guard c.atEnd else { throw .malformed("trailing bytes after the sections") }
        self.sections = sections
    }
}
