import Testing
@testable import AgentDaemon

/// Releasing start-up's pages must find the process's code and leave it working.
@Suite struct StartupPagesTests {
    @Test func fileMappingsIncludeThisProcesssCode() {
        let mappings = StartupPages.fileMappings()
        #expect(!mappings.isEmpty)
        // Code of this test binary lives in one of them.
        let function: @convention(c) () -> Void = {}
        let code = unsafeBitCast(function, to: UInt.self)
        #expect(mappings.contains { !$0.writable && $0.start <= code && code < $0.start + UInt($0.length) })
        #expect(mappings.contains { $0.path == StartupPages.executablePath() })
        #expect(mappings.allSatisfy { $0.length > 0 && $0.length % 4096 == 0 })
        // smaps says for each mapping how much of it this process wrote; the relocated read-only
        // segments (RELRO) of a dynamically linked binary are among those written.
        #expect(mappings.allSatisfy { $0.anonymousBytes != nil })
        #expect(mappings.contains { !$0.writable && ($0.anonymousBytes ?? 0) > 0 })
    }

    /// libc's code is mapped by every other process too, so MADV_PAGEOUT leaves it; the release
    /// unmaps it from this process (it stays in the page cache) and what is used maps back in.
    @Test func sharedLibraryCodeLeavesTheResidentSet() throws {
        func libcCodeResident() -> Int {
            guard let smaps = ProcessStats.readSmallFile("/proc/self/smaps", limit: 8 << 20) else { return -1 }
            var inLibcCode = false
            var total = 0
            for line in smaps.split(separator: "\n") {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                if fields.count >= 5, fields[0].contains("-"), !fields[0].hasSuffix(":") {
                    inLibcCode = fields.count == 6 && fields[1] == "r-xp" && fields[5].hasSuffix("/libc.so.6")
                } else if inLibcCode, fields.first == "Rss:", fields.count >= 2, let kilobytes = Int(fields[1]) {
                    total += kilobytes
                }
            }
            return total
        }
        let before = libcCodeResident()
        try #require(before > 64, "libc's code should be resident before the release (\(before) kB)")
        _ = StartupPages.release()
        let after = libcCodeResident()
        #expect(after < before, "libc's code resident: \(before) kB before, \(after) kB after")
    }

    @Test func releasingPagesKeepsEverythingWorking() {
        let outcome = StartupPages.release()
        #expect(outcome.mappings > 0)
        #expect(outcome.advisedBytes > 0)
        #expect(outcome.error == 0, "madvise(MADV_PAGEOUT) failed with errno \(outcome.error)")
        // Code and read-only data paged out come back when used.
        let config = AgentConfig()
        #expect(!config.listen.socket.isEmpty)
        #expect(StartupPages.release().mappings > 0)
    }
}
