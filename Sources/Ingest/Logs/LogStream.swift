#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file as the kernel names it: the same pair is the same file under any path.
struct FileIdentity: Hashable {
    var device: UInt64
    var inode: UInt64

    init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }

    init(_ st: stat) {
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
    }

    /// A file's modification time in nanoseconds since the epoch.
    static func modified(_ st: stat) -> Int64 {
        Int64(st.st_mtim.tv_sec) &* 1_000_000_000 &+ Int64(st.st_mtim.tv_nsec)
    }
}

/// FNV-1a of a file's first bytes (up to `LogTailerOptions.fingerprintBytes`, 256 by default):
/// tells the same file from a recycled inode or a rewritten file, and finds copytruncate's copy,
/// which has a new inode but the same first bytes.
///
/// It covers what the file has when it is short and grows with it up to the cap, so a file is
/// fingerprinted (and read) from its first byte, unlike Filebeat's fingerprint identity, which
/// waits for a file to reach its length. As long as an offset lies within the covered bytes, a
/// file with the same fingerprint holds exactly the bytes already read: resuming it at the offset
/// is right whichever file it "really" is. 256 bytes cover the first line of a typical JSONL log
/// (with its timestamp, which makes files differ) and cost one small `pread` per check.
struct FileFingerprint: Equatable {
    var length: Int = 0
    var hash: UInt64 = FileFingerprint.seed

    static let seed: UInt64 = 0xcbf2_9ce4_8422_2325

    static func hash(_ p: UnsafeRawPointer, count: Int) -> UInt64 {
        var h = seed
        let bytes = p.assumingMemoryBound(to: UInt8.self)
        for i in 0..<count {
            h ^= UInt64(bytes[i])
            h &*= 0x0000_0100_0000_01b3
        }
        return h
    }

    /// Whether `bytes` start with what this fingerprint covers.
    func matches(prefixOf bytes: [UInt8]) -> Bool {
        guard bytes.count >= length else { return false }
        return bytes.withUnsafeBytes { FileFingerprint.hash($0.baseAddress!, count: length) } == hash
    }

    /// What `extended(fd:to:)` found.
    enum Extension {
        case extended(FileFingerprint)
        /// The bytes this fingerprint covered are not the same any more: the file was rewritten.
        case changed
        /// Fewer than the bytes asked for can be read (truncated meanwhile, or an error).
        case unreadable
    }

    /// The fingerprint of the first `length` bytes of `fd`, checking in the same read that the
    /// bytes this one covers are unchanged (so the longer one describes the same file).
    func extended(fd: Int32, to length: Int) -> Extension {
        precondition(length >= self.length)
        return withUnsafeTemporaryAllocation(byteCount: max(length, 1), alignment: 1) { buffer in
            var got = 0
            while got < length {
                let n = pread(fd, buffer.baseAddress! + got, length - got, off_t(got))
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { return .unreadable }
                got += n
            }
            if self.length > 0, FileFingerprint.hash(buffer.baseAddress!, count: self.length) != hash { return .changed }
            return .extended(FileFingerprint(length: length, hash: FileFingerprint.hash(buffer.baseAddress!, count: length)))
        }
    }

    /// The fingerprint of the first `length` bytes of `fd`, or nil when fewer can be read.
    static func read(fd: Int32, length: Int) -> FileFingerprint? {
        guard length > 0 else { return FileFingerprint() }
        return withUnsafeTemporaryAllocation(byteCount: length, alignment: 1) { buffer in
            var got = 0
            while got < length {
                let n = pread(fd, buffer.baseAddress! + got, length - got, off_t(got))
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { return nil }
                got += n
            }
            return FileFingerprint(length: length, hash: hash(buffer.baseAddress!, count: length))
        }
    }
}

