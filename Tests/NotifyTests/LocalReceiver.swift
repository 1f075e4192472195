import Foundation
import Testing

/// The folder of this test target's fixtures.
let notifyFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

/// `Fixtures/receiver.py` on 127.0.0.1: records every request to a log file and answers as its
/// control file says (200, 500, 429 with Retry-After, hang). `stop()` takes it down; `restart()`
/// brings it back on the same port, which is how the tests make a receiver be down.
final class LocalReceiver: @unchecked Sendable {
    let directory: String
    let logPath: String
    let controlPath: String
    private(set) var port: Int = 0
    private var process: Process?
    private var stdin: Pipe?

    let hmacKeyFile: String?

    init(hmacKeyFile: String? = nil) throws {
        directory = temporaryDirectory("receiver")
        logPath = directory + "/requests.jsonl"
        controlPath = directory + "/control"
        self.hmacKeyFile = hmacKeyFile
        try launch(port: 0)
    }

    /// `http://127.0.0.1:PORT/path`.
    func url(_ path: String = "/hook") -> String { "http://127.0.0.1:\(port)\(path)" }

    /// How to answer from now on: "200", "500", "429 2", "hang", "400".
    func answer(_ mode: String) {
        try! mode.write(toFile: controlPath, atomically: true, encoding: .utf8)
    }

    private func launch(port: Int) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", notifyFixtures.appendingPathComponent("receiver.py").path, "--port", "\(port)", "--log", logPath, "--control", controlPath] + (hmacKeyFile.map { ["--hmac-key-file", $0] } ?? [])
        let out = Pipe(), input = Pipe()
        p.standardOutput = out
        p.standardInput = input
        try p.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("PORT "), let n = Int(text.dropFirst(5)) else {
            kill(p.processIdentifier, SIGKILL)
            throw ReceiverError(message: "receiver.py did not start: \(text)")
        }
        self.port = n
        process = p
        stdin = input
    }

    /// Takes the receiver down: connections are refused until `restart()`.
    func stop() {
        try? stdin?.fileHandleForWriting.close()
        if let p = process, p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
        process = nil
    }

    /// Brings it back on the same port.
    func restart() throws {
        stop()
        var lastError: (any Error)?
        for _ in 0..<50 {
            do {
                try launch(port: port)
                return
            } catch {
                lastError = error
                usleep(100_000)
            }
        }
        throw lastError!
    }

    /// Every request received so far.
    func requests() -> [ReceivedRequest] {
        guard let data = FileManager.default.contents(atPath: logPath) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return ReceivedRequest(
                time: object["t"] as? Double ?? 0, path: object["path"] as? String ?? "",
                headers: object["headers"] as? [String: String] ?? [:], body: object["body"] as? String ?? "",
                signatureOK: object["signature_ok"] as? Bool)
        }
    }

    /// Waits until `count` requests arrived (or `timeout`); returns them.
    func waitFor(_ count: Int, timeout: Double = 10) -> [ReceivedRequest] {
        let deadline = Date().addingTimeInterval(timeout)
        var got = requests()
        while got.count < count, Date() < deadline {
            usleep(10_000)
            got = requests()
        }
        return got
    }

    deinit {
        stop()
        removeTree(directory)
    }
}

struct ReceivedRequest {
    var time: Double
    var path: String
    var headers: [String: String]
    var body: String
    var signatureOK: Bool?
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]) ?? [:] }
}

struct ReceiverError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
