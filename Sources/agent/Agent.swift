import AgentClient
import ArgumentParser
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// The `agent` command line.
///
/// Two binaries, one command: this one is small (no Foundation, no libcurl) and answers the
/// commands that talk to the running daemon — `query`, `alerts`, `status`, `silence`, `gate` — in a few
/// milliseconds; for `run`, `check`, `test`, `replay`, `scrape` and `demo` it replaces itself
/// (`execv`, same process) with `agent-daemon`, installed beside it, which holds everything else.
@main
struct Agent: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: CommandDescriptions.agent,
        discussion: CommandDescriptions.agentDiscussion,
        version: AgentVersion.string,
        subcommands: [
            RunCommand.self, QueryCommand.self, Alerts.self, Status.self, Silence.self, GateCommand.self, CheckCommand.self, TestCommand.self,
            ReplayCommand.self, ScrapeCommand.self, DemoCommand.self, Version.self,
        ]
    )

    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if DaemonBinary.handles(arguments) { DaemonBinary.exec(arguments) }
        main(arguments)
    }
}

/// `agent-daemon`, beside this binary, which runs the commands that need the whole agent.
enum DaemonBinary {
    static let commands: Set<String> = ["run", "check", "test", "replay", "scrape", "demo"]

    /// True for `agent run …` and `agent help run` (and the other delegated commands).
    static func handles(_ arguments: [String]) -> Bool {
        guard let first = arguments.first else { return false }
        if commands.contains(first) { return true }
        return first == "help" && arguments.count > 1 && commands.contains(arguments[1])
    }

    /// `agent-daemon` in this executable's folder (symlinks resolved), else on `$PATH`.
    static func path() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if n > 0 {
            let own = String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if let slash = own.lastIndex(of: "/") {
                let candidate = String(own[..<slash]) + "/agent-daemon"
                if access(candidate, X_OK) == 0 { return candidate }
            }
        }
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = String(dir) + "/agent-daemon"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// Replaces this process with `agent-daemon ARGUMENTS` (same pid: systemd's `Type=notify`
    /// and signals reach the daemon); exits 1 with one line when it cannot.
    static func exec(_ arguments: [String]) -> Never {
        guard let binary = path() else {
            printError("agent: cannot find agent-daemon beside this binary or on PATH (install both: deploy/install.sh)")
            exit(1)
        }
        if arguments.first == "run" { boundMallocArenas() }
        let argv = (["agent"] + arguments).map { strdup($0) } + [nil]
        execv(binary, argv)
        printError("agent: cannot run \(binary): \(String(cString: strerror(errno)))")
        exit(1)
    }
}

extension DaemonBinary {
    /// Keeps glibc's malloc in the daemon from holding memory it freed: each checkpoint builds its
    /// whole state in one buffer on whichever Dispatch thread runs it, and with an arena per thread
    /// and buffers under the default mmap threshold the freed buffers stayed in up to eight arenas
    /// that never shrink (measured with a day of data: 135 MB resident against 60 MB live; 94 MB
    /// with these two settings). glibc reads them when the daemon's image starts; an operator's own
    /// MALLOC_* settings win.
    static func boundMallocArenas() {
        setenv("MALLOC_ARENA_MAX", "2", 0)
        setenv("MALLOC_MMAP_THRESHOLD_", "131072", 0)
    }
}

/// What `agent --help` lists for a command `agent-daemon` runs; never run itself (`main` hands
/// these commands over before parsing).
protocol DelegatedCommand: ParsableCommand {
    var arguments: [String] { get }
}

extension DelegatedCommand {
    func run() throws { DaemonBinary.exec([Self._commandName] + arguments) }
}

extension Agent {
    struct RunCommand: DelegatedCommand {
        static let configuration = CommandConfiguration(commandName: "run", abstract: CommandDescriptions.run)
        @Argument(parsing: .captureForPassthrough) var arguments: [String] = []
    }

    struct CheckCommand: DelegatedCommand {
        static let configuration = CommandConfiguration(commandName: "check", abstract: CommandDescriptions.check)
        @Argument(parsing: .captureForPassthrough) var arguments: [String] = []
    }

    struct TestCommand: DelegatedCommand {
        static let configuration = CommandConfiguration(commandName: "test", abstract: CommandDescriptions.test)
        @Argument(parsing: .captureForPassthrough) var arguments: [String] = []
    }

    struct ReplayCommand: DelegatedCommand {
        static let configuration = CommandConfiguration(commandName: "replay", abstract: CommandDescriptions.replay)
        @Argument(parsing: .captureForPassthrough) var arguments: [String] = []
    }

    struct ScrapeCommand: DelegatedCommand {
        static let configuration = CommandConfiguration(commandName: "scrape", abstract: CommandDescriptions.scrape)
        @Argument(parsing: .captureForPassthrough) var arguments: [String] = []
    }

    struct DemoCommand: DelegatedCommand {
        static let configuration = CommandConfiguration(commandName: "demo", abstract: CommandDescriptions.demo)
        @Argument(parsing: .captureForPassthrough) var arguments: [String] = []
    }
}
