import JSON
import Foundation
import Ingest
#if canImport(Glibc)
import Glibc
#endif

/// A real remote-write receiver on 127.0.0.1 with its data in a scratch folder: Debian's
/// Prometheus 2.42 with `--web.enable-remote-write-receiver`, or VictoriaMetrics. `stop()` shuts it
/// down cleanly (its data kept), `start()` brings it back on the same port; deinit kills it.
final class RemoteWriteReceiver {
    enum Kind: String { case prometheus, victoriaMetrics }

    let kind: Kind
    let dir: URL
    let port: Int
    let logURL: URL
    private var process: Process?

    static func isInstalled(_ kind: Kind) -> Bool {
        FileManager.default.isExecutableFile(atPath: kind == .prometheus ? "/usr/bin/prometheus" : "/usr/bin/victoria-metrics")
    }

    init(_ kind: Kind, dir: URL) throws {
        self.kind = kind
        self.dir = dir.appendingPathComponent(kind.rawValue)
        try FileManager.default.createDirectory(at: self.dir, withIntermediateDirectories: true)
        port = try freeTCPPort()
        logURL = self.dir.appendingPathComponent("log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        try start()
    }

    /// The remote-write URL (the same path on both).
    var writeURL: String { "http://127.0.0.1:\(port)/api/v1/write" }

    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    func start() throws {
        let p = Process()
        let log = try FileHandle(forWritingTo: logURL)
        log.seekToEndOfFile()
        p.standardOutput = log
        p.standardError = log
        switch kind {
        case .prometheus:
            let config = dir.appendingPathComponent("prometheus.yml")
            try "global: {scrape_interval: 15s}\n".write(to: config, atomically: true, encoding: .utf8)
            p.executableURL = URL(fileURLWithPath: "/usr/bin/prometheus")
            p.arguments = ["--config.file=\(config.path)", "--storage.tsdb.path=\(dir.appendingPathComponent("tsdb").path)",
                           "--web.listen-address=127.0.0.1:\(port)", "--web.enable-remote-write-receiver", "--log.level=warn"]
        case .victoriaMetrics:
            // Queries see samples at once (no 30 s latency offset) and are never answered from a cache.
            p.executableURL = URL(fileURLWithPath: "/usr/bin/victoria-metrics")
            p.arguments = ["-httpListenAddr=127.0.0.1:\(port)", "-storageDataPath=\(dir.appendingPathComponent("data").path)",
                           "-search.latencyOffset=0", "-search.disableCache", "-loggerLevel=ERROR"]
        }
        try p.run()
        process = p
        let ready = kind == .prometheus ? "/-/ready" : "/health"
        guard eventually(within: 60, { (try? httpGet("http://127.0.0.1:\(port)\(ready)")) != nil }) else {
            kill()
            throw DaemonProcess.Failure("\(kind) not ready on port \(port):\n\(self.log)")
        }
    }

    /// A clean shutdown (SIGTERM), so that everything it acknowledged is on disk.
    func stop() {
        guard let p = process, p.isRunning else { return }
        Glibc.kill(p.processIdentifier, SIGTERM)
        if !eventually(within: 60, { !p.isRunning }) { Glibc.kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        process = nil
    }

    func kill() {
        guard let p = process, p.isRunning else { return }
        Glibc.kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        process = nil
    }

    deinit { kill() }

    /// `/api/v1/query` at `time` (seconds): the result list (vectors and matrices alike).
    func query(_ expr: String, at time: Double) throws -> [[String: Any]] {
        try prometheusQuery(port: port, expr, at: time)
    }
}

/// A Prometheus-API query against 127.0.0.1:`port` at `time`: the `result` list.
func prometheusQuery(port: Int, _ expr: String, at time: Double) throws -> [[String: Any]] {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    let q = expr.addingPercentEncoding(withAllowedCharacters: allowed)!
    let body = try httpGet("http://127.0.0.1:\(port)/api/v1/query?query=\(q)&time=\(String(format: "%.3f", time))")
    guard let doc = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any], let data = doc["data"] as? [String: Any],
          let result = data["result"] as? [[String: Any]] else {
        throw DaemonProcess.Failure("unexpected answer to \(expr): \(String(decoding: body, as: UTF8.self).prefix(300))")
    }
    return result
}

/// A query result keyed by its labels (without `drop`), as text: `name{a="1",…}`.
typealias SeriesValues = [String: [(t: Int64, v: Double)]]

func keyed(_ result: [[String: Any]], dropping drop: Set<String> = []) -> SeriesValues {
    var out: SeriesValues = [:]
    for r in result {
        let metric = (r["metric"] as? [String: String] ?? [:]).filter { !drop.contains($0.key) }
        let key = metric.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        var points: [[Any]] = (r["values"] as? [[Any]]) ?? []
        if let v = r["value"] as? [Any] { points = [v] }
        out[key] = points.compactMap { p in
            guard p.count == 2, let t = p[0] as? Double, let s = p[1] as? String, let v = Double(s) else { return nil }
            return (Int64((t * 1000).rounded()), v)
        }
    }
    return out
}

/// What differs between the samples an agent holds and a receiver's, in a sentence (nil: nothing).
/// `tolerance` is relative (VictoriaMetrics keeps 12 to 15 significant digits); `ignoreNaN` skips
/// NaN samples on the receiver's side (VictoriaMetrics returns staleness markers, the PromQL
/// engines drop them from range vectors).
func sampleDifference(agent: SeriesValues, receiver: SeriesValues, tolerance: Double = 0, ignoreNaN: Bool = false) -> String? {
    var notes: [String] = []
    let missing = agent.keys.filter { receiver[$0] == nil }.sorted()
    if !missing.isEmpty { notes.append("\(missing.count) of \(agent.count) series missing, e.g. \(missing[0])") }
    var differing: [String] = []
    for (key, mine) in agent.sorted(by: { $0.key < $1.key }) {
        guard let theirs = receiver[key]?.filter({ !(ignoreNaN && $0.v.isNaN) }) else { continue }
        let same = mine.count == theirs.count && zip(mine, theirs).allSatisfy { a, b in
            a.t == b.t && (a.v == b.v || (a.v.isNaN && b.v.isNaN) || abs(a.v - b.v) <= tolerance * max(abs(a.v), abs(b.v)))
        }
        if !same {
            let at = zip(mine, theirs).enumerated().first { !($0.element.0.t == $0.element.1.t) }?.offset
            differing.append("\(key): \(mine.count) samples in the agent, \(theirs.count) in the receiver\(at.map { ", times differ from #\($0)" } ?? "")")
        }
    }
    if !differing.isEmpty { notes.append("\(differing.count) series differ, e.g. \(differing[0])") }
    return notes.isEmpty ? nil : notes.joined(separator: "; ")
}

/// Appends JSON access-log lines (`ts`, `route`, `status`, `latency_s`) on its own thread every
/// 50 ms until stopped, remembering each line's time and latency for exact quantiles.
final class AccessLogWriter: @unchecked Sendable {
    let path: String
    private let lock = NSLock()
    private var lines: [(t: Double, latency: Double)] = []
    private var running = true
    private var thread: Thread?
    private var n = 0

    /// A log whose first `backfill` lines lie over the `seconds` before now.
    init(path: String, backfill: Int, seconds: Double) throws {
        self.path = path
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let now = Date().timeIntervalSince1970
        var text = ""
        for i in 0..<backfill { text += line(t: now - seconds + seconds * Double(i) / Double(backfill)) }
        try text.write(toFile: path, atomically: false, encoding: .utf8)
    }

    private func line(t: Double) -> String {
        let i = lock.withLock { () -> Int in
            n += 1
            return n
        }
        let latency = Double(i * 37 % 200 + 1) / 1000
        let stamp = String(format: "%.3f", t)
        lock.withLock { lines.append((Double(stamp)!, latency)) }
        return "{\"ts\":\(stamp),\"route\":\"/r\(i % 3)\",\"status\":\(i % 10 == 0 ? 500 : 200),\"latency_s\":\(latency)}\n"
    }

    func start() {
        let t = Thread { [self] in
            guard let handle = FileHandle(forWritingAtPath: path) else { return }
            handle.seekToEndOfFile()
            while lock.withLock({ running }) {
                handle.write(Data(line(t: Date().timeIntervalSince1970).utf8))
                usleep(50_000)
            }
            try? handle.close()
        }
        thread = t
        t.start()
    }

    func stop() { lock.withLock { running = false } }

    /// The exact `q` quantile (the element at rank ⌊q·(n−1)⌋, as the sketch defines it) of the
    /// latencies logged with `from < t <= through` (seconds).
    func exactQuantile(_ q: Double, from: Double, through: Double) -> Double? {
        let values = lock.withLock { lines.filter { $0.t > from && $0.t <= through }.map(\.latency) }.sorted()
        guard !values.isEmpty else { return nil }
        return values[Int((q * Double(values.count - 1)).rounded(.down))]
    }

    deinit { stop() }
}

/// A stand-in receiver that answers every request with one status (400, 413…), python3 on 127.0.0.1.
final class RefusingReceiver {
    let process = Process()
    let port: Int

    init(status: Int) throws {
        let script = """
            import http.server, sys
            status = int(sys.argv[1])
            class H(http.server.BaseHTTPRequestHandler):
                def do_POST(self):
                    self.rfile.read(int(self.headers.get("Content-Length", "0")))
                    body = b"refused by the test"
                    self.send_response(status); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
                def log_message(self, *a): pass
            s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
            print(s.server_address[1], flush=True)
            s.serve_forever()
            """
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, "\(status)"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let line = String(decoding: pipe.fileHandleForReading.availableData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let p = Int(line) else { throw DaemonProcess.Failure("refusing receiver did not start: \(line)") }
        port = p
    }

    deinit {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
