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
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        if let statm = readSmallFile("/proc/self/statm") {
            let f = statm.split(separator: " ")
            if f.count > 1 {
                stats.virtualBytes = (Int(f[0]) ?? 0) * page
                stats.residentBytes = (Int(f[1]) ?? 0) * page
            }
        }
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

    static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        return String(decoding: buffer[..<n], as: UTF8.self)
    }
}
