#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension LogTailer {
    /// Where every followed file stands, and the finished files still on disk: what the daemon
    /// checkpoints between polls. A file not read yet (offset 0, no fingerprint: possibly a copy
    /// being held) is restored as such, and decided again.
    public func offsets() -> TailOffsets {
        var files = streams.map { $0.offsetEntry(logPath: filePaths[$0.file.index]) }
        files += finished.map { record in
            TailOffsets.File(
                path: record.logPath, location: record.location, device: record.identity.device, inode: record.identity.inode,
                offset: record.offset, size: record.offset, modified: record.modified,
                fingerprintLength: Int32(record.fingerprint.length), fingerprint: record.fingerprint.hash, rotated: true, finished: true)
        }
        return TailOffsets(files: files, patterns: patterns, taken: LogTailer.fileClock())
    }

    /// Resumes from a checkpoint's offsets; call before the first `poll()`.
    ///
    /// What happened while the agent was down is worked out from the files on disk:
    /// 1. Each file being read is looked up by device and inode where it was last seen, then among
    ///    the other files of its directory (renamed away, as `app.log.1` or further, whether or not a
    ///    glob matches that name). If its first bytes still match the fingerprint and it holds its
    ///    offset, it is read on from there to its end.
    /// 2. If it shrank or its first bytes changed, it was truncated: when it is at the log's path it
    ///    is read from 0 (its new content); a recycled inode elsewhere is someone else's file. The rest
    ///    of its old content is then looked for, as when it is gone: a plain generation beside it that
    ///    starts with the fingerprint and holds the offset (copytruncate's copy, however often renamed
    ///    since) is read from the offset. A gzip generation with that content has lost the lines after
    ///    the offset: they are counted (`losses`) and logged. Otherwise the bytes the checkpoint knew
    ///    were unread are counted as lost; whether more were written after the checkpoint cannot be
    ///    known, and that is logged at notice level only, not as a loss.
    /// 3. A finished file (read to its end) still on disk is remembered again, or read on if it grew.
    /// 4. Generations of the log written after the checkpoint — plain files beside it with a rotation
    ///    name (`RotationNames`) that no configured path matches, modified no earlier than the newest
    ///    file the checkpoint knew, not known to it by identity, and not a copy of a file it knew —
    ///    are read from 0, oldest first: these are the rotations that happened while the agent was
    ///    down (several of them too). Those a glob matches are new files of step 5.
    /// 5. Any other file a glob matches is new: read from 0 at the first poll, not from `startAt`.
    public func restore(_ saved: TailOffsets) {
        precondition(streams.isEmpty && !initialized, "restore(_:) comes before the first poll()")
        let now = self.now()
        var cache = LogDirectoryCache()
        for entry in saved.files where !entry.finished {
            restoreReading(entry, now: now, cache: &cache)
        }
        for entry in saved.files where entry.finished {
            restoreFinished(entry, now: now, cache: &cache)
        }
        restoreNewerGenerations(saved, now: now, cache: &cache)
        // A log with no file in the checkpoint: its generations written since the checkpoint.
        followingSince = saved.taken > 0 ? saved.taken : LogTailer.fileClock()
        // Oldest first: a generation is read before the one that followed it.
        streams = streams.enumerated().sorted { ($0.element.lastModified, $0.offset) < ($1.element.lastModified, $1.offset) }.map(\.element)
        initialized = true
    }

    private func restoreReading(_ entry: TailOffsets.File, now: Int64, cache: inout LogDirectoryCache) {
        let identity = FileIdentity(device: entry.device, inode: entry.inode)
        let saved = FileFingerprint(length: Int(entry.fingerprintLength), hash: entry.fingerprint)
        let file = fileID(for: entry.path)
        let near = [entry.path, entry.location]
        var truncatedInPlace = false
        if let found = locate(identity, near: near, cache: &cache) {
            let followed = found.path == entry.path || isFollowedPath(found.path)
            if Int64(found.st.st_size) >= entry.offset, FileFingerprint.read(fd: found.fd, length: saved.length) == saved {
                follow(found, file: file, at: entry.offset, fingerprint: saved, rotated: !followed, now: now)
                // Not read yet when checkpointed: it may be a copy held back; decide again.
                if entry.offset == 0, saved.length == 0 { streams.last!.undecided = true }
                return
            }
            // Changed content under the same inode: the log's file truncated or rewritten, or an
            // inode the file system gave to a new file after the old one was deleted.
            guard followed, LogTailer.wasLive(entry) else {
                close(found.fd)  // a recycled inode: someone else's file now
                return restoreGone(entry, saved: saved, truncatedInPlace: false, near: near, now: now, cache: &cache)
            }
            // The log's own file, truncated or rewritten: its new content from 0. Its fingerprint is
            // taken now, so that a truncation before the first poll is seen (copytruncate again).
            fileStats[file.index].truncations += 1
            let current = FileFingerprint.read(fd: found.fd, length: Int(min(Int64(options.fingerprintBytes), Int64(found.st.st_size))))
            follow(found, file: file, at: 0, fingerprint: current ?? FileFingerprint(), rotated: false, now: now)
            truncatedInPlace = true
        }
        restoreGone(entry, saved: saved, truncatedInPlace: truncatedInPlace, near: near, now: now, cache: &cache)
    }

    /// The content `entry` was reading is no longer in its file: find it in a copy, or count it lost.
    private func restoreGone(
        _ entry: TailOffsets.File, saved: FileFingerprint, truncatedInPlace: Bool, near: [String], now: Int64, cache: inout LogDirectoryCache
    ) {
        if let copy = openCopy(of: saved, atLeast: entry.offset, near: near, cache: &cache) {
            logger.info("\(entry.path): its content up to byte \(entry.offset) was read; reading the rest from its copy \(copy.path)")
            follow(copy, file: fileID(for: entry.path), at: entry.offset, fingerprint: saved, rotated: !isFollowedPath(copy.path), now: now)
            return
        }
        if let gz = compressedCopy(of: saved, near: near, cache: &cache), let tail = GzipLog(path: gz).tail(after: entry.offset) {
            recordLoss(
                entry.path, bytes: tail.bytes, lines: tail.lines, exact: tail.exact,
                because: "it was compressed to \(gz) while the agent was down, before it was read past byte \(entry.offset)")
            return
        }
        let what = truncatedInPlace ? "was truncated in place" : "was removed (deleted, or compressed in a format the agent cannot read)"
        if entry.size > entry.offset {
            recordLoss(
                entry.path, bytes: entry.size - entry.offset, lines: nil, exact: false,
                because: "it \(what) while the agent was down, before it was read past byte \(entry.offset)")
        } else if truncatedInPlace || LogTailer.wasLive(entry) {
            // The log's live file may have been written to after the checkpoint.
            logger.notice(
                "\(entry.path): the file being read (read to byte \(entry.offset)) \(what) while the agent was down: lines written to it after the checkpoint, if any, were not read")
        }
        // A rotated file that had been read to its end and was then removed: nothing known lost.
    }

    /// Whether `entry` was the log's own file at the checkpoint, not an older generation (which a
    /// glob may follow too) nor a rotated file being finished.
    private static func wasLive(_ entry: TailOffsets.File) -> Bool {
        !entry.rotated && (entry.location == entry.path || entry.location == LogStream.resolve(entry.path))
    }

    private func restoreFinished(_ entry: TailOffsets.File, now: Int64, cache: inout LogDirectoryCache) {
        let identity = FileIdentity(device: entry.device, inode: entry.inode)
        let saved = FileFingerprint(length: Int(entry.fingerprintLength), hash: entry.fingerprint)
        guard let found = locate(identity, near: [entry.location, entry.path], cache: &cache) else { return }  // gone: it had been read
        guard FileFingerprint.read(fd: found.fd, length: saved.length) == saved else {
            close(found.fd)  // a recycled inode
            return
        }
        if Int64(found.st.st_size) > entry.offset {
            follow(found, file: fileID(for: entry.path), at: entry.offset, fingerprint: saved, rotated: !isFollowedPath(found.path), now: now)
        } else {
            close(found.fd)
            finished.append(FinishedFile(
                logPath: entry.path, location: found.path, identity: identity, fingerprint: saved, offset: entry.offset,
                modified: FileIdentity.modified(found.st)))
        }
    }

    /// Step 4 of `restore(_:)`: generations written while the agent was down.
    private func restoreNewerGenerations(_ saved: TailOffsets, now: Int64, cache: inout LogDirectoryCache) {
        var logPaths: [String] = []
        for entry in saved.files where !logPaths.contains(entry.path) { logPaths.append(entry.path) }
        let known = saved.files.map { FileFingerprint(length: Int($0.fingerprintLength), hash: $0.fingerprint) }
        for logPath in logPaths {
            let entries = saved.files.filter { $0.path == logPath }
            // Version 1 checkpoints do not say when the files were last seen: nothing to compare with.
            let newest = entries.map(\.modified).max() ?? 0
            guard newest > 0 else { continue }
            streams += generations(of: logPath, near: [logPath] + entries.map(\.location), since: newest, known: known, now: now, cache: &cache)
        }
    }

    /// Follows an open file found by `restore(_:)` from `offset`.
    private func follow(_ found: FoundFile, file: LogFileID, at offset: Int64, fingerprint: FileFingerprint, rotated: Bool, now: Int64) {
        streams.append(makeStream(found, file: file, at: offset, fingerprint: fingerprint, rotated: rotated, now: now))
    }

    /// The file with `identity`, opened: at one of `candidates`, else elsewhere in their directories.
    private func locate(_ identity: FileIdentity, near candidates: [String], cache: inout LogDirectoryCache) -> FoundFile? {
        var path: String?
        for candidate in candidates {
            var st = stat()
            if stat(candidate, &st) == 0, FileIdentity(st) == identity, (st.st_mode & S_IFMT) == S_IFREG {
                path = candidate
                break
            }
        }
        if path == nil {
            for family in LogDirectoryCache.families(candidates) {
                if let found = cache.directory(family.directory)?.find(identity) {
                    path = found
                    break
                }
            }
        }
        guard let path, !streams.contains(where: { $0.identity == identity }), case .success(let fd) = openFile(path) else { return nil }
        var st = stat()
        guard fstat(fd, &st) == 0, FileIdentity(st) == identity else {
            close(fd)
            return nil
        }
        return FoundFile(path: path, fd: fd, st: st)
    }
}
