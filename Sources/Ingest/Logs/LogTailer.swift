#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import Logging

/// Where tailing starts in a file that already exists when its log is first followed.
public enum TailStartPosition: String, Sendable, CaseIterable {
    /// Only lines written from now on (the default, as `tail -F` and mtail do).
    case end
    /// The whole file.
    case beginning
}

/// Bounds and timings of a `LogTailer`.
public struct LogTailerOptions: Sendable {
    /// Where a file present at the first poll starts (files that appear later start at 0).
    public var startAt: TailStartPosition = .end
    /// Longer lines are skipped without being held in memory and counted as `too_long`.
    public var maxLineBytes: Int = 64 * 1024
    /// Bytes per `pread`.
    public var readChunkBytes: Int = 256 * 1024
    /// At most this many bytes of one file per poll, so one huge file cannot stall the others;
    /// `LogPollSummary.morePending` says when to poll again at once.
    public var maxBytesPerPoll: Int = 64 * 1024 * 1024
    /// A file that left its path (renamed or deleted) is read until it has not grown for this long
    /// (ms): a writer keeps writing to the renamed file until it reopens its log.
    public var rotatedIdleMilliseconds: Int64 = 5_000
    /// How long a new file that starts like a followed file is held before it is read as a new
    /// file (ms): enough for copytruncate to truncate the original after copying it.
    public var copyGraceMilliseconds: Int64 = 5_000
    /// How many leading bytes identify a file (fingerprint).
    public var fingerprintBytes: Int = 256
    /// Reads by mapping the file (`mmap`) instead of copying it with `pread`: saves the kernel's
    /// copy for one-shot reading of files that do not change meanwhile (`agent replay`). Not for
    /// following live logs: a file truncated while mapped would fault (SIGBUS).
    public var mapFiles = false

    public init(startAt: TailStartPosition = .end, maxLineBytes: Int = 64 * 1024) {
        self.startAt = startAt
        self.maxLineBytes = maxLineBytes
    }
}

/// What one `poll()` did.
public struct LogPollSummary: Sendable, Equatable {
    /// Complete lines delivered.
    public var lines = 0
    /// Bytes read.
    public var bytes = 0
    /// Some file had more to read than `maxBytesPerPoll`: poll again without waiting.
    public var morePending = false
}

/// Counters of one log file (all generations of one path).
public struct LogFileStats: Sendable, Equatable {
    public var lines = 0
    public var bytes = 0
    /// The file left its path (rename-and-create or delete).
    public var rotations = 0
    /// The file shrank or was rewritten under the same inode (copytruncate): read again from 0.
    public var truncations = 0
    /// Failed attempts to open, stat or read it.
    public var errors = 0
}

/// Lines a tailer knows it could not read from one log (all its generations): their files were
/// deleted, compressed or truncated before it read them.
public struct LogLoss: Sendable, Equatable {
    /// Bytes known to be lost (a lower bound: what was written after the last look is unknown).
    public var bytes: Int64 = 0
    /// Lines counted among them: only where the lost bytes could still be read (a compressed
    /// generation, a held partial line); a deleted file's lines cannot be counted.
    public var lines = 0
    /// How many losses (files) these are.
    public var events = 0
}

