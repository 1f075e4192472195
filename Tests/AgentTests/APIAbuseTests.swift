import AgentClient
import Foundation
import HTTPTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A request a hostile local user might send, and the status the agent must answer (alive).
struct Abuse: CustomTestStringConvertible, Sendable {
    let name: String
    let target: String
    let status: Int
    var testDescription: String { name }
}

/// The reproductions of issue 12 against the real agent: every one of them used to kill it (a
/// Swift trap), wedge its listener or cost it hundreds of megabytes. Each must now be answered
/// with its status, and the agent must stay alive, healthy and bounded.
@Suite(.serialized) struct APIAbuseTests {
    static let abuses: [Abuse] = [
        Abuse(name: "time=1e300", target: "/api/v1/query?query=1&time=1e300", status: 400),
        Abuse(name: "time=-1e300", target: "/api/v1/query?query=1&time=-1e300", status: 400),
        Abuse(name: "time=NaN", target: "/api/v1/query?query=1&time=NaN", status: 400),
        Abuse(name: "time=Inf", target: "/api/v1/query?query=1&time=%2BInf", status: 400),
        Abuse(name: "time past maxTime", target: "/api/v1/query?query=1&time=9.3e15", status: 400),
        Abuse(name: "time at maxTime", target: "/api/v1/query?query=1&time=292277026596-12-04T15:30:07.999999999Z", status: 200),
        Abuse(name: "start=1e300", target: "/api/v1/query_range?query=1&start=1e300&end=1e300&step=1", status: 400),
        Abuse(name: "end=1e300", target: "/api/v1/query_range?query=1&start=0&end=1e300&step=1", status: 400),
        Abuse(name: "step=1e300", target: "/api/v1/query_range?query=1&start=0&end=10&step=1e300", status: 400),
        Abuse(name: "step=0", target: "/api/v1/query_range?query=1&start=0&end=10&step=0", status: 400),
        Abuse(name: "step=-1", target: "/api/v1/query_range?query=1&start=0&end=10&step=-1", status: 400),
        Abuse(name: "step=NaN", target: "/api/v1/query_range?query=1&start=0&end=10&step=NaN", status: 400),
        Abuse(name: "11001+ points", target: "/api/v1/query_range?query=1&start=0&end=11002&step=1", status: 400),
        Abuse(name: "extreme span", target: "/api/v1/query_range?query=1&start=-9.2e15&end=9.2e15&step=1e9", status: 400),
        Abuse(name: "summary step=0", target: "/api/v1/summary?metric=agent_series&stat=avg&range=1h&step=0", status: 400),
        Abuse(name: "summary window=1e300", target: "/api/v1/summary?metric=agent_series&stat=avg&window=1e300", status: 400),
        Abuse(name: "summary range=1e300", target: "/api/v1/summary?metric=agent_series&stat=avg&range=1e300", status: 400),
        Abuse(name: "summary huge window literal", target: "/api/v1/summary?metric=agent_series&stat=max&window=999999999999y", status: 400),
        Abuse(name: "summary time=1e300", target: "/api/v1/summary?metric=agent_series&stat=max&time=1e300", status: 400),
        Abuse(name: "query with 999999999999y", target: "/api/v1/query?query=rate(agent_series%5B999999999999y%5D)", status: 400),
        Abuse(name: "query with a 292-million-year offset", target: "/api/v1/query?query=agent_series%20offset%20292277024y", status: 200),
        Abuse(name: "query with @ 1e300", target: "/api/v1/query?query=agent_series%20%40%201e300", status: 400),
        Abuse(name: "timeout=1e300", target: "/api/v1/query?query=1&timeout=1e300", status: 400),
        Abuse(name: "bad escape", target: "/api/v1/query?query=%zz", status: 400),
        Abuse(name: "semicolon", target: "/api/v1/query?query=1;time=2", status: 400),
        Abuse(name: "silence duration=1e300", target: "POST /api/v1/silences matchers=a%3D%22b%22&author=t&comment=c&duration=1e300", status: 400),
        Abuse(name: "silence duration=999999999999y", target: "POST /api/v1/silences matchers=a%3D%22b%22&author=t&comment=c&duration=999999999999y", status: 400),
        Abuse(name: "silence duration=292y", target: "POST /api/v1/silences matchers=a%3D%22b%22&author=t&comment=c&duration=292y", status: 200),
    ]

