/// Appends integers, doubles and byte strings to a buffer in the checkpoint's encoding:
/// LEB128 varints (zigzag for signed), doubles as their 8 raw bytes, little-endian.
public struct ByteWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    public mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }
    public mutating func varint(_ v: Int) { varint(UInt64(v)) }
    /// Bytes `varint(v)` appends.
    public static func varintLength(_ v: UInt64) -> Int { max(1, (64 - v.leadingZeroBitCount + 6) / 7) }
    public mutating func signed(_ v: Int64) { varint(UInt64(bitPattern: (v << 1) ^ (v >> 63))) }
    public mutating func double(_ v: Double) { fixed64(v.bitPattern) }
    public mutating func fixed64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func fixed32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func byte(_ v: UInt8) { bytes.append(v) }
    /// A length-prefixed byte string.
    public mutating func blob<C: Collection>(_ b: C) where C.Element == UInt8 {
        varint(b.count)
        bytes.append(contentsOf: b)
    }
    public mutating func string(_ s: String) { blob(Array(s.utf8)) }
    public mutating func raw<C: Collection>(_ b: C) where C.Element == UInt8 { bytes.append(contentsOf: b) }
    /// A presence byte (0 or 1), then the value when there is one.
    public mutating func optionalSigned(_ v: Int64?) {
        byte(v == nil ? 0 : 1)
        if let v { signed(v) }
    }
    /// A presence byte (0 or 1), then the string when there is one.
    public mutating func optionalString(_ s: String?) {
        byte(s == nil ? 0 : 1)
        if let s { string(s) }
    }
}

/// Reads what `ByteWriter` wrote; every read checks bounds and throws `.truncated` past the end.
public struct ByteReader: Sendable {
    let bytes: [UInt8]
    /// Read position.
    public private(set) var position: Int

    public init(_ bytes: [UInt8], position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    /// True when everything was read.
    public var atEnd: Bool { position >= bytes.count }

    /// The bytes not read yet.
    public var remaining: Int { bytes.count - position }

    /// A LEB128 varint of at most 64 bits: at most 10 bytes, the 10th holding only the top bit.
    public mutating func varint() throws(CheckpointError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < bytes.count else { throw .truncated }
            let b = bytes[position]
            position += 1
            // The 10th byte holds bit 63 alone: anything more would be silently dropped.
            guard shift < 63 || (shift == 63 && b <= 1) else { throw .malformed("varint longer than 64 bits") }
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return result }
            shift += 7
        }
    }
    /// A varint that must fit in `0...limit` (counts and lengths: a corrupt one must not allocate
    /// gigabytes). With `minimumBytes` (the least an element of what is counted takes), the count
    /// must also fit in what remains to be read, so that no caller reserves room for elements the
    /// data cannot hold.
    public mutating func count(limit: Int, each minimumBytes: Int = 0) throws(CheckpointError) -> Int {
        let v = try varint()
        guard v <= UInt64(limit) else { throw .malformed("count \(v) exceeds \(limit)") }
        if minimumBytes > 0, v > UInt64(remaining / minimumBytes) {
            throw .malformed("count \(v) of \(minimumBytes)-byte elements exceeds the \(remaining) bytes left")
        }
        return Int(v)
    }
    public mutating func signed() throws(CheckpointError) -> Int64 {
        let v = try varint()
        return Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1)
    }
    public mutating func double() throws(CheckpointError) -> Double { Double(bitPattern: try fixed64()) }
    public mutating func fixed64() throws(CheckpointError) -> UInt64 {
        guard bytes.count - position >= 8 else { throw .truncated }
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(bytes[position + i]) << (8 * UInt64(i)) }
        position += 8
        return v
    }
    public mutating func fixed32() throws(CheckpointError) -> UInt32 {
        guard bytes.count - position >= 4 else { throw .truncated }
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(bytes[position + i]) << (8 * UInt32(i)) }
        position += 4
        return v
    }
    public mutating func byte() throws(CheckpointError) -> UInt8 {
        guard position < bytes.count else { throw .truncated }
        defer { position += 1 }
        return bytes[position]
    }
    /// A length-prefixed byte string; a length beyond the bytes left is refused before anything is copied.
    public mutating func blob() throws(CheckpointError) -> [UInt8] {
        let n = try varint()
        // The limit is what remains after the length itself was read.
        guard n <= UInt64(remaining) else { throw .truncated }
        defer { position += Int(n) }
        return Array(bytes[position..<(position + Int(n))])
    }
    public mutating func string() throws(CheckpointError) -> String { String(decoding: try blob(), as: UTF8.self) }
    public mutating func raw(_ n: Int) throws(CheckpointError) -> ArraySlice<UInt8> {
        guard n >= 0, bytes.count - position >= n else { throw .truncated }
        defer { position += n }
        return bytes[position..<(position + n)]
    }
    /// What `ByteWriter.optionalSigned` wrote.
    public mutating func optionalSigned() throws(CheckpointError) -> Int64? {
        try present() ? try signed() : nil
    }
    /// What `ByteWriter.optionalString` wrote.
    public mutating func optionalString() throws(CheckpointError) -> String? {
        try present() ? try string() : nil
    }
    private mutating func present() throws(CheckpointError) -> Bool {
        switch try byte() {
        case 0: return false
        case 1: return true
        case let b: throw .malformed("bad presence byte \(b)")
        }
    }
}

/// Why a checkpoint could not be read. Nothing is loaded when one is thrown.
public enum CheckpointError: Error, Equatable, CustomStringConvertible {
    /// The data ends before its structure does.
    case truncated
    /// Not a checkpoint (wrong magic bytes).
    case notACheckpoint
    /// Written by a format version this build does not read.
    case unsupportedVersion(UInt32)
    /// The checksum over the content does not match: the file was corrupted.
    case checksumMismatch
    /// zlib could not decompress the content.
    case decompression(String)
    /// The content is structurally wrong.
    case malformed(String)
    /// The store's rings differ from the ones the checkpoint was written with.
    case configurationChanged(String)

    public var description: String {
        switch self {
        case .truncated: "checkpoint is truncated"
        case .notACheckpoint: "not an agent checkpoint (bad magic bytes)"
        case .unsupportedVersion(let v): "checkpoint format version \(v) is not supported by this build"
        case .checksumMismatch: "checkpoint checksum mismatch: the file is corrupted"
        case .decompression(let m): "checkpoint could not be decompressed: \(m)"
        case .malformed(let m): "checkpoint is malformed: \(m)"
        case .configurationChanged(let m): "checkpoint was written with other storage settings (\(m)); it cannot be restored into this store"
        }
    }
}
