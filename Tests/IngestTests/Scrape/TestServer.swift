import Foundation
import Testing

/// The folder of the test fixtures (pages, the test server script).
let fixturesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

/// `Fixtures/test_server.py` running on 127.0.0.1 with an ephemeral port; stopped on `stop()` or
/// deinit, and by itself when the test process dies (it exits when its stdin closes).
final class TestServer: @unchecked Sendable {
    let process = Process()
    let stdin = Pipe()
    let port: Int
    let scheme: String

    /// Starts the server; with `tls` it serves HTTPS with that certificate.
    init(tls: TLSFixture? = nil, requireClientCertificate: Bool = false) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        var arguments = ["python3", fixturesDirectory.appendingPathComponent("test_server.py").path]
        if let tls {
            arguments += ["--tls-cert", tls.serverCert, "--tls-key", tls.serverKey]
            if requireClientCertificate { arguments += ["--tls-client-ca", tls.caCert] }
        }
        process.arguments = arguments
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardInput = stdin
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = stdout.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.terminate()
            throw TestServerError(message: "test server did not print its port: \(String(decoding: line, as: UTF8.self))")
        }
        self.port = port
        self.scheme = tls == nil ? "http" : "https"
    }

    /// `http://127.0.0.1:PORT` + `path`.
    func url(_ path: String) -> String { "\(scheme)://127.0.0.1:\(port)\(path)" }

    /// Kills the server. SIGKILL, not SIGTERM: children of the test process inherit its blocked
    /// signal mask, in which SIGTERM is blocked.
    func stop() {
        try? stdin.fileHandleForWriting.close()
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}

struct TestServerError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// A CA, a server certificate for 127.0.0.1 signed by it, and a client certificate, made with
/// openssl in a fresh temporary directory.
struct TLSFixture {
    let directory: String
    var caCert: String { directory + "/ca.crt" }
    var serverCert: String { directory + "/server.crt" }
    var serverKey: String { directory + "/server.key" }
    var clientCert: String { directory + "/client.crt" }
    var clientKey: String { directory + "/client.key" }

    init() throws {
        directory = try makeTemporaryDirectory("tls")
        let d = directory
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(toFile: d + "/server.ext", atomically: true, encoding: .utf8)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try runTool("openssl", ["req", "-x509"] + ec + ["-keyout", d + "/ca.key", "-out", d + "/ca.crt", "-days", "2", "-subj", "/CN=agent test CA"])
        for (name, subject) in [("server", "/CN=127.0.0.1"), ("client", "/CN=agent test client")] {
            try runTool("openssl", ["req"] + ec + ["-keyout", "\(d)/\(name).key", "-out", "\(d)/\(name).csr", "-subj", subject])
            var sign = ["x509", "-req", "-in", "\(d)/\(name).csr", "-CA", d + "/ca.crt", "-CAkey", d + "/ca.key", "-CAcreateserial", "-out", "\(d)/\(name).crt", "-days", "2"]
            if name == "server" { sign += ["-extfile", d + "/server.ext"] }
            try runTool("openssl", sign)
        }
    }
}

/// A new empty directory under the system's temporary directory.
func makeTemporaryDirectory(_ prefix: String) throws -> String {
    let path = NSTemporaryDirectory() + "agent-\(prefix)-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Runs a tool from PATH and fails with its output when it exits non-zero.
@discardableResult
func runTool(_ tool: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [tool] + arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    guard process.terminationStatus == 0 else {
        throw TestServerError(message: "\(tool) \(arguments.joined(separator: " ")) failed: \(text)")
    }
    return text
}

/// A port on 127.0.0.1 that nothing listens on (bound, then released).
func unusedLoopbackPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}
