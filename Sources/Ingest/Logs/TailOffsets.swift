/// The position of a log tailer in every file it follows: the part of the agent's checkpoint that
/// lets tailing resume after a restart or `kill -9` with no line lost and none counted twice.
///
/// An offset is always the start of the first line not yet delivered (a held partial line is read
/// again after a restart). A file is recognised by device and inode, and a fingerprint of its first
/// bytes tells a recycled inode (a new file that got the number of a deleted one) from the same file
/// and finds copytruncate's copy (a new inode with the same first bytes). Besides the files being
/// read, it lists files read to their end that are still on disk (`finished`), so that a restart
/// can tell them from generations written after the checkpoint (see `LogTailer.restore(_:)`).
public struct TailOffsets: Sendable, Equatable {
    /// One followed file.
    public struct File: Sendable, Equatable {
        /// The path the file was first opened at (its log's name, also after it was rotated away).
        public var path: String
        /// Where the file was last seen, symbolic links resolved: `path`, a rotated name the glob
        /// also matches, or the target of a log path that is a symlink.
        public var location: String
        public var device: UInt64
        public var inode: UInt64
        /// The first byte not yet delivered; always the start of a line.
        public var offset: Int64
        /// The file's size when last looked at (≥ `offset`): bytes between the two were known to
        /// exist and not yet delivered. Equal to `offset` in version 1 checkpoints.
        public var size: Int64
        /// The file's modification time (ns since the epoch) when last looked at; 0 when unknown
        /// (version 1 checkpoints). Files beside it modified since are newer generations.
        public var modified: Int64
        /// How many leading bytes `fingerprint` covers (0 for an empty file).
        public var fingerprintLength: Int32
        /// FNV-1a of the first `fingerprintLength` bytes.
        public var fingerprint: UInt64
        /// The file no longer sits at `path` (renamed or deleted): it is being read to its end.
        public var rotated: Bool
        /// Read to its end and closed, but still on disk: a restart must not read it again.
        public var finished: Bool

        public init(
            path: String, location: String? = nil, device: UInt64, inode: UInt64, offset: Int64,
            size: Int64? = nil, modified: Int64 = 0,
            fingerprintLength: Int32, fingerprint: UInt64, rotated: Bool, finished: Bool = false
        ) {
            self.path = path
            self.location = location ?? path
            self.device = device
            self.inode = inode
            self.offset = offset
            self.size = max(size ?? offset, offset)
            self.modified = modified
            self.fingerprintLength = fingerprintLength
            self.fingerprint = fingerprint
            self.rotated = rotated
            self.finished = finished
        }
    }

    /// Every followed file, oldest first, then the finished ones.
    public var files: [File]
    /// The path patterns of the tailers these offsets come from: a log among them was being
    /// followed, so a file of it that the offsets do not list appeared since and is read from 0
    /// after a restart (not from `start_at`, which is for a log the agent did not follow yet).
    public var patterns: [String]
    /// When the offsets were taken, on the file-system clock (ns since the epoch; 0 when unknown):
    /// files of these logs written since are new to them.
    public var taken: Int64

    public init(files: [File] = [], patterns: [String] = [], taken: Int64 = 0) {
        self.files = files
        self.patterns = patterns
        self.taken = taken
    }
}

/// A checkpoint's tail offsets could not be decoded.
public struct TailOffsetsDecodingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Byte position in the encoded offsets where decoding failed.
    public var position: Int
    public var message: String
    public var description: String {
        "tail offsets, byte \(position): \(message); the checkpoint is damaged — remove it to start tailing afresh (from start_at)"
    }
}

extension TailOffsets {
    static let magic: [UInt8] = Array("TAIL".utf8)
    /// Version 2 added `size`, `modified`, `finished`, `patterns` and `taken`; version 1 is still read.
    static let version: UInt8 = 2

    /// The offsets as bytes: `TAIL`, a version byte, then each file (lengths as LEB128 varints,
    /// numbers little-endian): path, location, device, inode, offset, size, modified,
    /// fingerprint length, fingerprint, flags (1 rotated, 2 finished); then the patterns and `taken`.
    public func encoded() -> [UInt8] {
        var out = TailOffsets.magic
        out.append(TailOffsets.version)
        appendVarint(UInt64(files.count), to: &out)
        for file in files {
            for name in [file.path, file.location] {
                let bytes = Array(name.utf8)
                appendVarint(UInt64(bytes.count), to: &out)
                out.append(contentsOf: bytes)
            }
            appendFixed(file.device, to: &out)
            appendFixed(file.inode, to: &out)
            appendVarint(UInt64(file.offset), to: &out)
            appendVarint(UInt64(file.size), to: &out)
            appendFixed(UInt64(bitPattern: file.modified), to: &out)
            appendVarint(UInt64(file.fingerprintLength), to: &out)
            appendFixed(file.fingerprint, to: &out)
            out.append((file.rotated ? 1 : 0) | (file.finished ? 2 : 0))
        }
        appendVarint(UInt64(patterns.count), to: &out)
        for pattern in patterns {
            let bytes = Array(pattern.utf8)
            appendVarint(UInt64(bytes.count), to: &out)
            out.append(contentsOf: bytes)
        }
        appendFixed(UInt64(bitPattern: taken), to: &out)
        return out
    }

