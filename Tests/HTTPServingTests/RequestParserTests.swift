import Testing

@testable import HTTPServing

/// A malformed request and the status the parser must answer.
struct Malformed: CustomTestStringConvertible, Sendable {
    let name: String
    let bytes: String
    let status: Int
    var testDescription: String { name }
}

@Suite struct RequestParserTests {
    static func parse(_ text: String, limits: RequestParser.Limits = RequestParser.Limits(), chunk: Int = .max) -> [RequestParser.Event] {
        var parser = RequestParser(limits: limits)
        var events: [RequestParser.Event] = []
        let bytes = Array(text.utf8)
        var i = 0
        repeat {
            let end = min(bytes.count, i + min(chunk, bytes.count))
            parser.append(bytes[i..<end])
            i = end
            loop: while true {
                let e = parser.next()
                switch e {
                case .needMore: break loop
                case .request: events.append(e)
                case .error:
                    events.append(e)
                    return events
                }
            }
        } while i < bytes.count
        return events
    }

    static func requests(_ events: [RequestParser.Event]) -> [HTTPRequest] {
        events.compactMap { if case .request(let r) = $0 { r } else { nil } }
    }

    static func errorStatus(_ events: [RequestParser.Event]) -> Int? {
        for e in events { if case .error(let err) = e { return err.status } }
        return nil
    }

    @Test func aSimpleGetIsParsedWithPathQueryAndHeaders() throws {
        let events = Self.parse("GET /api/v1/query?query=up&time=1 HTTP/1.1\r\nHost: a\r\nX-Thing:  v  \r\n\r\n")
        let r = try #require(Self.requests(events).first)
        #expect(r.method == "GET")
        #expect(r.path == "/api/v1/query")
        #expect(r.query == "query=up&time=1")
        #expect(r.headers["host"] == "a")
        #expect(r.headers["x-thing"] == "v")
        #expect(r.keepAlive)
        #expect(r.body.isEmpty)
    }

    @Test func everySplitOfTheInputGivesTheSameRequests() {
        let text = "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.0\nHost: b\n\nPOST /c HTTP/1.1\r\nHost: c\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: t\r\n\r\n"
        for chunk in [1, 2, 3, 7, 64, .max] {
            let rs = Self.requests(Self.parse(text, chunk: chunk))
            #expect(rs.map(\.path) == ["/a", "/b", "/c"], "chunk \(chunk)")
            #expect(rs.map { String(decoding: $0.body, as: UTF8.self) } == ["hello", "", "abcde"], "chunk \(chunk)")
            #expect(rs.map(\.keepAlive) == [true, false, true])
        }
    }

