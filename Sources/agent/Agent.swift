import AgentClient
import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// The `agent` command line: one binary, the daemon (`run`) and every command.
///
/// The commands people type often (`query`, `alerts`, `status`, `silence`, `gate`) start in a few
/// milliseconds although the binary holds the whole agent: nothing is linked that binds many
/// libraries at load — libcurl, with its TLS/Kerberos/LDAP libraries, is loaded when the first
/// HTTP client starts (see CCurl).
@main
struct Agent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: CommandDescriptions.agent,
        discussion: CommandDescriptions.agentDiscussion,
        version: AgentVersion.string,
        subcommands: [
            Run.self, QueryCommand.self, Alerts.self, Status.self, Silence.self, GateCommand.self, Check.self, Test.self,
            Replay.self, Scrape.self, DemoCommand.self, Version.self,
        ]
    )

    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        // Before anything else runs (argument parsing, the first thread): see MallocSettings.
        if arguments.first == "run" { MallocSettings.boundArenas() }
        await main(arguments)
    }
}

/// glibc malloc's settings for the daemon.
enum MallocSettings {
    /// Keeps glibc's malloc in the daemon from holding memory it freed: each checkpoint builds its
    /// whole state in one buffer on whichever Dispatch thread runs it, and with an arena per thread
    /// and buffers under the default mmap threshold the freed buffers stayed in up to eight arenas
    /// that never shrink (measured with a day of data: 135 MB resident against 60 MB live; 94 MB
    /// with these two settings). Set with `mallopt` at the start of `agent run`, before any thread
    /// exists; an operator's own MALLOC_ARENA_MAX / MALLOC_MMAP_THRESHOLD_ win (glibc has read them
    /// at start, and they are left alone here).
    static func boundArenas() {
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        // `<malloc.h>` is not in Swift's Glibc module: mallopt is looked up at run time.
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        let arenaMax: Int32 = -8, mmapThreshold: Int32 = -3  // M_ARENA_MAX, M_MMAP_THRESHOLD
        if getenv("MALLOC_ARENA_MAX") == nil { _ = mallopt(arenaMax, 2) }
        if getenv("MALLOC_MMAP_THRESHOLD_") == nil { _ = mallopt(mmapThreshold, 131_072) }
    }
}
