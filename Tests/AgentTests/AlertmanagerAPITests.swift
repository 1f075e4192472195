import AgentClient
import Foundation
import Ingest
import JSON
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Runs a program with a deadline (killed past it); its exit status and what it printed.
func runTool(_ path: String, _ arguments: [String], timeout: Double = 30) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let pid = process.processIdentifier
    let killer = DispatchWorkItem { kill(pid, SIGKILL) }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    killer.cancel()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}

/// The real Alertmanager (Debian's `prometheus-alertmanager`) on 127.0.0.1 with a scratch storage,
/// one do-nothing receiver; killed (SIGKILL) by `stop()`.
final class AlertmanagerServer {
    let process = Process()
    let port: Int
    let logURL: URL

    init(dir: URL) throws {
        port = try freeTCPPort()
        let config = dir.appendingPathComponent("alertmanager.yml")
        try """
            route: {receiver: none, group_by: [alertname], group_wait: 1h, repeat_interval: 4h}
            receivers: [{name: none}]
            """.write(to: config, atomically: true, encoding: .utf8)
        logURL = dir.appendingPathComponent("alertmanager.log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/prometheus-alertmanager")
        process.arguments = [
            "--config.file=\(config.path)", "--storage.path=\(dir.appendingPathComponent("am-data").path)",
            "--web.listen-address=127.0.0.1:\(port)", "--cluster.listen-address=", "--log.level=warn",
        ]
        process.standardOutput = log
        process.standardError = log
        try process.run()
        guard eventually(within: 30, { (try? httpGet("\(url)/-/ready")) != nil }) else {
            stop()
            throw DaemonProcess.Failure("Alertmanager not ready on port \(port):\n\(self.log)")
        }
    }

    var url: String { "http://127.0.0.1:\(port)" }
    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}

/// The agent's Alertmanager v2 API (`/api/v2/…`) driven by the real `amtool`, its answers checked
/// against Alertmanager's published spec and against a real Alertmanager's answers (same keys and
/// JSON types).
@Suite(.serialized) struct AlertmanagerAPITests {
    static let amtool = "/usr/bin/amtool"

    static let rules = """
        groups:
          - name: disks
            interval: 1s
            rules:
              - alert: DiskFull
                expr: vector(1)
                labels: {severity: critical, team: storage}
                annotations: {summary: "disk {{ $value }}"}
              - alert: DiskFull
                expr: vector(2)
                labels: {severity: high, team: storage}
              - alert: Latency
                expr: vector(3)
                labels: {severity: high}
        """

    /// An agent whose three rules fire at once (one inhibited by another), forwarding to `forward`.
    func startAgent(dir: URL, port: Int, forward: String) throws -> DaemonProcess {
        let rulesPath = dir.appendingPathComponent("rules.yaml").path
        try Self.rules.write(toFile: rulesPath, atomically: true, encoding: .utf8)
        return try DaemonProcess(
            extraConfig: """
                rule_files: [\(rulesPath)]
                notify:
                  external_url: http://agent.test:9464
                  route:
                    receiver: chat
                    group_by: [alertname]
                    group_wait: 0s
                    routes:
                      - {matchers: ['severity="critical"'], receiver: pager, continue: true}
                  inhibit:
                    - {source_matchers: ['severity="critical"'], target_matchers: ['severity="high"'], equal: [alertname]}
                  receivers:
                    - {name: chat, stdout: {}}
                    - {name: pager, alertmanager: {urls: [\(forward)]}}
                """, globalExtra: "  external_labels: {host: api-1}", http: "127.0.0.1:\(port)", dir: dir)
    }

    func amtool(_ port: Int, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try runTool(Self.amtool, ["--alertmanager.url=http://127.0.0.1:\(port)"] + arguments)
    }

    /// One request through the agent's HTTP client: status and body, whatever the status.
    func send(_ method: String, _ url: String, body: String = "") throws -> (status: Int, body: [UInt8]) {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<HTTPResponse, HTTPError>?
        let headers = body.isEmpty ? [] : [HTTPHeader("content-type", "application/json")]
        testHTTPClient.start(HTTPRequest(url: url, method: method, headers: headers, body: body.isEmpty ? nil : Array(body.utf8), timeoutMilliseconds: 5000)) {
            result = $0
            done.signal()
        }
        done.wait()
        let response = try result!.get()
        return (response.status, response.body)
    }

    func json(_ text: String) -> Any? { try? JSONSerialization.jsonObject(with: Data(text.utf8)) }

    func alertnames(_ doc: Any?) -> [String] {
        ((doc as? [[String: Any]]) ?? []).compactMap { a in
            (a["labels"] as? [String: String]).map { "\($0["alertname"] ?? "")/\($0["severity"] ?? "")" }
        }.sorted()
    }