/// Follows log files by path (globs allowed) and hands every complete line to a `LogLineSink`,
/// once, across rotations and restarts.
///
/// A file is known by its identity — device and inode — and by a fingerprint of its first bytes
/// (`FileFingerprint`), never by its name: a name is only where the tailer looks. Rotation model
/// (after mtail's `internal/tailer`, keyed by identity so that a glob matching rotated names cannot
/// read a file twice). Each `poll()`:
/// 1. Expands the globs. Compressed generations (`.gz`, `.bz2`, `.xz`, `.zst`, `.lz4`, `.zip`) are
///    never read. A directory, FIFO or unreadable file at a path is reported in `problems` (and
///    logged at a limited rate); the other files go on. A path that does not exist yet is simply
///    not followed until it appears.
/// 2. A followed file found at any matched path keeps being followed. A followed file found at none
///    was renamed away or deleted (rename-and-create, delete and re-create, a symlink pointed
///    elsewhere): it is *rotated* — read on through its open descriptor, to its end, until it has not
///    grown for `rotatedIdleMilliseconds` (the writer may still write to it until it reopens its
///    log), then its last partial line is delivered and it is closed. If it is still on disk, it is
///    remembered as *finished* (identity, fingerprint, size; at most `maxFinishedFiles`, forgotten
///    once gone) so that a restart does not read it again. When a log's file is replaced (rotated,
///    or a new file at its path), generations written since its files were last looked at — born
///    and rotated away between two polls, which no path matches — are looked for beside it
///    (`adoptGenerations`) and read from 0 before the new file.
/// 3. A file not followed yet is opened: at the offset remembered for it if it is a finished file
///    that reappeared; at `startAt` if present at the very first poll with no restored offsets;
///    else at 0, since it is new. One that starts like a followed file may be copytruncate's copy in
///    progress: it is held (not read) until the original is truncated (then it is read from the
///    original's offset) or `copyGraceMilliseconds` pass (then the original is intact and the copy
///    repeats what the original delivers: it is followed from its end).
/// 4. Reads every followed file, oldest first, so a rotated file is finished before its successor.
///    A file smaller than what was read, or whose first bytes changed — checked before reading and
///    again after each chunk is read, before its lines are delivered, so that a truncation during
///    the read cannot pass the new content off at the old position — was truncated (copytruncate,
///    or truncated in place): before it is read again from 0, the tailer looks for the copy — a file
///    with its fingerprint among its generations beside it (`RotationNames`), followed or not — and
///    reads the copy from the old offset to its end, so that lines written between the last poll
///    and the truncation are not lost. A copy already compressed is counted as lost (`losses`,
///    with its lines); with no copy at all, whatever was written after the last read cannot be
///    known: that is logged (at notice level, not as a loss) — truncation in place is lossy.
/// 5. Splits on `\n`; a partial last line is held until its newline arrives. A line longer than
///    `maxLineBytes` is skipped without being buffered and reported as `tooLong`.
/// 6. Calls `sink.flush()`. The offsets (`offsets()`) then match what the sink applied: the daemon
///    checkpoints them between polls, and `restore(_:)` resumes from them (see there for the
///    rotations that happen while the agent is down).
///
/// Bounded state: open files are the files matched plus rotated ones being finished; finished
/// files are remembered while they are on disk, at most `maxFinishedFiles`; a path's slot
/// (`LogFileID`, `fileStats`) is reused once nothing at or from that path is followed any more.
///
/// Ownership: not thread-safe. One owner — the daemon's log queue (a Dispatch timer calls `poll()`),
/// or a test, or `agent replay` — calls every method.
public final class LogTailer {
    /// The configured path globs.
    public let patterns: [String]
    public let options: LogTailerOptions
    /// Paths by `LogFileID.index` (a slot whose path was forgotten is reused by the next new path).
    public internal(set) var filePaths: [String] = []
    /// Per `LogFileID.index`.
    public internal(set) var fileStats: [LogFileStats] = []
    /// Current problems by path (is a directory, permission denied, ...); cleared when the path works.
    public internal(set) var problems: [String: String] = [:]
    /// Known losses by log path, since this tailer was made (at most `maxLossPaths` paths; further
    /// ones are added up under `LogTailer.otherLossPath`).
    public internal(set) var losses: [String: LogLoss] = [:]

    let now: () -> Int64
    let logger: Logger
    let openFile: (String) -> Result<Int32, TailerErrno>
    /// Called between a file's size and the reading of its bytes: tests play a rotation there, as
    /// a writer racing with the poll (or a preempted poll) does.
    var willRead: ((String) -> Void)?
    var streams: [LogStream] = []
    var fileIndex: [String: Int] = [:]
    /// Slots of forgotten paths, to reuse.
    var freeSlots: [Int] = []
    /// False until the first poll or a restore: decides whether existing files start at `startAt`.
    var initialized = false
    /// Files read to their end and closed while still on disk, oldest first.
    var finished: [FinishedFile] = []
    /// The file-system time (ns) of the first poll or restore: a log's generations written since
    /// are new even before the tailer has seen any file of it.
    var followingSince: Int64 = 0
    var lastFinishedCheck: Int64 = .min / 2
    var problemLog: [String: (lastLogged: Int64, suppressed: Int)] = [:]
    let buffer: UnsafeMutableRawPointer
    let bufferCapacity: Int

