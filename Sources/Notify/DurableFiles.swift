#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The file operations the outbox needs, with the durability steps spelled out: write a temporary
/// file, fsync it, rename it into place, fsync the directory. After a crash a file is either
/// absent or whole, never torn.
enum DurableFiles {
    struct Failure: Error, CustomStringConvertible {
        var operation: String
        var path: String
        var code: Int32
        var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
    }

    /// Creates `path` and its missing parents (mode 0700: notifications may carry private data).
    static func createDirectory(_ path: String) throws(Failure) {
        var current = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            current += (current.isEmpty || current.hasSuffix("/") ? "" : "/") + part
            if mkdir(current, 0o700) != 0, errno != EEXIST {
                throw Failure(operation: "mkdir", path: current, code: errno)
            }
        }
    }

    /// Writes `bytes` to `directory/name` through `directory/.tmp-name`; the directory is not
    /// synced here (callers batch that with `syncDirectory`).
    static func write(_ bytes: [UInt8], directory: String, name: String) throws(Failure) {
        let temp = directory + "/.tmp-" + name
        let final = directory + "/" + name
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure(operation: "open", path: temp, code: errno) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { buffer in
                Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if n < 0 {
                if errno == EINTR { continue }
                let code = errno
                close(fd)
                unlink(temp)
                throw Failure(operation: "write", path: temp, code: code)
            }
            offset += n
        }
        if fsync(fd) != 0 {
            let code = errno
            close(fd)
            unlink(temp)
            throw Failure(operation: "fsync", path: temp, code: code)
        }
        close(fd)
        if rename(temp, final) != 0 {
            let code = errno
            unlink(temp)
            throw Failure(operation: "rename", path: temp, code: code)
        }
    }

    static func syncDirectory(_ directory: String) throws(Failure) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(operation: "open", path: directory, code: errno) }
        defer { close(fd) }
        if fsync(fd) != 0 { throw Failure(operation: "fsync", path: directory, code: errno) }
    }

    static func read(_ path: String, limit: Int) throws(Failure) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(operation: "open", path: path, code: errno) }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while out.count <= limit {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(operation: "read", path: path, code: errno)
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }

    /// Names in `directory` (no `.` or `..`), unsorted.
    static func list(_ directory: String) throws(Failure) -> [String] {
        guard let dir = opendir(directory) else { throw Failure(operation: "opendir", path: directory, code: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    static func remove(_ path: String) {
        unlink(path)
    }

    static func move(_ from: String, _ to: String) {
        rename(from, to)
    }

    /// Appends `bytes` with one `write` (O_APPEND), so concurrent writers' lines do not interleave;
    /// with `sync`, flushed before it returns.
    static func append(_ bytes: [UInt8], to path: String, sync: Bool = false) throws(Failure) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw Failure(operation: "open", path: path, code: errno) }
        defer { close(fd) }
        try writeAll(fd, bytes, path: path)
        if sync, fsync(fd) != 0 { throw Failure(operation: "fsync", path: path, code: errno) }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(operation: "write", path: path, code: errno)
            }
            offset += n
        }
    }
}
