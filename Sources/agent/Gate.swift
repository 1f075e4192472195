import AgentClient
import JSON
import ArgumentParser
import FoundationEssentials
import TextRendering
#if canImport(Glibc)
import Glibc
#endif

extension Agent {
    /// `agent gate NAME`: runs a rollout gate in the daemon and follows it to its verdict.
    struct GateCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gate",
            abstract: "Run a rollout gate and wait for its verdict: promote (exit 0), abort (1) or inconclusive (2).",
            discussion: """
                Starts the gate NAME of the gate files (gate_files: in the configuration) in the \
                running agent and follows it: a live table in a terminal, one line per evaluation \
                otherwise, the final run as JSON with --output json. The gate runs in the agent: \
                Ctrl-C stops following, not the gate (follow it again with --attach), and a restart \
                of the agent resumes it.

                Exit status: 0 promote, 1 abort, 2 inconclusive, 3 when the gate could not be \
                started or followed (no agent, no such gate, bad options), 130 after Ctrl-C.

                  agent gate canary-to-staged || { rollback; exit 1; }
                  agent gate canary-to-staged --interval 10s --duration 2m --timeout 5m
                """)

        @Argument(help: "The gate's name.")
        var name: String

        @Flag(name: .long, help: "Follow the gate's running (or latest) run instead of starting one.")
        var attach = false

        @Option(name: .long, help: "Override the gate's interval (e.g. 30s).")
        var interval: String?

        @Option(name: .long, help: "Override how long every must-check must hold (e.g. 10m).")
        var duration: String?

        @Option(name: .long, help: "Override the timeout (e.g. 30m).")
        var timeout: String?

        @OptionGroup var client: ClientOptions

        func validate() throws {
            if attach, interval != nil || duration != nil || timeout != nil {
                throw ValidationError("--attach follows a run as it was started: leave out --interval, --duration and --timeout")
            }
        }

        /// Errors exit 3, apart from the verdicts' 0, 1 and 2.
        static let failureStatus: Int32 = 3

        func run() throws {
            // Before the request: once the run exists, Ctrl-C must find the handler (a shell
            // may have started this command with SIGINT ignored).
            GateFollow.installInterruptHandler(gate: name, socket: client.socket)
            let path = "/api/v1/gates/" + name
            var run: JSON
            do {
                if attach {
                    run = try client.get(path)
                } else {
                    var form: [String: String] = [:]
                    if let interval { form["interval"] = interval }
                    if let duration { form["duration"] = duration }
                    if let timeout { form["timeout"] = timeout }
                    run = try client.get(path, form: form, method: "POST")
                }
            } catch {
                printError("agent gate: \(error)")
                throw ExitCode(Self.failureStatus)
            }
            guard let id = run["id"]?.string else {
                printError("agent gate: unexpected answer from the agent: \(run.json)")
                throw ExitCode(Self.failureStatus)
            }
            let view = GateView(output: client.output, terminal: isatty(1) == 1 && client.output == .text, width: GateView.terminalWidth())
            view.started(run, attached: attach)
            var unreachableSince: Double?
            while run["verdict"] == nil {
                view.update(run)
                usleep(GateFollow.pollMicroseconds(run))
                do {
                    run = try client.get(path + "?run=" + id + "&points=\(view.points)")
                    if unreachableSince != nil { view.note("the agent answers again") }
                    unreachableSince = nil
                } catch {
                    // The agent restarting (the run resumes there): keep asking for a while.
                    let now = GateFollow.monotonicSeconds()
                    if unreachableSince == nil {
                        unreachableSince = now
                        view.note("\(error); still trying for \(Int(GateFollow.patience)) s (the run goes on in the agent)")
                    } else if now - unreachableSince! > GateFollow.patience {
                        printError("agent gate: \(error); stopped following (the run goes on if the agent comes back: agent gate \(name) --attach)")
                        throw ExitCode(Self.failureStatus)
                    }
                }
            }
            view.finished(run)
            throw ExitCode(Int32(run["exit_status"]?.int ?? Int(Self.failureStatus)))
        }
    }
}

/// Helpers of following a run: polling pace, Ctrl-C, the clock.
enum GateFollow {
    /// How long the agent may be unreachable while following (a restart).
    static let patience = 120.0

    /// A second, or the interval when shorter, between two requests.
    static func pollMicroseconds(_ run: JSON) -> UInt32 {
        let interval = run["interval_seconds"]?.double ?? 1
        return UInt32(max(0.2, min(1, interval / 2)) * 1_000_000)
    }

    static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// The message Ctrl-C prints, prepared before the handler can run (a handler may only write(2)).
    nonisolated(unsafe) static var interruptMessage: [UInt8] = []

    /// On SIGINT: show the cursor again, say how to follow the run again, exit 130.
    static func installInterruptHandler(gate: String, socket: String) {
        var hint = "agent gate \(gate) --attach"
        if socket != ControlClient.defaultSocket { hint += " --socket \(socket)" }
        interruptMessage = Array("\u{1B}[?25h\nstopped following; the gate goes on in the agent: \(hint)\n".utf8)
        signal(SIGINT) { _ in
            GateFollow.interruptMessage.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
            _exit(130)
        }
        // A parent may have started us with SIGINT blocked (the mask is inherited).
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigprocmask(SIG_UNBLOCK, &set, nil)
    }
}