    static let problemLogInterval: Int64 = 60_000
    /// How often remembered finished files are checked for being gone (ms).
    static let finishedCheckInterval: Int64 = 60_000
    /// The most finished files remembered; the oldest is forgotten first. 64 covers logrotate's
    /// usual `rotate` counts for a few logs per tailer.
    public static let maxFinishedFiles = 64
    public static let maxLossPaths = 1024
    public static let otherLossPath = "(other files)"

    /// A file read to its end and closed while still on disk.
    struct FinishedFile {
        var logPath: String
        var location: String
        var identity: FileIdentity
        var fingerprint: FileFingerprint
        /// Its size when it was closed: where to resume if it grows again.
        var offset: Int64
        var modified: Int64
    }

    /// A tailer for `patterns`; `now` is a monotonic clock in milliseconds (injected by tests).
    public convenience init(
        patterns: [String], options: LogTailerOptions = LogTailerOptions(),
        logger: Logger = Logger(label: "agent.logs"), now: @escaping () -> Int64 = LogTailer.monotonicMilliseconds
    ) {
        self.init(patterns: patterns, options: options, logger: logger, now: now, openFile: LogTailer.openReadOnly)
    }

    init(
        patterns: [String], options: LogTailerOptions, logger: Logger, now: @escaping () -> Int64,
        openFile: @escaping (String) -> Result<Int32, TailerErrno>
    ) {
        self.patterns = patterns
        var options = options
        options.maxLineBytes = max(1, options.maxLineBytes)
        options.readChunkBytes = max(4096, options.readChunkBytes)
        options.maxBytesPerPoll = max(options.readChunkBytes, options.maxBytesPerPoll)
        options.fingerprintBytes = max(1, options.fingerprintBytes)
        self.options = options
        self.logger = logger
        self.now = now
        self.openFile = openFile
        // A held partial line (at most maxLineBytes) plus one chunk read after it.
        bufferCapacity = options.maxLineBytes + options.readChunkBytes
        buffer = .allocate(byteCount: bufferCapacity, alignment: 16)
    }

    deinit {
        buffer.deallocate()
    }

    /// Milliseconds of `CLOCK_MONOTONIC`.
    @Sendable public static func monotonicMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// The clock file modification times come from (`CLOCK_REALTIME_COARSE`, ns): a file written
    /// after this is read has a time no earlier.
    static func fileClock() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME_COARSE, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    static func openReadOnly(_ path: String) -> Result<Int32, TailerErrno> {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        return fd >= 0 ? .success(fd) : .failure(TailerErrno(code: errno))
    }

    /// The file id of `path`, assigned on first use (a forgotten path's slot is reused).
    func fileID(for path: String) -> LogFileID {
        if let index = fileIndex[path] { return LogFileID(index: index) }
        if let index = freeSlots.popLast() {
            filePaths[index] = path
            fileStats[index] = LogFileStats()
            fileIndex[path] = index
            return LogFileID(index: index)
        }
        filePaths.append(path)
        fileStats.append(LogFileStats())
        fileIndex[path] = filePaths.count - 1
        return LogFileID(index: filePaths.count - 1)
    }

    /// Frees the slots of `files` that no stream uses and whose path does not exist any more.
    private func forgetUnused(_ files: Set<LogFileID>, present: Set<String>, sink: some LogLineSink) {
        for file in files where !streams.contains(where: { $0.file == file }) {
            let path = filePaths[file.index]
            guard fileIndex[path] == file.index, !present.contains(path), problems[path] == nil else { continue }
            fileIndex[path] = nil
            problemLog[path] = nil
            freeSlots.append(file.index)
            sink.forget(file: file)
        }
    }

    /// Whether a configured pattern matches `path` (as `glob` would find it there).
    func isFollowedPath(_ path: String) -> Bool {
        patterns.contains { fnmatch($0, path, FNM_PATHNAME | FNM_PERIOD) == 0 }
    }

    /// How many files are open (followed or being finished after a rotation).
    public var openFileCount: Int { streams.count }

    /// How many finished files (read to their end, still on disk) are remembered.
    public var finishedFileCount: Int { finished.count }

    // MARK: - Polling

