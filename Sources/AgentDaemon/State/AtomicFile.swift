#if canImport(Glibc)
import Glibc
#endif

/// Writes whole files so that a crash leaves either the old content or the new, never a mix:
/// write a temporary file beside the target, fsync it, rename it over the target, fsync the folder.
public enum AtomicFile {
    /// Why a durable write failed.
    public struct WriteError: Error, CustomStringConvertible {
        public let path: String
        public let step: String
        public let errno: Int32
        public var description: String { "cannot write \(path): \(step) failed: \(String(cString: strerror(errno)))" }
    }

    /// Replaces `path` with `bytes` durably; the file gets `mode`.
    public static func write(_ bytes: [UInt8], to path: String, mode: UInt32 = 0o600) throws(WriteError) {
        let temp = path + ".tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode_t(mode))
        guard fd >= 0 else { throw WriteError(path: temp, step: "open", errno: errno) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                let e = errno
                close(fd)
                unlink(temp)
                throw WriteError(path: temp, step: "write", errno: e)
            }
            written += n
        }
        if fsync(fd) != 0 {
            let e = errno
            close(fd)
            unlink(temp)
            throw WriteError(path: temp, step: "fsync", errno: e)
        }
        close(fd)
        guard rename(temp, path) == 0 else {
            let e = errno
            unlink(temp)
            throw WriteError(path: path, step: "rename", errno: e)
        }
        try syncDirectory(of: path)
    }

    /// fsyncs the folder holding `path`, so a rename or unlink in it survives a crash.
    public static func syncDirectory(of path: String) throws(WriteError) {
        let dir = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        let dfd = open(dir.isEmpty ? "/" : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else { throw WriteError(path: dir, step: "open folder", errno: errno) }
        defer { close(dfd) }
        guard fsync(dfd) == 0 else { throw WriteError(path: dir, step: "fsync folder", errno: errno) }
    }

    /// The whole content of `path`, or nil when it does not exist; throws on other errors.
    public static func read(_ path: String) throws(WriteError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw WriteError(path: path, step: "open", errno: errno)
        }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw WriteError(path: path, step: "read", errno: errno)
            }
            if n == 0 { return out }
            out.append(contentsOf: chunk[..<n])
        }
    }

    /// Creates `path` and its parents (mode 0750) when missing.
    public static func makeDirectory(_ path: String) throws(WriteError) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o750) != 0 && errno != EEXIST { throw WriteError(path: current, step: "mkdir", errno: errno) }
        }
    }
}
