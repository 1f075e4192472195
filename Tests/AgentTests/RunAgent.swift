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

/// Runs `agent` with the given arguments and waits for it to exit.
func runAgent(_ arguments: [String], stdin: Data? = nil) throws -> AgentResult {
    let process = Process()
    process.executableURL = agentExecutableURL()
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return AgentResult(
        status: process.terminationStatus,
        stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self))
}
