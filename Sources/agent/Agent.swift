import AgentClient
import ArgumentParser
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// The `agent` command line: one binary, the daemon (`run`) and every command.
///
/// The commands people type often (`query`, `alerts`, `status`, `silence`, `gate`) start in a few
/// milliseconds although the binary holds the whole agent: nothing is linked that binds many
/// libraries at load — libcurl, with its TLS/Kerberos/LDAP libraries, is loaded when the first
/// HTTP client starts (see CCurl) — and the process starts no thread before a command needs one
/// (see `AgentMain`).
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

}

/// The process's entry: parses the command line and runs the command.
///
/// Not `AsyncParsableCommand.main()`: an async `main` hands the main thread to Dispatch
/// (`dispatch_main`), which starts four threads before the first line of any command runs — half
/// the start-up time of `agent version` or `agent query`, which need none. Synchronous commands
/// run here on the main thread; asynchronous ones (`run`, `scrape`) in a task while the main
/// thread waits (nothing in the agent runs on the main actor or the main queue).
@main
enum AgentMain {
    /// The asynchronous commands, by type. A dynamic cast to `AsyncParsableCommand` of a command
    /// that is not one scans every protocol conformance in the binary (≈ 0.7 ms of `agent query`'s
    /// start): comparing types first keeps that cast to the commands that are.
    static let asynchronous: [any ParsableCommand.Type] = [Agent.Run.self, Agent.Scrape.self]

    static func main() {
        #if DEBUG
        checkAsynchronousList(Agent.self)
        #endif
        let arguments = Array(CommandLine.arguments.dropFirst())
        // Before anything else runs (argument parsing, the first thread): see MallocSettings.
        if arguments.first == "run" { MallocSettings.boundArenas() }
        let parsed: any ParsableCommand
        do {
            parsed = try Agent.parseAsRoot(arguments)
        } catch {
            Agent.exit(withError: error)
        }
        if asynchronous.contains(where: { $0 == type(of: parsed) }), let command = parsed as? any AsyncParsableCommand {
            runAndWait(command)
        } else {
            var command = parsed
            do {
                try command.run()
            } catch {
                Agent.exit(withError: error)
            }
        }
        Agent.exit()
    }

    /// Debug builds (the tests') stop at once when an asynchronous command is missing from
    /// `asynchronous`: it would run its synchronous `run()`, which only fails.
    static func checkAsynchronousList(_ command: any ParsableCommand.Type) {
        for sub in command.configuration.subcommands {
            if sub is any AsyncParsableCommand.Type && !asynchronous.contains(where: { $0 == sub }) {
                fatalError("agent: \(sub) is asynchronous: add it to AgentMain.asynchronous")
            }
            checkAsynchronousList(sub)
        }
    }

    /// Runs an asynchronous command in a task and blocks the main thread until it ends (or exits).
    static func runAndWait(_ command: any AsyncParsableCommand) {
        nonisolated(unsafe) var command = command  // owned by the task alone once it starts
        let finished = DispatchSemaphore(value: 0)
        Task.detached {
            do {
                try await command.run()
            } catch {
                Agent.exit(withError: error)
            }
            finished.signal()
        }
        finished.wait()
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
