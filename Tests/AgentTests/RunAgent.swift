import Foundation

/// What a run of the `agent` binary printed and how it exited.
struct AgentResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// The built `agent` executable, next to the test bundle in the build folder.
func agentExecutableURL() -> URL {
    var dir = Bundle.main.bundleURL
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent("agent")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("agent")
}

/// Runs `agent` with the given arguments (in `directory`, else the test's own; `environment` added
/// to the test's own) and waits for it to exit.
func runAgent(_ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:]) throws -> AgentResult {
    try runProgram(agentExecutableURL(), arguments, in: directory, environment: environment)
}

/// Runs a program with the given arguments (in `directory`, else the test's own) and waits for it
/// to exit. Standard error is drained on another thread, so a program that fills one pipe while
/// the other is being read cannot deadlock the test.
func runProgram(_ executable: URL, _ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:]) throws -> AgentResult {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if !environment.isEmpty {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    if let directory { process.currentDirectoryURL = directory }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Written by the thread before it signals, read after the wait: the semaphore orders the two.
    nonisolated(unsafe) var errData = Data()
    let drained = DispatchSemaphore(value: 0)
    Thread {
        errData = err.fileHandleForReading.readDataToEndOfFile()
        drained.signal()
    }.start()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    drained.wait()
    process.waitUntilExit()
    return AgentResult(
        status: process.terminationStatus,
        stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self))
}
