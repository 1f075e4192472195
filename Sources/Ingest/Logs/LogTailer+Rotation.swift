#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Directories read at most once during one restore or one truncation.
struct LogDirectoryCache {
    private var directories: [String: LogDirectory?] = [:]

    mutating func directory(_ path: String) -> LogDirectory? {
        if let cached = directories[path] { return cached }
        let directory = LogDirectory(path: path)
        directories[path] = directory
        return directory
    }

    /// The (directory, base name) pairs whose generations to look at for files named `paths`.
    static func families(_ paths: [String]) -> [(directory: String, base: String)] {
        var out: [(directory: String, base: String)] = []
        for path in paths {
            let pair = (LogDirectory.directory(of: path), LogDirectory.baseName(of: path))
            if !out.contains(where: { $0 == pair }) { out.append(pair) }
        }
        return out
    }
}

/// An open file found beside a log.
struct FoundFile {
    var path: String
    var fd: Int32
    var st: stat
}

extension LogTailer {
    // MARK: - Truncation

    /// `stream` shrank or its first bytes changed: copytruncate or truncation in place. Before it
    /// is read again from 0, the rest of its old content is looked for in a copy (see the type's
    /// rotation model, step 4).
    func truncated(_ stream: LogStream, into sink: some LogLineSink, now: Int64, summary: inout LogPollSummary) {
        fileStats[stream.file.index].truncations += 1
        let old = stream.fingerprint
        let offset = stream.offset
        let seen = stream.readPosition
        let logPath = filePaths[stream.file.index]
        stream.start(at: 0)
        stream.fingerprint = FileFingerprint()
        guard old.length > 0 else { return }  // nothing of it was known

        // The copy already followed through a glob and held as a possible copy.
        if let copy = streams.first(where: { other in
            other !== stream && other.undecided && (try? other.size().get()).map { $0 >= max(offset, Int64(old.length)) } == true
                && FileFingerprint.read(fd: other.fd, length: old.length) == old
        }) {
            copy.start(at: offset)
            copy.fingerprint = old
            copy.undecided = false
            copy.heldSince = nil
            return
        }
        var cache = LogDirectoryCache()
        let near = [logPath, stream.location]
        if let found = openCopy(of: old, atLeast: offset, near: near, cache: &cache) {
            let copy = LogStream(
                file: stream.file, path: found.path, fd: found.fd, identity: FileIdentity(found.st), offset: 0, now: now, undecided: false)
            copy.start(at: offset)
            copy.fingerprint = old
            if !isFollowedPath(found.path) { copy.rotatedSince = now }
            // Read before the truncated file's new content, which follows it in time.
            streams.insert(copy, at: streams.firstIndex { $0 === stream } ?? streams.endIndex)
            read(copy, into: sink, now: now, summary: &summary)
            return
        }
        if let gz = compressedCopy(of: old, near: near, cache: &cache), let tail = GzipLog(path: gz).tail(after: offset) {
            if tail.bytes > 0 {
                recordLoss(
                    logPath, bytes: tail.bytes, lines: tail.lines, exact: tail.exact,
                    because: "it was truncated (copytruncate) and its copy \(gz) was compressed before the tailer read it past byte \(offset)")
            }
            return
        }
        if seen > offset {
            recordLoss(logPath, bytes: seen - offset, lines: 1, exact: true, because: "it was truncated in place with a partial line not yet complete at byte \(offset)")
        }
        logger.notice(
            "\(logPath): truncated after byte \(seen) had been read, and no copy of it was found beside it: lines written after the last read, if any, were not read (truncating a log in place loses them; logrotate's copytruncate leaves a copy, which is read)")
    }

    // MARK: - Finished files

    /// Remembers a rotated stream closed after being read to its end, if it is still on disk.
    func remember(_ stream: LogStream) {
        var st = stat()
        guard fstat(stream.fd, &st) == 0, st.st_nlink > 0, stream.fingerprint.length > 0 else { return }
        finished.removeAll { $0.identity == stream.identity }
        finished.append(FinishedFile(
            logPath: filePaths[stream.file.index], location: stream.location, identity: stream.identity,
            fingerprint: stream.fingerprint, offset: stream.readPosition, modified: FileIdentity.modified(st)))
        if finished.count > LogTailer.maxFinishedFiles { finished.removeFirst(finished.count - LogTailer.maxFinishedFiles) }
    }