    @Test func amtoolQueriesAlertsAndAddsQueriesAndExpiresSilences() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("agent-amapi-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let port = try freeTCPPort()
        let agent = try startAgent(dir: dir, port: port, forward: "http://127.0.0.1:9")
        defer { agent.signal(SIGKILL) }

        // Active alerts only by default: the high DiskFull is inhibited by the critical one.
        var listed: Any?
        let active = eventually(within: 30) {
            listed = json((try? amtool(port, ["alert", "query", "-o", "json"]))?.stdout ?? "")
            return alertnames(listed) == ["DiskFull/critical", "Latency/high"]
        }
        #expect(active, "\(String(describing: listed))\n\(agent.log)")
        let critical = try #require((listed as? [[String: Any]])?.first { ($0["labels"] as? [String: String])?["severity"] == "critical" })
        #expect((critical["labels"] as? [String: String]) == [
            "alertname": "DiskFull", "severity": "critical", "team": "storage", "host": "api-1",
        ])
        // The critical route continues, but no later sibling takes it: the pager only.
        #expect(((critical["receivers"] as? [[String: String]]) ?? []).compactMap { $0["name"] } == ["pager"])
        #expect((critical["generatorURL"] as? String) == "http://agent.test:9464/graph?g0.expr=vector%281%29&g0.tab=1")
        let inhibited = json(try amtool(port, ["alert", "query", "-i", "-o", "json"]).stdout)
        #expect(alertnames(inhibited) == ["DiskFull/high"])
        let inhibitedBy = ((inhibited as? [[String: Any]])?.first?["status"] as? [String: Any])?["inhibitedBy"] as? [String]
        #expect(inhibitedBy == [critical["fingerprint"] as? String ?? "?"])

        // amtool silence add → query → the alert is silenced → expire → it is back.
        let added = try amtool(port, ["silence", "add", "alertname=Latency", "-a", "ana", "-c", "deploy window", "-d", "1h"])
        #expect(added.status == 0, "\(added.stderr)")
        let id = added.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.count == 36, "\(added.stdout)")
        let query = try amtool(port, ["silence", "query", "-q"])
        #expect(query.stdout.split(separator: "\n").map(String.init) == [id], "\(query)")
        let silences = json(try amtool(port, ["silence", "query", "-o", "json"]).stdout) as? [[String: Any]]
        let matchers = silences?.first?["matchers"] as? [[String: Any]]
        #expect(matchers?.first?["name"] as? String == "alertname" && matchers?.first?["value"] as? String == "Latency")
        #expect((silences?.first?["createdBy"] as? String) == "ana")
        #expect(alertnames(json(try amtool(port, ["alert", "query", "-o", "json"]).stdout)) == ["DiskFull/critical"])
        let silenced = json(try amtool(port, ["alert", "query", "-s", "-o", "json"]).stdout)
        #expect(alertnames(silenced) == ["Latency/high"])
        #expect(((silenced as? [[String: Any]])?.first?["status"] as? [String: Any])?["silencedBy"] as? [String] == [id])
        // amtool silence update reads the silence and posts it back with its id: changed in place.
        // (`-q` of amtool 0.25's update prints a pointer, not the id: its JSON output says it.)
        let updated = try amtool(port, ["silence", "update", "-o", "json", "-c", "longer window", "-d", "2h", id])
        #expect(updated.status == 0 && (json(updated.stdout) as? [[String: Any]])?.first?["id"] as? String == id, "\(updated)")
        let afterUpdate = json(try amtool(port, ["silence", "query", "-o", "json"]).stdout) as? [[String: Any]]
        #expect(afterUpdate?.count == 1 && afterUpdate?.first?["comment"] as? String == "longer window")
        // The CLI's own view (`agent silence list`) is the same silence: one model.
        #expect(try agent.cli(["silence", "list"]).stdout.contains(id))

        let expired = try amtool(port, ["silence", "expire", id])
        #expect(expired.status == 0, "\(expired.stderr)")
        #expect(try amtool(port, ["silence", "query", "-q"]).stdout.isEmpty)
        #expect(try amtool(port, ["silence", "query", "--expired", "-q"]).stdout.contains(id))
        #expect(alertnames(json(try amtool(port, ["alert", "query", "-o", "json"]).stdout)) == ["DiskFull/critical", "Latency/high"])
        // Errors are refused as Alertmanager refuses them.
        #expect(try amtool(port, ["silence", "expire", "00000000-0000-4000-8000-000000000000"]).status != 0)
        #expect(try amtool(port, ["silence", "add", "team=~\".*\"", "-c", "all"]).status != 0)
        // Raw requests: filters, and errors as Alertmanager answers them (a JSON string).
        let base = "http://127.0.0.1:\(port)/api/v2"
        #expect(alertnames(json(String(decoding: try send("GET", base + "/alerts?receiver=pag.*").body, as: UTF8.self))) == ["DiskFull/critical"])
        #expect(alertnames(json(String(decoding: try send("GET", base + "/alerts?filter=team%3D%22storage%22&inhibited=true").body, as: UTF8.self)))
            == ["DiskFull/critical", "DiskFull/high"])
        for (method, path, body, status) in [
            ("GET", "/alerts?filter=alertname", "", 400), ("GET", "/alerts?receiver=(", "", 400),
            ("POST", "/silences", "{\"matchers\":", 400), ("POST", "/alerts", "[]", 405),
            ("DELETE", "/silence/00000000-0000-4000-8000-000000000000", "", 404),
        ] {
            let answer = try send(method, base + path, body: body)
            #expect(answer.status == status, "\(method) \(path): \(answer.status)")
            let text = String(decoding: answer.body, as: UTF8.self)
            #expect(text.hasPrefix("\"") && text.hasSuffix("\"\n"), "\(method) \(path): \(text)")
        }
        #expect(try send("GET", base + "/silence/00000000-0000-4000-8000-000000000000").status == 404)
        // amtool reads the routing tree from /api/v2/status.
        let routes = try amtool(port, ["config", "routes"])
        #expect(routes.status == 0 && routes.stdout.contains("pager") && routes.stdout.contains("severity=\"critical\""), "\(routes)")
    }

    @Test func answersKeepAlertmanagersSpecAndShapes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("agent-amshape-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let am = try AlertmanagerServer(dir: dir)
        defer { am.stop() }
        let port = try freeTCPPort()
        let agent = try startAgent(dir: dir, port: port, forward: am.url)
        defer { agent.signal(SIGKILL) }
        let agentURL = "http://127.0.0.1:\(port)"
        // The same silence on both; the critical alert reaches the real one through the forwarder.
        for base in [agentURL, am.url] {
            let p = try amtool(base == agentURL ? port : am.port, ["silence", "add", "alertname=Latency", "-a", "ana", "-c", "shape"])
            #expect(p.status == 0, "\(p.stderr)")
        }
        let forwarded = eventually(within: 30) {
            let a = (try? httpGet("\(am.url)/api/v2/alerts")).flatMap { json(String(decoding: $0, as: UTF8.self)) }
            let b = (try? httpGet("\(agentURL)/api/v2/alerts")).flatMap { json(String(decoding: $0, as: UTF8.self)) }
            return !alertnames(a).isEmpty && alertnames(b).count == 3
        }
        #expect(forwarded, "\(am.log)\n\(agent.log)")
        let contracts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("NotifyTests/Contract/contracts.py").path
        for (path, definition) in [
            ("/api/v2/alerts", "gettableAlerts"), ("/api/v2/alerts/groups", "alertGroups"), ("/api/v2/silences", "gettableSilences"),
            ("/api/v2/status", "alertmanagerStatus"), ("/api/v2/receivers", "receivers"),
        ] {
            let ours = try httpGet(agentURL + path)
            let file = dir.appendingPathComponent("answer.json")
            try Data(ours).write(to: file)
            let check = try runTool("/usr/bin/env", ["python3", contracts, "--validate-api", definition, file.path])
            #expect(check.status == 0, "\(path): \(check.stdout)\(check.stderr)")
            let theirs = try httpGet(am.url + path)
            let difference = mismatch(JSON.parse(ours), JSON.parse(theirs), path: path)
            #expect(difference == nil, "\(difference ?? "")")
        }
        // One silence by id, and the 404 of an unknown one.
        let silences = try #require(json(String(decoding: try httpGet(agentURL + "/api/v2/silences"), as: UTF8.self)) as? [[String: Any]])
        let id = try #require(silences.first?["id"] as? String)
        let one = try httpGet(agentURL + "/api/v2/silence/\(id)")
        #expect((json(String(decoding: one, as: UTF8.self)) as? [String: Any])?["id"] as? String == id)
        #expect((try? httpGet(agentURL + "/api/v2/silence/00000000-0000-4000-8000-000000000000")) == nil)
    }

    /// Where two JSON answers differ in shape (keys of objects, JSON types of scalars), or nil.
    /// Arrays are compared item against item type (an empty one fits any); `labels` and
    /// `annotations` are free maps of strings.
    func mismatch(_ a: JSON?, _ b: JSON?, path: String) -> String? {
        switch (a, b) {
        case (.object(let xp)?, .object(let yp)?):
            let x = Dictionary(xp, uniquingKeysWith: { _, last in last }), y = Dictionary(yp, uniquingKeysWith: { _, last in last })
            if path.hasSuffix(".labels") || path.hasSuffix(".annotations") {
                func strings(_ o: [String: JSON]) -> Bool { o.values.allSatisfy { if case .string = $0 { true } else { false } } }
                return strings(x) && strings(y) ? nil : "\(path): not maps of strings"
            }
            guard Set(x.keys) == Set(y.keys) else { return "\(path): keys \(x.keys.sorted()) vs \(y.keys.sorted())" }
            for k in x.keys.sorted() {
                if let m = mismatch(x[k], y[k], path: "\(path).\(k)") { return m }
            }
            return nil
        case (.array(let x)?, .array(let y)?):
            guard let first = y.first else { return nil }
            for item in x {
                if let m = mismatch(item, first, path: "\(path)[]") { return m }
            }
            return nil
        case (.string?, .string?), (.bool?, .bool?), (.null?, .null?): return nil
        case (.int?, .int?), (.int?, .double?), (.double?, .int?), (.double?, .double?): return nil
        default: return "\(path): \(String(describing: a)) vs \(String(describing: b))"
        }
    }
}
