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
    func truncated(_ stream: LogStream, modifiedBefore: Int64, into sink: some LogLineSink, now: Int64, summary: inout LogPollSummary) {
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
        var found: [LogStream] = []
        if let copy = openCopy(of: old, atLeast: offset, near: near, cache: &cache) {
            found.append(makeStream(copy, file: stream.file, at: offset, fingerprint: old, rotated: !isFollowedPath(copy.path), now: now))
        } else if let gz = compressedCopy(of: old, near: near, cache: &cache), let tail = GzipLog(path: gz).tail(after: offset) {
            if tail.bytes > 0 {
                recordLoss(
                    logPath, bytes: tail.bytes, lines: tail.lines, exact: tail.exact,
                    because: "it was truncated (copytruncate) and its copy \(gz) was compressed before the tailer read it past byte \(offset)")
            }
        } else {
            if seen > offset {
                recordLoss(logPath, bytes: seen - offset, lines: 1, exact: true, because: "it was truncated in place with a partial line not yet complete at byte \(offset)")
            }
            logger.notice(
                "\(logPath): truncated after byte \(seen) had been read, and no copy of it was found beside it: lines written after the last read, if any, were not read (truncating a log in place loses them; logrotate's copytruncate leaves a copy, which is read)")
        }
        // Read before the truncated file's new content, which follows it in time.
        streams.insert(contentsOf: found, at: streams.firstIndex { $0 === stream } ?? streams.endIndex)
        for copy in found { read(copy, into: sink, now: now, summary: &summary) }
        // Truncated more than once since the last poll: the copies of the content in between.
        readGenerations(before: stream, since: modifiedBefore, known: [old], into: sink, now: now, summary: &summary)
    }

    /// Reads, before `stream`, the generations of its log written since `since` that nobody follows
    /// (see `generations(of:near:since:known:excluding:now:cache:)`), besides copies of files whose
    /// fingerprints are `known` or followed.
    func readGenerations(
        before stream: LogStream, since: Int64, known: [FileFingerprint], into sink: some LogLineSink, now: Int64, summary: inout LogPollSummary
    ) {
        var cache = LogDirectoryCache()
        let logPath = filePaths[stream.file.index]
        let known = known + streams.map(\.fingerprint) + finished.map(\.fingerprint)
        let found = generations(of: logPath, near: [logPath, stream.location], since: since, known: known, now: now, cache: &cache)
        streams.insert(contentsOf: found, at: streams.firstIndex { $0 === stream } ?? streams.endIndex)
        for generation in found { read(generation, into: sink, now: now, summary: &summary) }
    }

    // MARK: - Generations between two looks

    /// Follows the generations of `logPath` written since its files were last looked at (see
    /// `generations(of:near:since:known:excluding:now:cache:)`), when it has files to compare with;
    /// `discovered` are the files a path matches now (a symlink's new target among them).
    func adoptGenerations(of logPath: String, excluding discovered: Set<FileIdentity>, now: Int64, cache: inout LogDirectoryCache) {
        let mine = streams.filter { filePaths[$0.file.index] == logPath }
        let records = finished.filter { $0.logPath == logPath }
        // Before any file of the log was seen: since the tailer started following it.
        let since = (mine.map(\.lastModified) + records.map(\.modified)).max() ?? followingSince
        guard since > 0 else { return }
        let known = streams.map(\.fingerprint) + finished.map(\.fingerprint)
        let found = generations(
            of: logPath, near: [logPath] + mine.map(\.location) + records.map(\.location), since: since, known: known,
            excluding: discovered, now: now, cache: &cache)
        // Before the log's current file, which they precede in time.
        let current = streams.firstIndex { $0.rotatedSince == nil && filePaths[$0.file.index] == logPath }
        streams.insert(contentsOf: found, at: current ?? streams.endIndex)
    }

    /// Opens, as rotated streams from 0 and oldest first, the plain generations of `logPath` beside
    /// the files `near` (`RotationNames`) that no configured path matches (those are discovered;
    /// so are the `discovered` files, such as a symlink's target),
    /// modified no earlier than `since` (ns), not followed nor finished, and not a copy of a file
    /// whose fingerprint is `known`: generations born and renamed away while the tailer was not
    /// looking (between two polls, or while the agent was down).
    ///
    /// Modification times order generations: each is written after the one before it was rotated,
    /// so a generation newer than the newest file known has a time no earlier than that file's. A
    /// coarse file-system clock can make an older generation's time equal: those are the finished
    /// files, which `known` excludes by their fingerprints.
    func generations(
        of logPath: String, near: [String], since: Int64, known: [FileFingerprint], excluding discovered: Set<FileIdentity> = [],
        now: Int64, cache: inout LogDirectoryCache
    ) -> [LogStream] {
        var found: [LogStream] = []
        let known = known.filter { $0.length > 0 }
        for family in LogDirectoryCache.families(near) {
            guard let directory = cache.directory(family.directory) else { continue }
            for generation in directory.generations(of: family.base) where !generation.compressed {
                let path = directory.path(of: generation.name)
                var st = stat()
                guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size > 0, FileIdentity.modified(st) >= since,
                    !isFollowedPath(path)
                else { continue }
                let identity = FileIdentity(st)
                // Finished files are recognised by their fingerprints (in `known`), not their inode
                // numbers: a deleted one's number is soon given to a new file.
                guard !discovered.contains(identity), !streams.contains(where: { $0.identity == identity }),
                    !found.contains(where: { $0.identity == identity }), case .success(let fd) = openFile(path)
                else { continue }
                var opened = stat()
                let size = Int64(st.st_size)
                guard fstat(fd, &opened) == 0, FileIdentity(opened) == identity,
                    !known.contains(where: { Int64($0.length) <= size && FileFingerprint.read(fd: fd, length: $0.length) == $0 })
                else {
                    close(fd)  // a copy of a file already read, or replaced meanwhile
                    continue
                }
                logger.info("\(path): a generation of \(logPath) no path matches, not read yet: read from its start")
                found.append(makeStream(FoundFile(path: path, fd: fd, st: opened), file: fileID(for: logPath), at: 0, fingerprint: FileFingerprint(), rotated: true, now: now))
            }
        }
        return found.sorted { $0.lastModified < $1.lastModified }
    }

    /// A stream on a file found beside a log, from `offset`.
    func makeStream(_ found: FoundFile, file: LogFileID, at offset: Int64, fingerprint: FileFingerprint, rotated: Bool, now: Int64) -> LogStream {
        let stream = LogStream(file: file, path: found.path, fd: found.fd, identity: FileIdentity(found.st), offset: 0, now: now, undecided: false)
        stream.start(at: offset)
        stream.fingerprint = fingerprint
        stream.lastSize = Int64(found.st.st_size)
        stream.lastModified = FileIdentity.modified(found.st)
        if rotated { stream.rotatedSince = now }
        return stream
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
