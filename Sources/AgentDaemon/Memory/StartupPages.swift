#if canImport(Glibc)
import Glibc
#endif

/// Hands back to the kernel the pages that only start-up needed.
///
/// Start-up touches code and tables it never uses again: argument parsing, YAML and the
/// configuration's validation, the dynamic loader's 2 MB of relocations, library initialisers.
/// With nothing pressing on memory the kernel leaves them mapped, and fault-around maps 64 KB
/// around every page touched, so they stay in the resident set for the process's whole life
/// (≈ 10 MB of a sidecar's RSS, measured by scripts/bench-daemon.sh). `MADV_PAGEOUT` (Linux 5.4+)
/// reclaims the file-backed pages of the libraries' read-only mappings and of the whole executable
/// that this process alone maps (the kernel skips pages other processes share, and without swap it
/// leaves the few written pages of the binary's data segment alone); whatever is used again faults
/// back in from the page cache or the file. For the executable itself, read-ahead is turned off and
/// its unmapped cached pages dropped, so that what comes back is what is used rather than 64 KB
/// around it. Pages other processes share (libc's, libcrypto's: every host has other users of
/// them) stay in the page cache but are unmapped from this process with `MADV_DONTNEED`, in
/// mappings that were never written (code, read-only data; never a RELRO segment, whose relocated
/// pages are this process's own copies: smaps shows them as `Anonymous`): they still counted in
/// this process's resident set although start-up alone used them (measured alone with the
/// example configuration: libcrypto 2.9 MB, libc 1.5 MB, libcurl 0.5 MB). What is used again maps
/// back in from the page cache. The libraries' writable mappings and the heap are not advised;
/// `malloc_trim` returns the heap's free pages.
enum StartupPages {
    /// What one release did.
    struct Outcome: Sendable {
        var mappings = 0
        var advisedBytes = 0
        var residentBefore = 0
        var residentAfter = 0
        var error: Int32 = 0
    }

    /// Linux's MADV_PAGEOUT, which older C headers do not name.
    static let pageout: Int32 = 21

    /// Advises the kernel to reclaim this process's file-backed pages (see the type) and trims the heap.
    static func release() -> Outcome {
        var outcome = Outcome()
        outcome.residentBefore = ProcessStats.memory().resident
        trimHeap()
        let executable = executablePath()
        for mapping in fileMappings() where !mapping.writable || mapping.path == executable {
            guard let address = UnsafeMutableRawPointer(bitPattern: mapping.start) else { continue }
            if mapping.path == executable {
                // Without read-ahead, a page used again comes back alone rather than with its
                // neighbours (the binary is 60 MB; its working set a few). Its writable segment
                // counts too: it holds the read-only data (ICU's tables among them), and read-ahead
                // there would refill the page cache around the code as well.
                _ = madvise(address, mapping.length, MADV_RANDOM)
            }
            if madvise(address, mapping.length, pageout) == 0 {
                outcome.mappings += 1
                outcome.advisedBytes += mapping.length
            } else if outcome.error == 0 {
                outcome.error = errno
            }
            // What PAGEOUT left (pages shared with other processes) is unmapped from this one;
            // only where no page was ever written, so nothing but file contents is dropped.
            if !mapping.writable && mapping.anonymousBytes == 0 {
                _ = madvise(address, mapping.length, MADV_DONTNEED)
            }
        }
        // Fault-around maps the cached pages next to each page faulted in: drop the binary's
        // cached pages that no process maps, so only what is used comes back. (Shared libraries'
        // cached pages serve other processes and stay.)
        if let executable {
            let fd = open(executable, O_RDONLY | O_CLOEXEC)
            if fd >= 0 {
                _ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
                close(fd)
            }
        }
        outcome.residentAfter = ProcessStats.memory().resident
        return outcome
    }

    /// glibc's `malloc_trim(0)`, looked up at run time: `<malloc.h>` is not in Swift's Glibc module.
    private static func trimHeap() {
        typealias Trim = @convention(c) (Int) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return }
        _ = unsafeBitCast(symbol, to: Trim.self)(0)
    }

    /// A readable mapping of a file, from /proc/self/smaps.
    struct Mapping {
        var start: UInt
        var length: Int
        var writable: Bool
        var path: String
        /// Bytes of this process's own copies of the mapping's pages (written since mapped, such as
        /// relocations); nil when smaps did not say.
        var anonymousBytes: Int? = nil
    }

    /// Each readable mapping of a file, from /proc/self/smaps (the maps line, then `Key: N kB` lines).
    static func fileMappings() -> [Mapping] {
        guard let smaps = ProcessStats.readSmallFile("/proc/self/smaps", limit: 8 << 20) else { return [] }
        var mappings: [Mapping] = []
        var current: Mapping?
        for line in smaps.split(separator: "\n") {
            if line.hasPrefix("Anonymous:") {
                let kilobytes = line.dropFirst("Anonymous:".count).split(separator: " ").first.flatMap { Int($0) }
                if current != nil, let kilobytes { current?.anonymousBytes = kilobytes * 1024 }
                continue
            }
            // start-end perms offset dev inode path; attribute lines start with a key and a colon.
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count >= 5, fields[0].contains("-"), !fields[0].hasSuffix(":") else { continue }
            if let mapping = current { mappings.append(mapping) }
            current = nil
            guard fields.count == 6, fields[1].first == "r" else { continue }
            let path = fields[5].drop(while: { $0 == " " })
            guard path.first == "/" else { continue }
            let range = fields[0].split(separator: "-")
            guard range.count == 2, let start = UInt(range[0], radix: 16), let end = UInt(range[1], radix: 16), end > start else { continue }
            current = Mapping(start: start, length: Int(end - start), writable: fields[1].contains("w"), path: String(path))
        }
        if let mapping = current { mappings.append(mapping) }
        return mappings
    }

    /// This process's executable file.
    static func executablePath() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