    /// One round: discover files, read every followed file to its current end (bounded by
    /// `maxBytesPerPoll`), deliver complete lines to `sink`, then `sink.flush()`.
    @discardableResult
    public func poll(into sink: some LogLineSink) -> LogPollSummary {
        let now = self.now()
        var summary = LogPollSummary()

        var seen = Set<FileIdentity>()
        var present = Set<String>()
        var fresh: [(path: String, st: stat)] = []
        var listing = discover()
        // A file renamed between the glob and its stat is in neither name's entry of that listing:
        // when a followed file seems gone, list once more before calling it rotated.
        if streams.contains(where: { stream in stream.rotatedSince == nil && !listing.contains { FileIdentity($0.1) == stream.identity } }) {
            listing += discover()
        }
        for (path, st) in listing {
            present.insert(path)
            let identity = FileIdentity(st)
            guard seen.insert(identity).inserted else { continue }  // a second name of one file
            if let stream = streams.first(where: { $0.identity == identity }) {
                if stream.path != path {
                    stream.path = path
                    stream.location = LogStream.resolve(path)
                }
                stream.rotatedSince = nil
            } else {
                fresh.append((path, st))
            }
        }
        var changed: [String] = []  // logs whose file was replaced: look for generations in between
        for stream in streams where stream.rotatedSince == nil && !seen.contains(stream.identity) {
            stream.rotatedSince = now
            fileStats[stream.file.index].rotations += 1
            changed.append(filePaths[stream.file.index])
        }
        // Older files first, so that in one poll a rotated generation is read before the next.
        fresh.sort { ($0.st.st_mtim.tv_sec, $0.st.st_mtim.tv_nsec) < ($1.st.st_mtim.tv_sec, $1.st.st_mtim.tv_nsec) }
        var opened: [LogStream] = []
        for (path, st) in fresh {
            guard case .success(let fd) = openFile(path).mapError({ error -> TailerErrno in
                report(path: path, problem: openProblem(path: path, error: error), now: now)
                return error
            }) else { continue }
            var current = stat()
            fstat(fd, &current)
            let identity = FileIdentity(current)
            if identity != FileIdentity(st) {
                // Replaced between stat and open: the file stat saw was rotated away just now (a
                // generation to look for beside the log), and this one is at the path.
                seen.remove(FileIdentity(st))
                seen.insert(identity)
                if streams.contains(where: { $0.identity == identity }) || opened.contains(where: { $0.identity == identity }) {
                    close(fd)
                    continue
                }
            }
            clearProblem(path)
            let startAtEnd = !initialized && options.startAt == .end
            let stream = LogStream(
                file: fileID(for: path), path: path, fd: fd, identity: identity, offset: 0, now: now,
                undecided: !startAtEnd)
            if let record = takeFinished(identity, fd: fd) {
                // A finished file back at a followed path: what it had was read.
                stream.start(at: min(record.offset, Int64(current.st_size)))
                stream.fingerprint = record.fingerprint
                stream.undecided = false
            } else if startAtEnd {
                stream.start(at: Int64(current.st_size))
                stream.fingerprint = FileFingerprint.read(fd: fd, length: min(Int(current.st_size), options.fingerprintBytes)) ?? FileFingerprint()
            }
            opened.append(stream)
        }
        if initialized {
            // Generations born and rotated away since the last look, read before the new files.
            changed += fresh.map(\.path)
            var cache = LogDirectoryCache()
            for logPath in Set(changed) { adoptGenerations(of: logPath, excluding: seen, now: now, cache: &cache) }
        } else {
            followingSince = LogTailer.fileClock()
        }
        streams += opened
        initialized = true

        var index = 0
        while index < streams.count {
            // A copy adopted while reading a truncated file is inserted before it and read at once.
            let stream = streams[index]
            read(stream, into: sink, now: now, summary: &summary)
            index = (streams.firstIndex { $0 === stream } ?? index) + 1
        }
        var closed = Set<LogFileID>()
        streams.removeAll { stream in
            guard let rotatedSince = stream.rotatedSince,
                now - max(rotatedSince, stream.lastGrowth) >= options.rotatedIdleMilliseconds,
                case .success(let size) = stream.size(), stream.readPosition >= size
            else { return false }
            finish(stream, into: sink)
            remember(stream)
            closed.insert(stream.file)
            return true
        }
        if !closed.isEmpty || now - lastFinishedCheck >= LogTailer.finishedCheckInterval {
            lastFinishedCheck = now
            forgetGoneFinishedFiles()
            problemLog = problemLog.filter { now - $0.value.lastLogged < LogTailer.problemLogInterval || problems[$0.key] != nil }
        }
        if !closed.isEmpty { forgetUnused(closed, present: present, sink: sink) }
        sink.flush()
        return summary
    }