    /// The remembered finished file open as `fd` (identity and first bytes), taken off the list.
    func takeFinished(_ identity: FileIdentity, fd: Int32) -> FinishedFile? {
        guard let i = finished.firstIndex(where: { $0.identity == identity }) else { return nil }
        let record = finished.remove(at: i)
        return FileFingerprint.read(fd: fd, length: record.fingerprint.length) == record.fingerprint ? record : nil
    }

    /// Drops remembered finished files that are gone (deleted or compressed); follows renamed ones.
    func forgetGoneFinishedFiles() {
        var cache = LogDirectoryCache()
        finished = finished.compactMap { record in
            var record = record
            var st = stat()
            if stat(record.location, &st) == 0, FileIdentity(st) == record.identity { return record }
            guard let path = cache.directory(LogDirectory.directory(of: record.location))?.find(record.identity) else { return nil }
            record.location = path
            return record
        }
    }

    // MARK: - Looking beside a log

    /// Opens `path` if it is a regular file of at least `minSize` bytes whose first bytes match
    /// `fingerprint`, and not a file already followed.
    func openMatching(_ path: String, fingerprint: FileFingerprint, minSize: Int64) -> FoundFile? {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, Int64(st.st_size) >= max(minSize, Int64(fingerprint.length)),
            !streams.contains(where: { $0.identity == FileIdentity(st) }),
            case .success(let fd) = openFile(path)
        else { return nil }
        var opened = stat()
        guard fstat(fd, &opened) == 0, FileIdentity(opened) == FileIdentity(st),
            FileFingerprint.read(fd: fd, length: fingerprint.length) == fingerprint
        else {
            close(fd)
            return nil
        }
        return FoundFile(path: path, fd: fd, st: opened)
    }

    /// A plain generation beside the files `near` that starts with `fingerprint` and holds at least
    /// `minSize` bytes: copytruncate's copy of a truncated or removed file, opened.
    func openCopy(of fingerprint: FileFingerprint, atLeast minSize: Int64, near: [String], cache: inout LogDirectoryCache) -> FoundFile? {
        guard fingerprint.length > 0 else { return nil }
        for family in LogDirectoryCache.families(near) {
            guard let directory = cache.directory(family.directory) else { continue }
            for generation in directory.generations(of: family.base) where !generation.compressed {
                if let found = openMatching(directory.path(of: generation.name), fingerprint: fingerprint, minSize: minSize) { return found }
            }
        }
        return nil
    }

    /// A gzip generation beside the files `near` whose content starts with `fingerprint`.
    func compressedCopy(of fingerprint: FileFingerprint, near: [String], cache: inout LogDirectoryCache) -> String? {
        guard fingerprint.length > 0 else { return nil }
        for family in LogDirectoryCache.families(near) {
            guard let directory = cache.directory(family.directory) else { continue }
            for generation in directory.generations(of: family.base) where generation.name.hasSuffix(".gz") {
                let path = directory.path(of: generation.name)
                if let prefix = GzipLog(path: path).prefix(fingerprint.length), fingerprint.matches(prefixOf: prefix) { return path }
            }
        }
        return nil
    }

    // MARK: - Losses

    /// Counts a loss of `logPath` and warns about it: `lines` nil when they cannot be counted.
    func recordLoss(_ logPath: String, bytes: Int64, lines: Int?, exact: Bool, because reason: String) {
        guard bytes > 0 else { return }
        let key = losses[logPath] != nil || losses.count < LogTailer.maxLossPaths ? logPath : LogTailer.otherLossPath
        losses[key, default: LogLoss()].bytes += bytes
        losses[key, default: LogLoss()].lines += lines ?? 0
        losses[key, default: LogLoss()].events += 1
        let atLeast = exact ? "" : "at least "
        let what = lines.map { "\(atLeast)\($0) lines (\(atLeast)\(bytes) bytes)" } ?? "\(atLeast)\(bytes) bytes (their lines cannot be counted: the file is gone)"
        logger.warning("\(logPath): lost \(what): \(reason)")
    }
}