    /// Decodes what `encoded()` produced, in this version or version 1.
    /// - Throws: `TailOffsetsDecodingError` naming the byte position, for any damage.
    public init(decoding bytes: [UInt8]) throws(TailOffsetsDecodingError) {
        var reader = ByteReader(bytes: bytes)
        guard bytes.starts(with: TailOffsets.magic) else {
            throw TailOffsetsDecodingError(position: 0, message: "expected the magic \"TAIL\"")
        }
        reader.position = 4
        let version = try reader.byte()
        guard version == 1 || version == TailOffsets.version else {
            throw TailOffsetsDecodingError(position: 4, message: "unknown version \(version), expected 1 or \(TailOffsets.version)")
        }
        let count = try reader.varint()
        guard count <= UInt64(bytes.count) else {
            throw TailOffsetsDecodingError(position: reader.position, message: "file count \(count) exceeds the data")
        }
        var files: [File] = []
        for _ in 0..<count {
            let path = try reader.path()
            let location = try reader.path()
            let device = try reader.fixed()
            let inode = try reader.fixed()
            let offset = try reader.varint()
            let size = version == 1 ? offset : try reader.varint()
            let modified = version == 1 ? 0 : try reader.fixed()
            let fingerprintLength = try reader.varint()
            guard offset <= UInt64(Int64.max), size <= UInt64(Int64.max), size >= offset, fingerprintLength <= UInt64(Int32.max) else {
                throw TailOffsetsDecodingError(position: reader.position, message: "offset, size or fingerprint length out of range")
            }
            let fingerprint = try reader.fixed()
            let flags = try reader.byte()
            guard flags <= (version == 1 ? 1 : 3) else {
                throw TailOffsetsDecodingError(position: reader.position - 1, message: "unknown flags \(flags)")
            }
            files.append(File(
                path: path, location: location, device: device, inode: inode, offset: Int64(offset),
                size: Int64(size), modified: Int64(bitPattern: modified),
                fingerprintLength: Int32(fingerprintLength), fingerprint: fingerprint, rotated: flags & 1 != 0, finished: flags & 2 != 0))
        }
        var patterns: [String] = []
        var taken: Int64 = 0
        if version >= 2 {
            let count = try reader.varint()
            guard count <= UInt64(bytes.count) else {
                throw TailOffsetsDecodingError(position: reader.position, message: "pattern count \(count) exceeds the data")
            }
            for _ in 0..<count { patterns.append(try reader.path()) }
            taken = Int64(bitPattern: try reader.fixed())
        }
        guard reader.position == bytes.count else {
            throw TailOffsetsDecodingError(position: reader.position, message: "\(bytes.count - reader.position) unexpected trailing bytes")
        }
        self.init(files: files, patterns: patterns, taken: taken)
    }
}

private func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
    var v = value
    while v >= 0x80 {
        out.append(UInt8(v & 0x7F) | 0x80)
        v >>= 7
    }
    out.append(UInt8(v))
}

private func appendFixed(_ value: UInt64, to out: inout [UInt8]) {
    for shift in stride(from: 0, to: 64, by: 8) { out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
}

private struct ByteReader {
    let bytes: [UInt8]
    var position = 0

    mutating func byte() throws(TailOffsetsDecodingError) -> UInt8 {
        guard position < bytes.count else { throw TailOffsetsDecodingError(position: position, message: "unexpected end of data") }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func varint() throws(TailOffsetsDecodingError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte()
            guard shift < 64 else { throw TailOffsetsDecodingError(position: position - 1, message: "varint longer than 64 bits") }
            value |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return value }
            shift += 7
        }
    }

    mutating func path() throws(TailOffsetsDecodingError) -> String {
        let length = try varint()
        let start = position
        let bytes = try bytes(Int(clamping: length))
        guard let path = String(validating: bytes, as: UTF8.self), !path.isEmpty else {
            throw TailOffsetsDecodingError(position: start, message: "a path is empty or not UTF-8")
        }
        return path
    }

    mutating func fixed() throws(TailOffsetsDecodingError) -> UInt64 {
        guard bytes.count - position >= 8 else { throw TailOffsetsDecodingError(position: position, message: "unexpected end of data") }
        var value: UInt64 = 0
        for i in 0..<8 { value |= UInt64(bytes[position + i]) << UInt64(8 * i) }
        position += 8
        return value
    }

    mutating func bytes(_ count: Int) throws(TailOffsetsDecodingError) -> ArraySlice<UInt8> {
        guard count >= 0, bytes.count - position >= count else {
            throw TailOffsetsDecodingError(position: position, message: "length \(count) exceeds the data")
        }
        defer { position += count }
        return bytes[position..<(position + count)]
    }
}