    /// Treats the end of every file as the end of its last line: delivers held partial lines and
    /// closes every file. For one-shot reading (`agent replay`); a later poll starts afresh.
    public func finish(into sink: some LogLineSink) {
        var summary = LogPollSummary()
        let now = self.now()
        for stream in streams {
            // A file held as a possible copy is read now: there is no later to decide in.
            if stream.undecided {
                stream.undecided = false
                stream.heldSince = nil
            }
            while case .success(let size) = stream.size(), stream.readPosition < size {
                let before = stream.readPosition
                read(stream, into: sink, now: now, summary: &summary)
                if stream.readPosition == before { break }
            }
            finish(stream, into: sink)
        }
        streams.removeAll()
        sink.flush()
    }

    private func finish(_ stream: LogStream, into sink: some LogLineSink) {
        switch stream.skip {
        case .none:
            if !stream.carry.isEmpty {
                stream.carry.withUnsafeBytes { sink.consume(line: $0, file: stream.file) }
                fileStats[stream.file.index].lines += 1
            }
        case .tooLong:
            sink.skipped(reason: .tooLong, file: stream.file)
        case .alignment:
            break
        }
        stream.carry.removeAll()
        stream.skip = .none
        stream.offset = stream.readPosition
    }

    /// The paths the globs match now, with their `stat`; reports what cannot be followed.
    func discover() -> [(String, stat)] {
        var result: [(String, stat)] = []
        for pattern in patterns {
            var g = glob_t()
            defer { globfree(&g) }
            let rc = glob(pattern, 0, nil, &g)
            if rc == GLOB_NOMATCH { continue }
            if rc != 0 {
                report(path: pattern, problem: "cannot expand the path glob (a directory on the way is not readable)", now: now())
                continue
            }
            for i in 0..<Int(g.gl_pathc) {
                guard let cPath = g.gl_pathv[i] else { continue }
                let path = String(cString: cPath)
                if RotationNames.compressedSuffixes.contains(where: { path.hasSuffix($0) }) { continue }
                var st = stat()
                guard stat(path, &st) == 0 else {
                    if errno != ENOENT { report(path: path, problem: "cannot stat: \(TailerErrno(code: errno).message)", now: now()) }
                    continue
                }
                switch st.st_mode & S_IFMT {
                case S_IFREG:
                    result.append((path, st))
                case S_IFDIR:
                    report(path: path, problem: "is a directory, not a log file; make the path or glob name files (e.g. \(path)/*.jsonl)", now: now())
                default:
                    report(path: path, problem: "is not a regular file (FIFO, socket or device); only regular files are tailed", now: now())
                }
            }
        }
        return result
    }

