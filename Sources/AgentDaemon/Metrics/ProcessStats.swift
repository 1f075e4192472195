#if canImport(Glibc)
import Glibc
#endif

/// The process's own resource use, from /proc/self.
public struct ProcessStats: Sendable {
    /// Resident set size in bytes.
    public var residentBytes: Int = 0
    /// Virtual memory in bytes.
    public var virtualBytes: Int = 0
    /// User + system CPU seconds.
    public var cpuSeconds: Double = 0
    /// Open file descriptors.
    public var openFDs: Int = 0
    /// Threads.
    public var threads: Int = 0

    /// Reads the current figures; fields it cannot read stay zero.
    public static func current() -> ProcessStats {
        var stats = ProcessStats()
        (stats.virtualBytes, stats.residentBytes) = memory()
        if let stat = readSmallFile("/proc/self/stat"), let close = stat.lastIndex(of: ")") {
            // Fields after the command name: state is field 3; utime 14, stime 15, threads 20.
            let f = stat[stat.index(after: close)...].split(separator: " ")
            if f.count > 17 {
                let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
                stats.cpuSeconds = (Double(f[11]) ?? 0) / ticks + (Double(f[12]) ?? 0) / ticks
                stats.threads = Int(f[17]) ?? 0
            }
        }
        if let dir = opendir("/proc/self/fd") {
            while readdir(dir) != nil { stats.openFDs += 1 }
            closedir(dir)
            stats.openFDs = max(0, stats.openFDs - 3)  // ".", "..", and the directory's own descriptor
        }
        return stats
    }

    /// Virtual and resident memory in bytes, from /proc/self/statm alone (zero when unreadable).
    static func memory() -> (virtual: Int, resident: Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard let statm = readSmallFile("/proc/self/statm") else { return (0, 0) }
        let f = statm.split(separator: " ")
        guard f.count > 1 else { return (0, 0) }
        return ((Int(f[0]) ?? 0) * page, (Int(f[1]) ?? 0) * page)
    }

    /// A /proc file's text, read to its end (they report no size) up to `limit` bytes; nil when
    /// it cannot be read or is empty.
    static func readSmallFile(_ path: String, limit: Int = 1 << 20) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while bytes.count < limit {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            bytes.append(contentsOf: chunk[..<n])
        }
        return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self)
    }
}
