import Foundation
import Testing

@testable import Ingest

/// The libcurl multi client against the Python test server on 127.0.0.1.
@Suite(.serialized) struct HTTPClientTests {
    let client = HTTPClient(userAgent: "agent-test")

    func json(_ response: HTTPResponse) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
    }

    @Test func aResponseCarriesStatusHeadersBodyAndTimings() async throws {
        let server = try TestServer()
        let response = try await client.send(HTTPRequest(url: server.url("/respond?status=201&body=hello&ctype=text/x-test")))
        #expect(response.status == 201)
        #expect(String(decoding: response.body, as: UTF8.self) == "hello")
        #expect(response.header("content-type") == "text/x-test")
        #expect(response.header("Content-Length") == "5")
        #expect(response.timings.total > .zero)
        #expect(response.timings.firstByte <= response.timings.total)
        #expect(response.timings.connect <= response.timings.firstByte)
        #expect(response.effectiveURL.hasSuffix("/respond?status=201&body=hello&ctype=text/x-test"))
    }

    @Test(arguments: [404, 500, 503])
    func anErrorStatusIsAResponseNotAFailure(status: Int) async throws {
        let server = try TestServer()
        let response = try await client.send(HTTPRequest(url: server.url("/status/\(status)")))
        #expect(response.status == status)
        #expect(String(decoding: response.body, as: UTF8.self) == "status \(status)\n")
    }

    @Test func gzipIsAskedForAndDecompressed() async throws {
        let server = try TestServer()
        let page = try Data(contentsOf: fixturesDirectory.appendingPathComponent("pages/simple.prom"))
        let compressed = try await client.send(HTTPRequest(url: server.url("/pages/simple.prom?gzip=1")))
        #expect(compressed.header("Content-Encoding") == "gzip")
        #expect(compressed.body == [UInt8](page))
        let plain = try await client.send(HTTPRequest(url: server.url("/pages/simple.prom?gzip=1"), acceptGzip: false))
        #expect(plain.header("Content-Encoding") == nil)
        #expect(plain.body == [UInt8](page))
        let echo = try json(try await client.send(HTTPRequest(url: server.url("/echo"))))
        #expect((echo["headers"] as? [String: String])?["accept-encoding"] == "gzip")
    }

    @Test func aBodyOverTheLimitFailsAndSaysSo() async throws {
        let server = try TestServer()
        let cases: [(path: String, limit: Int)] = [
            ("/big?bytes=2000", 1000),  // refused from the Content-Length
            ("/chunked?bytes=200000", 100_000),  // counted while it streams
            ("/endless", 1 << 20),  // never ends
            ("/gzipbomb?bytes=20000000", 1 << 20),  // small on the wire, 20 MB decompressed
        ]
        for (path, limit) in cases {
            do {
                let response = try await client.send(HTTPRequest(url: server.url(path), bodyLimit: limit))
                Issue.record("\(path): expected a failure, got status \(response.status) with \(response.body.count) bytes")
            } catch {
                #expect(error.kind == .bodyTooLarge, "\(path): \(error)")
                #expect(error.message.contains("exceeds the limit of \(formatByteCount(limit))"), "\(path): \(error)")
            }
        }
        let exact = try await client.send(HTTPRequest(url: server.url("/chunked?bytes=100000"), bodyLimit: 100_000))
        #expect(exact.body.count == 100_000)
    }

    @Test func theDefaultBodyLimitIsSixteenMebibytes() {
        #expect(HTTPRequest(url: "http://127.0.0.1/").bodyLimit == 16 << 20)
        #expect(formatByteCount(16 << 20) == "16 MiB")
    }

    @Test func aSlowServerTimesOutAtTheDeadline() async throws {
        let server = try TestServer()
        for path in ["/slow?ms=5000", "/stall?ms=5000"] {
            let started = ContinuousClock.now
            do {
                _ = try await client.send(HTTPRequest(url: server.url(path), timeoutMilliseconds: 300))
                Issue.record("\(path) answered")
            } catch {
                #expect(error.kind == .timeout, "\(error)")
                #expect(error.message.hasPrefix("timed out after 300ms"))
            }
            #expect(ContinuousClock.now - started < .seconds(3), "the deadline is kept, not the server's 5 s")
        }
    }

    @Test func aRefusedConnectionIsAConnectionFailure() async throws {
        let port = unusedLoopbackPort()
        do {
            _ = try await client.send(HTTPRequest(url: "http://127.0.0.1:\(port)/metrics"))
            Issue.record("connected to an unused port")
        } catch {
            #expect(error.kind == .connectionFailed)
            #expect(error.message.contains("127.0.0.1"))
        }
    }

    @Test func redirectsAreFollowedUpToTheLimit() async throws {
        let server = try TestServer()
        let followed = try await client.send(HTTPRequest(url: server.url("/redirect/3"), maxRedirects: 5))
        #expect(followed.status == 200)
        #expect(followed.redirects == 3)
        #expect(followed.effectiveURL.hasSuffix("/redirect/0"))
        let notFollowed = try await client.send(HTTPRequest(url: server.url("/redirect/3"), maxRedirects: 0))
        #expect(notFollowed.status == 302)
        #expect(notFollowed.header("location") == "/redirect/2")
        for (path, limit) in [("/redirect/3", 2), ("/redirect-loop", 10)] {
            do {
                _ = try await client.send(HTTPRequest(url: server.url(path), maxRedirects: limit))
                Issue.record("\(path) with \(limit) redirects answered")
            } catch {
                #expect(error.kind == .tooManyRedirects, "\(error)")
            }
        }
    }

    @Test func customHeadersMethodAndBodyReachTheServer() async throws {
        let server = try TestServer()
        let request = HTTPRequest(
            url: server.url("/echo"), method: "POST",
            headers: [HTTPHeader("X-Scope-OrgID", "tenant-1"), HTTPHeader("Content-Type", "application/json"), HTTPHeader("Accept", "application/json")],
            body: Array(#"{"alert":"firing"}"#.utf8))
        let echo = try json(try await client.send(request))
        let headers = try #require(echo["headers"] as? [String: String])
        #expect(echo["method"] as? String == "POST")
        #expect(echo["body"] as? String == #"{"alert":"firing"}"#)
        #expect(headers["x-scope-orgid"] == "tenant-1")
        #expect(headers["content-type"] == "application/json")
        #expect(headers["accept"] == "application/json")
        #expect(headers["user-agent"] == "agent-test")
        let put = try json(try await client.send(HTTPRequest(url: server.url("/echo"), method: "PUT", body: [1, 2])))
        #expect(put["method"] as? String == "PUT")
        let head = try await client.send(HTTPRequest(url: server.url("/pages/simple.prom"), method: "HEAD"))
        #expect(head.status == 200 && head.body.isEmpty)
    }

    @Test func credentialsComeFromFilesAndNeverShow() async throws {
        let server = try TestServer()
        let dir = try makeTemporaryDirectory("secrets")
        try "s3cr3t-pa55\n".write(toFile: dir + "/password", atomically: true, encoding: .utf8)
        try "t0k3n-value\r\n".write(toFile: dir + "/token", atomically: true, encoding: .utf8)

        let basic = HTTPAuthorization.basic(username: "scraper", passwordFile: dir + "/password")
        let basicEcho = try json(try await client.send(HTTPRequest(url: server.url("/echo"), authorization: basic)))
        let expected = "Basic " + Data("scraper:s3cr3t-pa55".utf8).base64EncodedString()
        #expect((basicEcho["headers"] as? [String: String])?["authorization"] == expected)

        let bearer = HTTPAuthorization.bearer(tokenFile: dir + "/token")
        let request = HTTPRequest(url: server.url("/echo"), headers: [HTTPHeader("Authorization", "Bearer smuggled")], authorization: bearer)
        let bearerEcho = try json(try await client.send(request))
        #expect((bearerEcho["headers"] as? [String: String])?["authorization"] == "Bearer t0k3n-value")

        #expect(!basic.description.contains("s3cr3t") && !bearer.description.contains("t0k3n"))

        // A rotated secret is read by the next request.
        try "rotated\n".write(toFile: dir + "/token", atomically: true, encoding: .utf8)
        let rotated = try json(try await client.send(HTTPRequest(url: server.url("/echo"), authorization: bearer)))
        #expect((rotated["headers"] as? [String: String])?["authorization"] == "Bearer rotated")

        do {
            _ = try await client.send(HTTPRequest(url: server.url("/echo"), authorization: .bearer(tokenFile: dir + "/missing")))
            Issue.record("sent without a token")
        } catch {
            #expect(error.kind == .credentials)
            #expect(error.message == "bearer token file \(dir)/missing does not exist")
        }
    }

    @Test func requestsRunConcurrentlyOnOneThread() async throws {
        let server = try TestServer()
        let started = ContinuousClock.now
        let statuses = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<40 {
                group.addTask { (try? await client.send(HTTPRequest(url: server.url("/slow?ms=500"))))?.status ?? 0 }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses == Array(repeating: 200, count: 40))
        // One after another they would take 20 s.
        #expect(ContinuousClock.now - started < .seconds(8))
    }

    @Test func sequentialRequestsReuseTheirConnection() async throws {
        let server = try TestServer()
        func connections() async throws -> Int {
            try json(try await client.send(HTTPRequest(url: server.url("/connections"))))["connections"] as? Int ?? -1
        }
        let before = try await connections()
        for _ in 0..<10 { _ = try await client.send(HTTPRequest(url: server.url("/pages/simple.prom"))) }
        #expect(try await connections() == before)
    }

    @Test func cancellingARequestEndsItAtOnce() async throws {
        let server = try TestServer()
        let started = ContinuousClock.now
        let done = Mutex2<Result<HTTPResponse, HTTPError>?>(nil)
        let finished = AsyncStreamBox()
        let id = client.start(HTTPRequest(url: server.url("/slow?ms=5000"))) { result in
            done.set(result)
            finished.finish()
        }
        try await Task.sleep(for: .milliseconds(100))
        client.cancel(id)
        await finished.wait()
        if case .failure(let error) = done.get() {
            #expect(error.kind == .cancelled)
        } else {
            Issue.record("expected a cancelled request")
        }
        #expect(ContinuousClock.now - started < .seconds(3))

        let task = Task { try await client.send(HTTPRequest(url: server.url("/slow?ms=5000"))) }
        try await Task.sleep(for: .milliseconds(100))
        task.cancel()
        do {
            _ = try await task.value
            Issue.record("a cancelled task got its response")
        } catch let error as HTTPError {
            #expect(error.kind == .cancelled)
        }
    }

    @Test func onlyHTTPAndHTTPSAreSpoken() async throws {
        for url in ["file:///etc/passwd", "ftp://127.0.0.1/", "gopher://127.0.0.1/", "not a url"] {
            do {
                _ = try await client.send(HTTPRequest(url: url))
                Issue.record("\(url) was fetched")
            } catch {
                #expect(error.kind == .invalidRequest || error.kind == .nameResolution, "\(url): \(error)")
            }
        }
    }

    @Test func invalidGzipIsReported() async throws {
        let server = try TestServer()
        do {
            _ = try await client.send(HTTPRequest(url: server.url("/badgzip")))
            Issue.record("invalid gzip accepted")
        } catch {
            #expect(error.kind == .badContentEncoding, "\(error)")
        }
    }

    @Test func aShutDownClientRefusesNewRequests() async throws {
        let own = HTTPClient()
        own.shutdown()
        do {
            _ = try await own.send(HTTPRequest(url: "http://127.0.0.1:1/"))
            Issue.record("a shut down client sent a request")
        } catch {
            #expect(error.kind == .cancelled)
        }
    }

    @Test func completionsCanBeDeliveredOnAQueue() async throws {
        let server = try TestServer()
        let queue = DispatchQueue(label: "test.completions")
        let key = DispatchSpecificKey<Int>()
        queue.setSpecific(key: key, value: 7)
        let onQueue = Mutex2<Int?>(nil)
        let finished = AsyncStreamBox()
        client.start(HTTPRequest(url: server.url("/pages/simple.prom")), on: queue) { _ in
            onQueue.set(DispatchQueue.getSpecific(key: key))
            finished.finish()
        }
        await finished.wait()
        #expect(onQueue.get() == 7)
    }
}

/// TLS against a certificate made at test time by a CA the system does not know.
@Suite(.serialized) struct HTTPClientTLSTests {
    let client = HTTPClient()

    @Test func verificationFailsByDefaultAndPassesWithTheCAFile() async throws {
        let tls = try TLSFixture()
        let server = try TestServer(tls: tls)
        do {
            _ = try await client.send(HTTPRequest(url: server.url("/pages/simple.prom")))
            Issue.record("an unknown CA was trusted")
        } catch {
            #expect(error.kind == .tls, "\(error)")
            #expect(error.message.contains("ca_file"), "the error says how to fix it: \(error)")
        }
        let trusted = try await client.send(HTTPRequest(url: server.url("/pages/simple.prom"), tls: TLSOptions(caFile: tls.caCert)))
        #expect(trusted.status == 200)
        #expect(trusted.timings.tlsHandshake > .zero)
        let skipped = try await client.send(HTTPRequest(url: server.url("/pages/simple.prom"), tls: TLSOptions(insecureSkipVerify: true)))
        #expect(skipped.status == 200)
    }

    @Test func aClientCertificateIsPresentedWhenTheServerAsks() async throws {
        let tls = try TLSFixture()
        let server = try TestServer(tls: tls, requireClientCertificate: true)
        do {
            _ = try await client.send(HTTPRequest(url: server.url("/echo"), tls: TLSOptions(caFile: tls.caCert)))
            Issue.record("the server let a client without a certificate in")
        } catch {
            #expect(error.kind == .tls || error.kind == .transport, "\(error)")
        }
        let withCert = TLSOptions(caFile: tls.caCert, certFile: tls.clientCert, keyFile: tls.clientKey)
        let response = try await client.send(HTTPRequest(url: server.url("/echo"), tls: withCert))
        let echo = try #require(JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        #expect(echo["client_cn"] as? String == "agent test client")
    }
}

/// A value behind a lock, for completion handlers in tests.
final class Mutex2<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func set(_ newValue: Value) { lock.withLock { value = newValue } }
    func get() -> Value { lock.withLock { value } }
}

/// A one-shot signal a test can await.
final class AsyncStreamBox: Sendable {
    let stream: AsyncStream<Void>
    let continuation: AsyncStream<Void>.Continuation
    init() { (stream, continuation) = AsyncStream.makeStream() }
    func finish() { continuation.finish() }
    func wait() async { for await _ in stream {} }
}