    @Test func keepAliveFollowsTheVersionAndConnectionHeader() {
        let rs = Self.requests(Self.parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"))
        #expect(rs.map(\.keepAlive) == [false, true])
    }

    @Test func absoluteFormTargetsKeepOnlyPathAndQuery() throws {
        let r = try #require(Self.requests(Self.parse("GET http://127.0.0.1:9464/metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\nGET HTTP://h HTTP/1.1\r\nHost: a\r\n\r\n")).first)
        #expect(r.path == "/metrics")
        #expect(r.query == "x=1")
    }

    static let malformed: [Malformed] = [
        Malformed(name: "HTTP/9.9", bytes: "GET / HTTP/9.9\r\nHost: a\r\n\r\n", status: 505),
        Malformed(name: "HTTP/2.0", bytes: "GET / HTTP/2.0\r\nHost: a\r\n\r\n", status: 505),
        Malformed(name: "HTTP/1.2", bytes: "GET / HTTP/1.2\r\nHost: a\r\n\r\n", status: 505),
        Malformed(name: "HTTP/0.9", bytes: "GET / HTTP/0.9\r\n\r\n", status: 505),
        Malformed(name: "bad version", bytes: "GET / HTTX/1.1\r\nHost: a\r\n\r\n", status: 400),
        Malformed(name: "version 1.10", bytes: "GET / HTTP/1.10\r\nHost: a\r\n\r\n", status: 400),
        Malformed(name: "no version", bytes: "GET /\r\nHost: a\r\n\r\n", status: 400),
        Malformed(name: "two spaces", bytes: "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Malformed(name: "trailing text", bytes: "GET / HTTP/1.1 x\r\nHost: a\r\n\r\n", status: 400),
        Malformed(name: "bad method", bytes: "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Malformed(name: "control in target", bytes: "GET /a\u{01}b HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Malformed(name: "non-ASCII target", bytes: "GET /é HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Malformed(name: "star for GET", bytes: "GET * HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Malformed(name: "authority form", bytes: "CONNECT h:80 HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Malformed(name: "missing Host", bytes: "GET / HTTP/1.1\r\n\r\n", status: 400),
        Malformed(name: "two Hosts", bytes: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", status: 400),
        Malformed(name: "equal duplicate Content-Length", bytes: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", status: 400),
        Malformed(name: "conflicting Content-Length", bytes: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy", status: 400),
        Malformed(name: "Content-Length list", bytes: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\nx", status: 400),
        Malformed(name: "Content-Length sign", bytes: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\nx", status: 400),
        Malformed(name: "Content-Length negative", bytes: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", status: 400),
        Malformed(name: "Content-Length huge", bytes: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", status: 400),
        Malformed(name: "Content-Length over the cap", bytes: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 104857600\r\n\r\n", status: 413),
        Malformed(name: "Content-Length and chunked", bytes: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", status: 400),
        Malformed(name: "gzip only", bytes: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", status: 400),
        Malformed(name: "gzip then chunked", bytes: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", status: 501),
        Malformed(name: "chunked twice", bytes: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", status: 400),
        Malformed(name: "chunked in HTTP/1.0", bytes: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", status: 400),
        Malformed(name: "bad chunk size", bytes: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", status: 400),
        Malformed(name: "empty chunk size", bytes: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", status: 400),
        Malformed(name: "17-digit chunk size", bytes: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n00000000000000001\r\n", status: 400),
        Malformed(name: "chunk size over the cap", bytes: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffff\r\n", status: 413),
        Malformed(name: "chunk without CRLF", bytes: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n", status: 400),
        Malformed(name: "chunk extension with control", bytes: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;a\u{01}\r\n", status: 400),
        Malformed(name: "field without colon", bytes: "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", status: 400),
        Malformed(name: "space before colon", bytes: "GET / HTTP/1.1\r\nHost : a\r\n\r\n", status: 400),
        Malformed(name: "empty field name", bytes: "GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n", status: 400),
        Malformed(name: "obsolete folding", bytes: "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n  b\r\n\r\n", status: 400),
        Malformed(name: "NUL in value", bytes: "GET / HTTP/1.1\r\nHost: a\r\nX: a\u{00}b\r\n\r\n", status: 400),
        Malformed(name: "bare CR in value", bytes: "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", status: 400),
        Malformed(name: "unknown expectation", bytes: "POST / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\nx", status: 417),
        Malformed(name: "empty lines only", bytes: "\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
    ]

    @Test(arguments: malformed)
    func malformedRequestsAreRefusedWithTheirStatus(_ m: Malformed) {
        for chunk in [1, .max] {
            #expect(Self.errorStatus(Self.parse(m.bytes, chunk: chunk)) == m.status, "chunk \(chunk)")
        }
    }

    @Test func aFailedParserStaysFailed() {
        var p = RequestParser()
        p.append(Array("GET / HTTP/9.9\r\n\r\n".utf8))
        guard case .error = p.next() else { Issue.record("expected an error"); return }
        p.append(Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8))
        guard case .error(let e) = p.next() else { Issue.record("expected the same error"); return }
        #expect(e.status == 505)
    }

    @Test func everyTruncationOfAValidRequestWaitsForMore() {
        let text = Array("POST /q?x=1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n".utf8)
        for cut in 0..<text.count {
            var p = RequestParser()
            p.append(text[..<cut])
            guard case .needMore = p.next() else {
                Issue.record("cut at \(cut) did not wait for more")
                return
            }
        }
    }

    @Test func aLongRequestLineIsRefusedBeforeItEndsAndInLinearWork() {
        // 240 KB of URL in 4 KB reads: refused once past the cap, having examined each byte once.
        let url = "GET /api/v1/query?query=" + String(repeating: "a", count: 240_000) + " HTTP/1.1\r\nHost: a\r\n\r\n"
        var p = RequestParser()
        let bytes = Array(url.utf8)
        var fed = 0
        var status: Int?
        while fed < bytes.count && status == nil {
            p.append(bytes[fed..<min(fed + 4096, bytes.count)])
            fed = min(fed + 4096, bytes.count)
            if case .error(let e) = p.next() { status = e.status }
        }
        #expect(status == 414)
        #expect(fed < 80_000, "refused only after \(fed) bytes")
        #expect(p.steps <= fed)
    }

    @Test func parsingWorkIsLinearInTheInputWhateverTheReadSize() {
        // A 60 KB URL (under the cap) arriving a byte at a time: each byte is examined once.
        let url = "GET /q?x=" + String(repeating: "b", count: 60_000) + " HTTP/1.1\r\nHost: a\r\n\r\n"
        var p = RequestParser()
        var done = false
        for b in url.utf8 {
            p.append(CollectionOfOne(b))
            if case .request = p.next() { done = true }
        }
        #expect(done)
        #expect(p.steps <= url.utf8.count)
    }

    @Test func headerFieldsBeyondTheirBoundsAre431() {
        var small = RequestParser.Limits()
        small.headerCount = 5
        let many = "GET / HTTP/1.1\r\nHost: a\r\n" + (0..<10).map { "X-\($0): v\r\n" }.joined() + "\r\n"
        #expect(Self.errorStatus(Self.parse(many, limits: small)) == 431)
        let big = "GET / HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "v", count: 70_000) + "\r\n\r\n"
        #expect(Self.errorStatus(Self.parse(big, chunk: 8192)) == 431)
    }

    @Test func aHundredMegabyteBodyIsRefusedFromItsLengthAlone() {
        var p = RequestParser()
        p.append(Array("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 104857600\r\n\r\n".utf8))
        guard case .error(let e) = p.next() else { Issue.record("expected 413"); return }
        #expect(e.status == 413)
        #expect(p.bufferedBytes < 1024)
    }

    @Test func aChunkedBodyPastTheCapIs413AndHoldsNoMoreThanTheCap() {
        var limits = RequestParser.Limits()
        limits.bodyBytes = 100_000
        var p = RequestParser(limits: limits)
        p.append(Array("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n".utf8))
        let chunk = Array("4000\r\n".utf8) + [UInt8](repeating: 120, count: 0x4000) + Array("\r\n".utf8)
        var status: Int?
        for _ in 0..<20 where status == nil {
            p.append(chunk)
            if case .error(let e) = p.next() { status = e.status }
            #expect(p.bufferedBytes <= 100_000 + chunk.count)
        }
        #expect(status == 413)
    }

    @Test func expectContinueIsAnnouncedUntilTheBodyStarts() {
        var p = RequestParser()
        p.append(Array("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n".utf8))
        guard case .needMore = p.next() else { Issue.record("expected to wait for the body"); return }
        #expect(p.wantsContinue)
        let first = p.takeContinue(), second = p.takeContinue()
        #expect(first)
        #expect(!second)
        p.append(Array("abc".utf8))
        guard case .request(let r) = p.next() else { Issue.record("expected the request"); return }
        #expect(r.body == Array("abc".utf8))
    }

    @Test func randomBytesNeverTrapAndNeverYieldMoreThanTheyHold() {
        var rng = SplitMix(seed: 12)
        for _ in 0..<2_000 {
            let n = Int(rng.next() % 300)
            var bytes = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if rng.next() % 2 == 0 { bytes = Array("GET / HTTP/1.1\r\n".utf8) + bytes }
            var p = RequestParser()
            p.append(bytes)
            var guardCount = 0
            while guardCount < 100 {
                guardCount += 1
                if case .request = p.next() { continue }
                break
            }
            #expect(guardCount < 100)
        }
    }
}

/// A small deterministic PRNG for generated inputs.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension RequestParserTests {
    @Test func aLineOfExactlyTheLimitIsAcceptedWhereverTheInputIsSplit() {
        var limits = RequestParser.Limits()
        limits.requestLineBytes = 40
        let line = "GET /" + String(repeating: "a", count: 40 - 14) + " HTTP/1.1"
        #expect(line.utf8.count == 40)
        for chunk in [1, 2, 41, .max] {
            #expect(Self.requests(Self.parse(line + "\r\nHost: a\r\n\r\n", limits: limits, chunk: chunk)).count == 1, "chunk \(chunk)")
            #expect(Self.errorStatus(Self.parse("GET /a" + line.dropFirst(5) + "\r\nHost: a\r\n\r\n", limits: limits, chunk: chunk)) == 414, "chunk \(chunk)")
        }
    }
}