/// One open file a tailer follows: its descriptor, identity, position and held partial line.
///
/// Invariants: `offset` is where the first undelivered line starts. Unless a line is being
/// skipped, `carry` holds the file's bytes `offset..<readPosition` (a partial line, no newline).
/// While skipping, `carry` is empty and `readPosition` runs ahead of `offset`.
/// Owned by its `LogTailer` (one thread).
final class LogStream {
    enum Skip {
        case none
        /// The stream started inside a line (start_at end, or a resumed offset that is not after a
        /// newline): bytes up to the next newline are not a line of ours.
        case alignment
        /// The current line is longer than `max_line_bytes`: dropped, counted when it ends.
        case tooLong
    }

    /// The log name it counts under: the path it was first opened at.
    let file: LogFileID
    /// Where it was last seen (a rotated file keeps its last known path).
    var path: String
    /// `path` with symbolic links resolved: where to look for the file after a restart (a log
    /// path that is a symlink names a file in another directory).
    var location: String
    let fd: Int32
    let identity: FileIdentity
    var offset: Int64
    var readPosition: Int64
    var carry: [UInt8] = []
    var skip: Skip = .none
    var fingerprint = FileFingerprint()
    /// When it stopped being at a followed path (rotated or deleted); nil while it is there.
    var rotatedSince: Int64?
    /// Last time a read returned bytes (or it was opened).
    var lastGrowth: Int64
    /// Size and modification time (ns since the epoch) at the last `fstat`: the checkpoint keeps
    /// them to tell bytes it knows were unread, and generations written after it.
    var lastSize: Int64 = 0
    var lastModified: Int64 = 0
    /// A stream opened at 0 whose content has not been checked against the files already followed
    /// (is it copytruncate's copy?): not read until that is decided.
    var undecided: Bool
    /// When an undecided stream was first found to look like a copy.
    var heldSince: Int64?

    init(file: LogFileID, path: String, fd: Int32, identity: FileIdentity, offset: Int64, now: Int64, undecided: Bool) {
        self.file = file
        self.path = path
        self.location = LogStream.resolve(path)
        self.fd = fd
        self.identity = identity
        self.offset = offset
        self.readPosition = offset
        self.lastGrowth = now
        self.undecided = undecided
    }

    deinit {
        close(fd)
    }

    /// Starts at `position`; when the byte before it is not a newline, the rest of that line is skipped.
    func start(at position: Int64) {
        offset = position
        readPosition = position
        carry.removeAll()
        skip = .none
        guard position > 0 else { return }
        var byte: UInt8 = 0
        let n = pread(fd, &byte, 1, off_t(position - 1))
        if n == 1, byte != UInt8(ascii: "\n") { skip = .alignment }
    }

    /// The current size, or the errno of a failed `fstat`; remembers size and modification time.
    func size() -> Result<Int64, TailerErrno> {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return .failure(TailerErrno(code: errno)) }
        lastSize = Int64(st.st_size)
        lastModified = FileIdentity.modified(st)
        return .success(lastSize)
    }

    /// `path` with symbolic links resolved (itself when it cannot be resolved).
    static func resolve(_ path: String) -> String {
        guard let real = realpath(path, nil) else { return path }
        defer { free(real) }
        return String(cString: real)
    }

    /// True when the first `fingerprint.length` bytes still hash as recorded.
    func fingerprintHolds() -> Bool {
        guard fingerprint.length > 0 else { return true }
        return FileFingerprint.read(fd: fd, length: fingerprint.length) == fingerprint
    }

    /// The entry this stream contributes to a checkpoint.
    func offsetEntry(logPath: String) -> TailOffsets.File {
        TailOffsets.File(
            path: logPath, location: location, device: identity.device, inode: identity.inode, offset: offset,
            size: max(lastSize, readPosition), modified: lastModified,
            fingerprintLength: Int32(fingerprint.length), fingerprint: fingerprint.hash, rotated: rotatedSince != nil)
    }
}

/// An errno from a system call, with the C library's message.
struct TailerErrno: Error {
    var code: Int32
    var message: String { String(cString: strerror(code)) }
}
