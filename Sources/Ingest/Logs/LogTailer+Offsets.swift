#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension LogTailer {
    /// Where every followed file stands: what the daemon checkpoints between polls.
    public func offsets() -> TailOffsets {
        TailOffsets(files: streams.map { $0.offsetEntry(logPath: filePaths[$0.file.index]) })
    }

    /// Resumes from a checkpoint's offsets; call before the first `poll()`.
    ///
    /// Each file is looked up where it was last seen, then by device and inode among the other
    /// files of its directory (rotated while the agent was down: it is finished first). Its first
    /// bytes must still match the fingerprint, else the inode was recycled or the file rewritten
    /// and a file found at its log path is read from 0. A file smaller than its offset was truncated:
    /// read from 0. Files the checkpoint does not know start at 0 (they appeared while the agent
    /// was down), not at `startAt`.
    public func restore(_ saved: TailOffsets) {
        precondition(streams.isEmpty && !initialized, "restore(_:) comes before the first poll()")
        let now = self.now()
        for entry in saved.files {
            let identity = FileIdentity(device: entry.device, inode: entry.inode)
            guard let location = locate(identity, near: [entry.location, entry.path]) else {
                logger.warning(
                    "\(entry.path): the file being read (device \(entry.device), inode \(entry.inode)) was removed while the agent was down; its lines after byte \(entry.offset) are lost")
                continue
            }
            guard case .success(let fd) = openFile(location) else { continue }
            var st = stat()
            guard fstat(fd, &st) == 0, FileIdentity(st) == identity else {
                close(fd)
                continue
            }
            let saved = FileFingerprint(length: Int(entry.fingerprintLength), hash: entry.fingerprint)
            let intact = FileFingerprint.read(fd: fd, length: saved.length) == saved
            let stream = LogStream(
                file: fileID(for: entry.path), path: location, fd: fd, identity: identity, offset: 0, now: now, undecided: false)
            if !intact {
                // A recycled inode: a different file. Only a file at a followed path is ours.
                guard location == entry.path || location == entry.location else {
                    close(fd)
                    continue
                }
            } else if Int64(st.st_size) < entry.offset {
                fileStats[stream.file.index].truncations += 1
                stream.fingerprint = FileFingerprint()
            } else {
                stream.start(at: entry.offset)
                stream.fingerprint = saved
            }
            if entry.rotated { stream.rotatedSince = now }
            streams.append(stream)
        }
        initialized = true
    }

    /// The path of the file with `identity`: one of `candidates`, else a file in their directories.
    private func locate(_ identity: FileIdentity, near candidates: [String]) -> String? {
        for path in candidates {
            var st = stat()
            if stat(path, &st) == 0, FileIdentity(st) == identity { return path }
        }
        var directories: [String] = []
        for path in candidates {
            let directory = path.lastIndex(of: "/").map { String(path[..<$0]) }.map { $0.isEmpty ? "/" : $0 } ?? "."
            if !directories.contains(directory) { directories.append(directory) }
        }
        for directory in directories {
            guard let dir = opendir(directory) else { continue }
            defer { closedir(dir) }
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                guard name != ".", name != ".." else { continue }
                let path = directory == "/" ? "/" + name : directory + "/" + name
                var st = stat()
                if stat(path, &st) == 0, FileIdentity(st) == identity, (st.st_mode & S_IFMT) == S_IFREG { return path }
            }
        }
        return nil
    }
}