    /// Reads `stream` from its position to the file's current end (bounded), delivering lines.
    func read(_ stream: LogStream, into sink: some LogLineSink, now: Int64, summary: inout LogPollSummary) {
        let modifiedBefore = stream.lastModified
        let sizeBefore = stream.lastSize
        guard case .success(let size) = stream.size().mapError({ error -> TailerErrno in
            report(path: stream.path, problem: "cannot stat the open file: \(error.message)", now: now)
            return error
        }) else { return }

        if stream.undecided {
            guard decideCopy(stream, size: size, now: now) else { return }
        }
        if size < stream.readPosition || (size > stream.readPosition && !stream.fingerprintHolds()) {
            truncated(stream, modifiedBefore: modifiedBefore, into: sink, now: now, summary: &summary)
        } else if stream.readPosition == 0, sizeBefore == 0, size > 0, modifiedBefore > 0 {
            // Empty when last looked at, now with content: what it held in between may have been
            // copied away and truncated (copytruncate faster than polls). Read those copies first.
            readGenerations(before: stream, since: modifiedBefore, known: [], into: sink, now: now, summary: &summary)
        }
        willRead?(stream.path)
        if stream.fingerprint.length < options.fingerprintBytes, size > Int64(stream.fingerprint.length) {
            // The fingerprint grows with a short file; the bytes it covered must still be there.
            switch stream.fingerprint.extended(fd: stream.fd, to: Int(min(size, Int64(options.fingerprintBytes)))) {
            case .extended(let fingerprint):
                stream.fingerprint = fingerprint
            case .changed:
                truncated(stream, modifiedBefore: modifiedBefore, into: sink, now: now, summary: &summary)
                summary.morePending = true  // its new content at the next round
                return
            case .unreadable:
                break
            }
        }

        var budget = options.maxBytesPerPoll
        if options.mapFiles {
            // Window by window while lines fit (a line too long to hold goes on below, with pread).
            while stream.readPosition < size, budget > 0, stream.skip == .none,
                let n = readMapped(stream, size: size, budget: min(budget, LogTailer.mapWindowBytes), now: now, into: sink, summary: &summary)
            {
                budget -= n
            }
            if stream.readPosition < size, budget <= 0 { summary.morePending = true }
        }
        while stream.readPosition < size {
            guard budget > 0 else {
                summary.morePending = true
                break
            }
            let held = stream.carry.count
            if held > 0 {
                stream.carry.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: held) }
            }
            let want = Int(min(Int64(min(options.readChunkBytes, budget)), size - stream.readPosition))
            let n = pread(stream.fd, buffer + held, want, off_t(stream.readPosition))
            if n < 0 {
                if errno == EINTR { continue }
                fileStats[stream.file.index].errors += 1
                report(path: stream.path, problem: "read failed: \(TailerErrno(code: errno).message)", now: now)
                break
            }
            if n == 0 { break }
            // Truncated (copytruncate) since the size or the fingerprint was checked: these bytes may
            // be the new content's, at the old content's position. Not delivered; the old content's
            // rest is in the copy, the new content is read from 0 at the next round.
            if !stream.fingerprintHolds() {
                truncated(stream, modifiedBefore: modifiedBefore, into: sink, now: now, summary: &summary)
                summary.morePending = true
                return
            }
            budget -= n
            deliver(stream, base: buffer.assumingMemoryBound(to: UInt8.self), held: held, read: n, now: now, into: sink, summary: &summary)
        }
    }

    /// Accounts for `read` new bytes at `base[held...]`, after the held partial line's `held`
    /// bytes, and delivers the complete lines among them.
    private func deliver(
        _ stream: LogStream, base: UnsafeMutablePointer<UInt8>, held: Int, read n: Int, now: Int64,
        into sink: some LogLineSink, summary: inout LogPollSummary
    ) {
        let bufferPosition = stream.readPosition - Int64(held)
        stream.readPosition += Int64(n)
        stream.lastGrowth = now
        summary.bytes += n
        fileStats[stream.file.index].bytes += n
        let lines = split(stream, base: base, total: held + n, bufferPosition: bufferPosition, into: sink)
        summary.lines += lines
        fileStats[stream.file.index].lines += lines
    }

    /// Bytes mapped at a time with `mapFiles`: few system calls, and little of the file resident
    /// at once (mapped pages count in the process's RSS).
    static let mapWindowBytes = 4 << 20

    /// Reads up to `budget` bytes of `stream` through a read-only mapping of the file, from the
    /// start of its held partial line (the file's bytes `offset..<readPosition`, so nothing is
    /// copied). Returns the bytes read, or nil when the file cannot be mapped (then `pread` reads it).
    private func readMapped(_ stream: LogStream, size: Int64, budget: Int, now: Int64, into sink: some LogLineSink, summary: inout LogPollSummary) -> Int? {
        let held = stream.carry.count
        let start = stream.readPosition - Int64(held)
        let page = Int64(max(4096, sysconf(Int32(_SC_PAGESIZE))))
        let aligned = start & ~(page - 1)
        let n = Int(min(Int64(budget), size - stream.readPosition))
        let length = Int(start - aligned) + held + n
        guard let map = mmap(nil, length, PROT_READ, MAP_PRIVATE | MAP_POPULATE, stream.fd, off_t(aligned)), map != MAP_FAILED else {
            return nil
        }
        defer { munmap(map, length) }
        _ = madvise(map, length, MADV_SEQUENTIAL)
        deliver(stream, base: (map + Int(start - aligned)).assumingMemoryBound(to: UInt8.self), held: held, read: n, now: now, into: sink, summary: &summary)
        return n
    }

    /// Delivers the complete lines in `base[0..<total]` (a held partial line, then new bytes) and
    /// keeps the rest as the new partial line. Returns the number of lines delivered.
    private func split(_ stream: LogStream, base: UnsafeMutablePointer<UInt8>, total: Int, bufferPosition: Int64, into sink: some LogLineSink) -> Int {
        let maxLine = options.maxLineBytes
        let file = stream.file
        var skip = stream.skip
        var lineStart = 0
        var scan = stream.carry.count  // a held partial line holds no newline
        var lines = 0
        while scan < total, let hit = memchr(base + scan, 0x0A, total - scan) {
            let end = hit.assumingMemoryBound(to: UInt8.self) - base
            switch skip {
            case .none:
                if end - lineStart > maxLine {
                    sink.skipped(reason: .tooLong, file: file)
                } else {
                    sink.consume(line: UnsafeRawBufferPointer(start: base + lineStart, count: end - lineStart), file: file)
                    lines += 1
                }
            case .tooLong:
                sink.skipped(reason: .tooLong, file: file)
                skip = .none
            case .alignment:
                skip = .none
            }
            lineStart = end + 1
            scan = lineStart
        }
        if lineStart > 0 || skip == .none {
            stream.offset = bufferPosition + Int64(lineStart)
        }
        let rest = total - lineStart
        if skip == .none, rest > maxLine { skip = .tooLong }
        stream.skip = skip
        if skip == .none {
            stream.carry.removeAll(keepingCapacity: true)
            stream.carry.append(contentsOf: UnsafeBufferPointer(start: base + lineStart, count: rest))
        } else {
            stream.carry.removeAll(keepingCapacity: false)
        }
        return lines
    }

    /// For a stream opened at 0: is it a copy of a followed file (copytruncate)? Returns true when
    /// it may be read now, false while it is held.
    private func decideCopy(_ stream: LogStream, size: Int64, now: Int64) -> Bool {
        guard size > 0 else { return false }  // nothing to compare (or read) yet
        let original = streams.first { other in
            guard other !== stream, other.rotatedSince == nil, !other.undecided, other.fingerprint.length > 0 else { return false }
            let length = Int(min(size, Int64(other.fingerprint.length)))
            let mine = FileFingerprint.read(fd: stream.fd, length: length)
            // The other file may be truncated and rewritten by now: compare with what it was.
            return length == other.fingerprint.length
                ? mine == other.fingerprint : mine == FileFingerprint.read(fd: other.fd, length: length)
        }
        if let original {
            if stream.heldSince == nil { stream.heldSince = now }
            if now - stream.heldSince! < options.copyGraceMilliseconds { return false }
            // Still intact after the grace: not copytruncate but a copy (a backup) of a file being
            // read, whose lines the original delivers. Reading it would count them twice.
            logger.info(
                "\(stream.path): starts like \(original.path), which was not truncated: a copy of it, followed from its end (byte \(size)) so that its lines are not counted twice")
            stream.start(at: size)
        }
        stream.undecided = false
        stream.heldSince = nil
        return true
    }

    // MARK: - Problems

    private func openProblem(path: String, error: TailerErrno) -> String {
        switch error.code {
        case EACCES, EPERM:
            "permission denied: the agent's user cannot read it; grant read access (for example add the user to the log's group)"
        case EISDIR:
            "is a directory, not a log file"
        default:
            "cannot open: \(error.message)"
        }
    }

    /// Records a problem for `path` and logs it, at most once a minute per path.
    func report(path: String, problem: String, now: Int64) {
        problems[path] = problem
        if let index = fileIndex[path] { fileStats[index].errors += 1 }
        var entry = problemLog[path] ?? (lastLogged: Int64.min / 2, suppressed: 0)
        if now - entry.lastLogged >= LogTailer.problemLogInterval {
            let suppressed = entry.suppressed > 0 ? " (\(entry.suppressed) similar messages suppressed)" : ""
            logger.warning("\(path): \(problem)\(suppressed)")
            entry = (now, 0)
        } else {
            entry.suppressed += 1
        }
        problemLog[path] = entry
    }

    func clearProblem(_ path: String) {
        problems[path] = nil
    }
}
