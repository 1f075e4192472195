import Dispatch
import Logging
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

@testable import HTTPServing
import HTTPTestSupport

/// A gate that handlers wait on, and a count of those waiting.
final class Gate: Sendable {
    let entered = Atomic(0)
    let open = Atomic(false)
    let sawCancellation = Atomic(false)

    /// Waits (up to 20 s) until opened or the request is cancelled.
    func pass(_ r: Request) {
        entered.add(1, ordering: .relaxed)
        for _ in 0..<2_000 {
            if open.load(ordering: .relaxed) { return }
            if r.cancellation.isCancelled {
                sawCancellation.store(true, ordering: .relaxed)
                return
            }
            usleep(10_000)
        }
    }

    /// Polls (up to 20 s) until `n` handlers have entered.
    func waitForEntered(_ n: Int) -> Bool {
        for _ in 0..<2_000 {
            if entered.load(ordering: .relaxed) >= n { return true }
            usleep(10_000)
        }
        return false
    }
}

/// Polls `condition` every 10 ms for up to `seconds`.
func eventually(_ seconds: Double = 20, _ condition: () -> Bool) -> Bool {
    for _ in 0..<Int(seconds * 100) {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}

@Suite(.serialized) struct HTTPServerTests {
    static func routes(_ gate: Gate) -> [Route] {
        [
            Route("GET", "/-/ready", .loop) { _ in .text(200, "Ready.\n") },
            Route("GET", "/metrics", .general) { _ in .text(200, "metrics\n") },
            Route(["GET", "POST"], "/slow", .query) { r in
                gate.pass(r)
                return .text(200, "slow done\n")
            },
            Route("POST", "/echo", .general) { r in HTTPResponse(status: 200, contentType: "application/octet-stream", body: r.http.body) },
        ]
    }

    static func withServer(_ configure: (inout HTTPServer.Configuration) -> Void = { _ in }, gate: Gate = Gate(),
                           extra: [ListenAddress] = [], _ body: (HTTPServer, UInt16) throws -> Void) throws {
        var c = HTTPServer.Configuration()
        configure(&c)
        let server = HTTPServer(addresses: [.tcp(host: "127.0.0.1", port: 0)] + extra, router: Router(routes(gate)), configuration: c,
                                logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        try server.start()
        defer {
            gate.open.store(true, ordering: .relaxed)
            server.stop()
        }
        try body(server, try #require(server.tcpPort))
    }

    static func get(_ port: UInt16, _ path: String) -> Int? {
        guard let c = RawConnection(port: port) else { return nil }
        c.send("GET \(path) HTTP/1.1\r\nHost: t\r\n\r\n")
        return c.readResponse()?.status
    }

    @Test func aFloodOfIdleConnectionsNeitherStopsTheListenerNorHoldsMoreThanTheCap() throws {
        _ = raiseDescriptorLimit(to: 4_500)
        try Self.withServer({ $0.maxConnections = 50 }) { server, port in
            var idle: [RawConnection] = []
            for _ in 0..<2_000 {
                if let c = RawConnection(port: port) { idle.append(c) }
            }
            #expect(idle.count == 2_000)
            #expect(Self.get(port, "/-/ready") == 200)
            #expect(server.stats.open.load(ordering: .relaxed) <= 50)
            #expect(server.stats.evicted.load(ordering: .relaxed) > 1_900)
            #expect(server.isAlive())
        }
    }

    @Test func aDribbledHeadIsClosedByTheHeaderTimeout() throws {
        try Self.withServer({ $0.headerTimeout = 300 }) { server, port in
            let c = try #require(RawConnection(port: port))
            c.send("GET /-/ready HTTP/1.1\r\n")
            var closed = false
            // One header byte every 50 ms, for up to 20 s: the server must close long before.
            for i in 0..<400 {
                if !c.send("X-\(i): y\r\n") { closed = true; break }
                if c.isClosedByPeer(timeout: 0.05) { closed = true; break }
            }
            #expect(closed)
            #expect(server.stats.timeouts.load(ordering: .relaxed) >= 1)
        }
    }

    @Test func anIdleKeptAliveConnectionIsClosedByTheIdleTimeout() throws {
        try Self.withServer({ $0.idleTimeout = 200 }) { _, port in
            let c = try #require(RawConnection(port: port))
            c.send("GET /-/ready HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(c.readResponse()?.status == 200)
            #expect(c.isClosedByPeer(timeout: 20))
        }
    }

    @Test func keptAliveConnectionsServePipelinedRequestsInOrder() throws {
        try Self.withServer { _, port in
            let c = try #require(RawConnection(port: port))
            let one = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
            let many = (0..<300).map { _ in "GET /-/ready HTTP/1.1\r\nHost: t\r\n\r\n" }.joined()
            c.send(one + many + "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nConnection: close\r\n\r\nxy")
            #expect(c.readResponse()?.body == "abc")
            for _ in 0..<300 { #expect(c.readResponse()?.status == 200) }
            let last = c.readResponse()
            #expect(last?.body == "xy")
            #expect(last?.headers["connection"] == "close")
        }
    }

    @Test func healthAndMetricsAnswerWhileEveryQueryWorkerIsBusy() throws {
        let gate = Gate()
        try Self.withServer({ $0.maxConcurrentQueries = 2 }, gate: gate) { _, port in
            let a = try #require(RawConnection(port: port)), b = try #require(RawConnection(port: port)), q = try #require(RawConnection(port: port))
            a.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
            b.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
            q.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(gate.waitForEntered(2))
            for _ in 0..<20 {
                #expect(Self.get(port, "/-/ready") == 200)
                #expect(Self.get(port, "/metrics") == 200)
            }
            // The third query waits for a worker: only two ran.
            #expect(gate.entered.load(ordering: .relaxed) == 2)
            gate.open.store(true, ordering: .relaxed)
            #expect(a.readResponse()?.status == 200)
            #expect(b.readResponse()?.status == 200)
            #expect(q.readResponse()?.status == 200)
        }
    }

    @Test func aQueryIsCancelledWhenItsClientGoesAway() throws {
        let gate = Gate()
        try Self.withServer(gate: gate) { _, port in
            do {
                let c = try #require(RawConnection(port: port))
                c.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
                #expect(gate.waitForEntered(1))
            }
            #expect(eventually { gate.sawCancellation.load(ordering: .relaxed) })
        }
    }

    @Test func queryWorkersGetADeadline() throws {
        let seen = Mutex<UInt64?>(nil)
        let server = HTTPServer(addresses: [.tcp(host: "127.0.0.1", port: 0)],
                                router: Router([Route("GET", "/q", .query) { r in seen.withLock { $0 = r.deadline }; return .text(200, "") }]),
                                configuration: { var c = HTTPServer.Configuration(); c.queryTimeout = 5_000; return c }(),
                                logger: Logger(label: "t", factory: { _ in SwiftLogNoOpLogHandler() }))
        try server.start()
        defer { server.stop() }
        let before = Monotonic.now()
        #expect(Self.get(try #require(server.tcpPort), "/q") == 200)
        let deadline = try #require(seen.withLock { $0 })
        #expect(deadline > before && deadline <= Monotonic.now() + 5_000_000_000)
    }

    @Test func whenEveryConnectionIsBusyANewOneGets503() throws {
        let gate = Gate()
        try Self.withServer({ $0.maxConnections = 2 }, gate: gate) { server, port in
            let a = try #require(RawConnection(port: port)), b = try #require(RawConnection(port: port))
            a.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
            b.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(gate.waitForEntered(2))
            #expect(Self.get(port, "/-/ready") == 503)
            #expect(server.stats.rejected.load(ordering: .relaxed) >= 1)
            gate.open.store(true, ordering: .relaxed)
            #expect(a.readResponse()?.status == 200)
        }
    }

    @Test func aBodyOverTheCapIs413WithoutReadingIt() throws {
        try Self.withServer { server, port in
            let c = try #require(RawConnection(port: port))
            c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 104857600\r\n\r\n")
            // Keep sending (a client that does not wait): the answer still arrives.
            for _ in 0..<16 { if !c.send([UInt8](repeating: 97, count: 65_536)) { break } }
            let r = c.readResponse()
            #expect(r?.status == 413)
            #expect(r?.headers["connection"] == "close")
            #expect(server.stats.refused.contains { $0.status == 413 })
        }
    }

    @Test func requestBytesHeldByAllConnectionsAreBounded() throws {
        try Self.withServer({ $0.maxBufferedBytes = 200_000 }) { _, port in
            var open: [RawConnection] = []
            var refused = 0
            for _ in 0..<5 {
                let c = try #require(RawConnection(port: port))
                c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n" + String(repeating: "z", count: 90_000))
                open.append(c)
            }
            for c in open {
                c.setTimeout(0.5)
                if let r = c.readResponse(), r.status == 503 { refused += 1 }
            }
            #expect(refused >= 1)
        }
    }

    @Test func expectContinueGets100BeforeTheBody() throws {
        try Self.withServer { _, port in
            let c = try #require(RawConnection(port: port))
            c.send("POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
            var got: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 64)
            while !got.starts(with: Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)) {
                let n = buffer.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, 0) }
                guard n > 0 else { break }
                got += buffer[..<n]
            }
            #expect(String(decoding: got, as: UTF8.self) == "HTTP/1.1 100 Continue\r\n\r\n")
            c.send("body")
            #expect(c.readResponse()?.body == "body")
        }
    }

    @Test func headAnswersHaveALengthButNoBody() throws {
        try Self.withServer { _, port in
            let c = try #require(RawConnection(port: port))
            c.send("HEAD /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            let raw = String(decoding: c.readAll(), as: UTF8.self)
            #expect(raw.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(raw.contains("content-length: 8\r\n"))
            #expect(raw.hasSuffix("\r\n\r\n"))
        }
    }

    @Test func malformedRequestsGetTheirStatusAndAClose() throws {
        try Self.withServer { _, port in
            for (request, status) in [("GET / HTTP/9.9\r\nHost: t\r\n\r\n", 505),
                                      ("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
                                      ("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400),
                                      ("\u{16}\u{03}\u{01}\u{02}\u{00}garbage\r\n\r\n", 400),
                                      ("GET /" + String(repeating: "a", count: 240_000) + " HTTP/1.1\r\nHost: t\r\n\r\n", 414)] {
                let c = try #require(RawConnection(port: port))
                c.send(request)
                let r = c.readResponse()
                #expect(r?.status == status, "\(request.prefix(30))")
                #expect(r?.headers["connection"] == "close")
            }
            #expect(Self.get(port, "/-/ready") == 200)
        }
    }

    @Test func theUnixSocketIsMode0660AndServesTheSameRoutes() throws {
        let path = "/tmp/agent-http-test-\(getpid()).sock"
        try Self.withServer(extra: [.unix(path: path, mode: 0o660)]) { _, _ in
            var st = stat()
            #expect(stat(path, &st) == 0)
            #expect(st.st_mode & 0o777 == 0o660)
            let c = try #require(RawConnection(unixPath: path))
            c.send("GET /-/ready HTTP/1.1\r\nHost: agent\r\n\r\n")
            #expect(c.readResponse()?.status == 200)
        }
        #expect(access(path, F_OK) != 0, "the socket file is removed on stop")
    }

    @Test func ipv6LoopbackIsServedWhenTheSystemHasIt() throws {
        let probe = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in6()
        addr.sin6_family = sa_family_t(AF_INET6)
        addr.sin6_addr = in6addr_loopback
        let v6 = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(probe, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } } == 0
        close(probe)
        guard v6 else { return }  // no IPv6 loopback in this sandbox
        let server = HTTPServer(addresses: [.tcp(host: "::1", port: 0)], router: Router(Self.routes(Gate())),
                                logger: Logger(label: "t", factory: { _ in SwiftLogNoOpLogHandler() }))
        try server.start()
        defer { server.stop() }
        let port = try #require(server.tcpPort)
        let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        addr.sin6_port = port.bigEndian
        let connected = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        #expect(connected == 0)
        let request = Array("GET /-/ready HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        #expect(n > 0 && String(decoding: buffer[..<max(n, 0)], as: UTF8.self).hasPrefix("HTTP/1.1 200"))
    }

    @Test func aStoppedServerIsNotAliveAndListensNoMore() throws {
        let server = HTTPServer(addresses: [.tcp(host: "127.0.0.1", port: 0)], router: Router(Self.routes(Gate())),
                                logger: Logger(label: "t", factory: { _ in SwiftLogNoOpLogHandler() }))
        try server.start()
        let port = try #require(server.tcpPort)
        #expect(server.isAlive())
        #expect(server.lastLoopTick > 0)
        server.stop()
        #expect(!server.isAlive())
        #expect(RawConnection(port: port) == nil)
    }

    @Test func aSecondServerOnTheSamePortFailsToStartWithAClearError() throws {
        try Self.withServer { _, port in
            let other = HTTPServer(addresses: [.tcp(host: "127.0.0.1", port: port)], router: Router([]),
                                   logger: Logger(label: "t", factory: { _ in SwiftLogNoOpLogHandler() }))
            #expect(throws: ServerError.self) { try other.start() }
        }
    }
}
