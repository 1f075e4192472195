import Foundation
import Testing

/// Runs the built `agent` binary, as a user would.
@Suite struct VersionCommandTests {
    @Test func versionPrintsTheVersionAndExitsZero() throws {
        let result = try runAgent(["version"])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("agent "))
    }

    @Test func helpListsTheSubcommands() throws {
        let result = try runAgent(["--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("version"))
        #expect(result.stdout.contains("run"))
    }
}
