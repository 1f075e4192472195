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