    static func start(fileLimit: Int? = nil, listenExtra: String = "") throws -> (DaemonProcess, UInt16) {
        let port = try freeTCPPort()
        let agent = try DaemonProcess(extraConfig: """
            notify:
              receivers:
                - name: hook
                  webhook: {url: http://127.0.0.1:9/hook}
              route: {receiver: hook}
            """, listenExtra: listenExtra, http: "127.0.0.1:\(port)", fileLimit: fileLimit)
        return (agent, UInt16(port))
    }

    /// Sends `target` (`/path?query` for a GET, `POST /path form` for a form POST); the status, or
    /// nil when the connection died without an answer.
    static func status(_ port: UInt16, _ target: String) -> Int? {
        guard let c = RawConnection(port: port, receiveTimeout: 30) else { return nil }
        if target.hasPrefix("POST ") {
            let parts = target.dropFirst(5).split(separator: " ", maxSplits: 1)
            let body = parts.count > 1 ? String(parts[1]) : ""
            c.send("POST \(parts[0]) HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        } else {
            c.send("GET \(target) HTTP/1.1\r\nHost: t\r\n\r\n")
        }
        return c.readResponse()?.status
    }

    static func peakResidentKB(_ pid: Int32) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return -1 }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? -1
    }

    @Test func noParameterOutOfRangeKillsTheAgent() throws {
        let (agent, port) = try Self.start()
        for abuse in Self.abuses {
            #expect(Self.status(port, abuse.target) == abuse.status, "\(abuse.name)")
            #expect(agent.process.isRunning, "\(abuse.name) killed the agent:\n\(agent.log.suffix(2000))")
            guard agent.process.isRunning else { return }
        }
        #expect(Self.status(port, "/-/healthy") == 200)
        // The same checks on the CLI's socket.
        let client = ControlClient(socketPath: agent.socket, timeout: 10)
        let r = try client.request("GET", "/api/v1/query?query=1&time=1e300")
        #expect(r.status == 400)
        #expect(String(decoding: r.body, as: UTF8.self).contains("\"errorType\":\"bad_data\""))
    }

    @Test func malformedFramingIsRefusedAndTheAgentGoesOn() throws {
        let (agent, port) = try Self.start()
        let cases: [(String, Int)] = [
            ("POST /api/v1/query HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
            ("POST /api/v1/query HTTP/1.1\r\nHost: t\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\nquery=1", 400),
            ("GET /-/healthy HTTP/9.9\r\nHost: t\r\n\r\n", 505),
            ("GET /api/v1/query?query=" + String(repeating: "1", count: 240_000) + " HTTP/1.1\r\nHost: t\r\n\r\n", 414),
            ("GET /-/healthy HTTP/1.1\r\nHost: t\r\n" + String(repeating: "X-Pad: \(String(repeating: "p", count: 1000))\r\n", count: 80) + "\r\n", 431),
        ]
        for (request, status) in cases {
            let c = try #require(RawConnection(port: port, receiveTimeout: 30))
            c.send(request)
            #expect(c.readResponse()?.status == status, "\(request.prefix(40))")
        }
        #expect(agent.process.isRunning)
        #expect(Self.status(port, "/-/healthy") == 200)
    }

    @Test func aHundredMegabyteBodyIs413AndMemoryStaysBounded() throws {
        let (agent, port) = try Self.start()
        let before = Self.peakResidentKB(agent.process.processIdentifier)
        let megabyte = [UInt8](repeating: 0x61, count: 1 << 20)
        // Announced: refused from its length.
        let c = try #require(RawConnection(port: port, receiveTimeout: 30))
        c.send("POST /api/v1/query HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 104857600\r\n\r\n")
        for _ in 0..<100 { if !c.send(megabyte) { break } }
        #expect(c.readResponse()?.status == 413)
        // Chunked: refused once past 10 MB.
        let d = try #require(RawConnection(port: port, receiveTimeout: 30))
        d.send("POST /api/v1/query HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
        let chunk = Array("100000\r\n".utf8) + megabyte + Array("\r\n".utf8)
        for _ in 0..<100 { if !d.send(chunk) { break } }
        #expect(d.readResponse()?.status == 413)
        #expect(agent.process.isRunning)
        #expect(Self.status(port, "/-/healthy") == 200)
        let after = Self.peakResidentKB(agent.process.processIdentifier)
        // FlyingFox held 640–760 MB for this; the server holds at most one capped body.
        #expect(after - before < 60_000, "peak resident grew from \(before) kB to \(after) kB")
    }

    @Test func idleConnectionsBeyondTheDescriptorLimitNeverStopTheListener() throws {
        // 64 descriptors: the agent's own files, the listeners and ~30 connections. 400 idle
        // connections exhaust them; the listener must evict, back off and go on.
        let (agent, port) = try Self.start(fileLimit: 64)
        _ = raiseDescriptorLimit(to: 2_000)
        var idle: [RawConnection] = []
        for _ in 0..<400 { if let c = RawConnection(port: port) { idle.append(c) } }
        #expect(agent.process.isRunning)
        #expect(Self.status(port, "/-/healthy") == 200)
        #expect(Self.status(port, "/api/v1/query?query=1") == 200)
        idle.removeAll()
        #expect(Self.status(port, "/-/healthy") == 200)
        let client = ControlClient(socketPath: agent.socket, timeout: 10)
        #expect(try client.request("GET", "/-/ready").status == 200)
        let metrics = String(decoding: try client.request("GET", "/metrics").body, as: UTF8.self)
        let evicted = metrics.split(separator: "\n").first { $0.hasPrefix("agent_http_connections_evicted_total ") }
        #expect(evicted.map { Double($0.split(separator: " ")[1]) ?? 0 } ?? 0 > 0, "\(metrics.suffix(1500))")
    }

    @Test func runningOutOfDescriptorsIsCountedAndSurvived() throws {
        let (agent, port) = try Self.start()
        let pid = agent.process.processIdentifier
        // Leave the agent six descriptors beyond those it holds: its connection cap (half the limit
        // it started with) is now far above what it can open, so accept() fails with EMFILE.
        let open = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
        let prlimit = Process()
        prlimit.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
        prlimit.arguments = ["--pid", "\(pid)", "--nofile=\(open + 6):\(open + 6)"]
        try prlimit.run()
        prlimit.waitUntilExit()
        #expect(prlimit.terminationStatus == 0)
        _ = raiseDescriptorLimit(to: 2_000)
        var idle: [RawConnection] = []
        for _ in 0..<200 { if let c = RawConnection(port: port) { idle.append(c) } }
        #expect(agent.process.isRunning)
        for _ in 0..<5 { #expect(Self.status(port, "/-/healthy") == 200) }
        idle.removeAll()
        let metrics = try #require(RawConnection(port: port))
        metrics.send("GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
        let page = metrics.readResponse()?.body ?? ""
        let line = page.split(separator: "\n").first { $0.hasPrefix("agent_http_accept_errors_total{reason=\"descriptors\"}") }
        #expect(line.map { Double($0.split(separator: " ")[1]) ?? 0 } ?? 0 > 0, "\(line ?? "no such line")")
        #expect(agent.process.isRunning)
    }

    @Test func healthAnswersWhileTwoSlowQueriesRunAndAQueryPastItsTimeoutIs503() throws {
        defer { print("SLOWDEBUG") }
        let (agent, port) = try Self.start(listenExtra: "  query_max_concurrency: 2")
        // Wait for the agent's own series (recorded every second), which the slow query reads.
        let client = ControlClient(socketPath: agent.socket, timeout: 10)
        for _ in 0..<100 {
            let r = try client.request("GET", "/api/v1/query?query=count(%7B__name__%3D~%22agent_.%2B%22%7D)")
            if String(decoding: r.body, as: UTF8.self).contains("\"value\"") { break }
            usleep(100_000)
        }
        // 172 800 subquery steps, each over every series of the agent: seconds of work.
        let slow = "/api/v1/query?query=max_over_time(count(%7B__name__%3D~%22.%2B%22%7D)%5B2d%3A1s%5D)"
        var slowClients = [try #require(RawConnection(port: port, receiveTimeout: 60)), try #require(RawConnection(port: port, receiveTimeout: 60))]
        for c in slowClients { c.send("GET \(slow) HTTP/1.1\r\nHost: t\r\n\r\n") }
        usleep(100_000)
        for _ in 0..<5 {
            #expect(Self.status(port, "/-/ready") == 200)
            #expect(Self.status(port, "/-/healthy") == 200)
        }
        #expect(slowClients.contains { !$0.hasSomethingToRead() }, "the slow queries ended before the probes: not slow enough to show anything")
        // Their clients go: the queries are cancelled at their next step, freeing the workers.
        slowClients.removeAll()
        // Past its time limit, a query stops at its next step with Prometheus's 503 timeout.
        let c = try #require(RawConnection(port: port, receiveTimeout: 60))
        c.send("GET \(slow)&timeout=5ms HTTP/1.1\r\nHost: t\r\n\r\n")
        let r = c.readResponse()
        #expect(r?.status == 503)
        #expect(r?.body.contains("\"errorType\":\"timeout\"") == true)
        #expect(agent.process.isRunning)
    }
}
