/// Why a request was refused: the status to answer (400, 413, 414, 417, 431, 501, 505) and a short
/// reason for the body of that answer. The connection is closed after it.
public struct HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var reason: String

    public init(_ status: Int, _ reason: String) {
        self.status = status
        self.reason = reason
    }

    public var description: String { "\(status) \(reason)" }
}

/// An incremental, strict HTTP/1.0 and HTTP/1.1 request parser (RFC 9112) with fixed bounds.
///
/// Bytes go in with `append`, requests come out of `next()` as soon as they are complete, so a
/// connection holds at most one partial request. Work is linear in the input: the search for a
/// line end resumes where the previous one stopped, and nothing is scanned twice (`steps` counts
/// the bytes examined, so tests can show it).
///
/// Strictness, each a defence against a known attack or a framing ambiguity:
/// - request line `METHOD SP target SP HTTP/1.x`; other versions get 505, anything malformed 400;
///   longer than `requestLineBytes` gets 414 before it is complete;
/// - header names are tokens with no space before the colon; obsolete line folding, CR, NUL and
///   other controls in values are 400; more than `headerCount` fields or `headerBytes` bytes is 431;
/// - `Content-Length` must be digits and appear once (duplicates, even equal ones, are 400);
///   together with `Transfer-Encoding` it is 400 (request smuggling); a body longer than
///   `bodyBytes` is 413, refused from its announced length before any of it is read;
/// - `Transfer-Encoding` must end in a single `chunked` (else 400); other codings are 501;
///   chunk sizes are at most 16 hex digits, each chunk ends in exactly CRLF;
/// - HTTP/1.1 needs exactly one `Host` (as Go's server insists); `Expect` other than
///   `100-continue` is 417.
/// Lines may end in CRLF or a bare LF (RFC 9112 §2.2); a bare CR is a control byte and refused.
public struct RequestParser: Sendable {
    /// The bounds of one request.
    public struct Limits: Sendable {
        /// Longest request line (method, target, version): beyond it, 414.
        public var requestLineBytes = 65_536
        /// Most bytes of header (and trailer) field lines together: beyond it, 431.
        public var headerBytes = 65_536
        /// Most header (and trailer) fields: beyond it, 431.
        public var headerCount = 100
        /// Longest body after de-chunking (Prometheus's 10 MB): beyond it, 413.
        public var bodyBytes = 10 << 20
        /// Longest chunk-size line, extensions included: beyond it, 400.
        public var chunkLineBytes = 1024

        public init() {}
    }

    /// What `next()` found.
    public enum Event: Sendable {
        /// The bytes so far end inside a request.
        case needMore
        /// A whole request; the parser is ready for the next one.
        case request(HTTPRequest)
        /// The input is refused; the parser stays failed.
        case error(HTTPParseError)
    }

    enum State: Sendable {
        case requestLine, headers, body(remaining: Int), chunkSize, chunkData(remaining: Int), chunkDataEnd, trailers
        case failed(HTTPParseError)
    }

    public let limits: Limits
    private var buffer: [UInt8] = []
    /// First byte not yet consumed.
    private var start = 0
    /// Where the search for the next LF resumes (`start` ≤ `scan` ≤ `buffer.count`).
    private var scan = 0
    private var state = State.requestLine
    private var method = "", path = "", query = "", minor = 1
    private var headers = HTTPHeaders()
    private var fieldBytes = 0
    private var body: [UInt8] = []
    private var emptyLinesBefore = 0
    private var continuePending = false
    /// Bytes examined so far (searched for a line end, or copied into a body): linear in the input.
    public private(set) var steps = 0

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Bytes held: unconsumed input plus the body gathered so far (what this connection costs).
    public var bufferedBytes: Int { buffer.count - start + body.count }

    /// True between the end of a head that said `Expect: 100-continue` and the first byte of its
    /// body; `takeContinue()` clears it (the server then sends `100 Continue` once).
    public var wantsContinue: Bool { continuePending }

    /// Clears `wantsContinue`; true when it was set.
    public mutating func takeContinue() -> Bool {
        defer { continuePending = false }
        return continuePending
    }

    /// True when no byte of a next request has arrived (between requests on a kept-alive connection).
    public var isIdle: Bool {
        if case .requestLine = state { return start == buffer.count }
        return false
    }

    /// True once the head of the current request is complete (its body may still be arriving).
    public var headComplete: Bool {
        switch state {
        case .requestLine, .headers, .failed: false
        default: true
        }
    }

    /// Adds received bytes.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// Adds received bytes.
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// Drops consumed bytes once they are most of the buffer, so the buffer stays bounded by one
    /// partial request plus one read, and compaction costs amortised O(1) per byte.
    private mutating func compact() {
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 65_536)
            start = 0
            scan = 0
        } else if start >= 4096 && start * 2 >= buffer.count {
            buffer.removeSubrange(0..<start)
            scan -= start
            start = 0
        }
    }

    /// Parses as far as the input allows.
    public mutating func next() -> Event {
        while true {
            switch state {
            case .failed(let error):
                return .error(error)
            case .requestLine:
                switch nextLine(limit: limits.requestLineBytes) {
                case .incomplete: return .needMore
                case .tooLong: return fail(414, "request line longer than \(limits.requestLineBytes) bytes")
                case .line(let range):
                    if range.isEmpty {
                        // RFC 9112 §2.2: ignore empty lines before a request line (a few, not forever).
                        emptyLinesBefore += 1
                        if emptyLinesBefore > 4 { return fail(400, "empty lines instead of a request line") }
                        continue
                    }
                    if let error = parseRequestLine(range) { return fail(error) }
                    state = .headers
                }
            case .headers, .trailers:
                let inTrailers: Bool
                if case .trailers = state { inTrailers = true } else { inTrailers = false }
                let room = limits.headerBytes - fieldBytes
                switch nextLine(limit: max(room, 0)) {
                case .incomplete: return .needMore
                case .tooLong: return fail(431, "header fields longer than \(limits.headerBytes) bytes in all")
                case .line(let range):
                    fieldBytes += range.count + 2
                    if fieldBytes > limits.headerBytes { return fail(431, "header fields longer than \(limits.headerBytes) bytes in all") }
                    if range.isEmpty {
                        if inTrailers { return complete() }
                        if let error = finishHead() { return fail(error) }
                        continue
                    }
                    guard headers.count < limits.headerCount else { return fail(431, "more than \(limits.headerCount) header fields") }
                    guard let field = parseField(range) else { return fail(400, "malformed header field") }
                    // Trailer fields are read (and bounded) but not kept: nothing here uses them.
                    if !inTrailers { headers.add(field.name, field.value) } else { headers.add("", "") }
                }
            case .body(let remaining):
                let n = min(remaining, buffer.count - start)
                if n > 0 {
                    continuePending = false
                    take(n)
                }
                if remaining - n > 0 {
                    state = .body(remaining: remaining - n)
                    return .needMore
                }
                return complete()
            case .chunkSize:
                switch nextLine(limit: limits.chunkLineBytes) {
                case .incomplete: return .needMore
                case .tooLong: return fail(400, "chunk size line longer than \(limits.chunkLineBytes) bytes")
                case .line(let range):
                    continuePending = false
                    guard let size = chunkSize(range) else { return fail(400, "malformed chunk size") }
                    if size == 0 {
                        state = .trailers
                    } else {
                        guard size <= limits.bodyBytes - body.count else { return fail(413, "body longer than \(limits.bodyBytes) bytes") }
                        state = .chunkData(remaining: size)
                    }
                }
            case .chunkData(let remaining):
                let n = min(remaining, buffer.count - start)
                if n > 0 { take(n) }
                if remaining - n > 0 {
                    state = .chunkData(remaining: remaining - n)
                    return .needMore
                }
                state = .chunkDataEnd
            case .chunkDataEnd:
                guard buffer.count - start >= 2 else {
                    if buffer.count - start == 1 && buffer[start] != 13 { return fail(400, "chunk data not followed by CRLF") }
                    return .needMore
                }
                guard buffer[start] == 13 && buffer[start + 1] == 10 else { return fail(400, "chunk data not followed by CRLF") }
                start += 2
                scan = start
                steps += 2
                state = .chunkSize
            }
        }
    }

    // MARK: Lines

    enum Line { case line(Range<Int>), incomplete, tooLong }

    /// The next line (without its CRLF or LF), consuming it; `tooLong` as soon as more than
    /// `limit` bytes (and a CR) are buffered without a line end.
    private mutating func nextLine(limit: Int) -> Line {
        let end = buffer.count
        var i = scan
        let found: Int? = buffer.withUnsafeBufferPointer { p in
            while i < end {
                if p[i] == 10 { return i }
                i += 1
            }
            return nil
        }
        steps += (found.map { $0 + 1 } ?? end) - scan
        guard let lf = found else {
            scan = end
            // One byte over the limit may be the line's CR: only its LF tells, so the verdict
            // does not depend on where the input was split.
            return end - start > limit + 1 ? .tooLong : .incomplete
        }
        var lineEnd = lf
        if lineEnd > start && buffer[lineEnd - 1] == 13 { lineEnd -= 1 }
        let range = start..<lineEnd
        start = lf + 1
        scan = start
        return range.count > limit ? .tooLong : .line(range)
    }

    private mutating func take(_ n: Int) {
        body.append(contentsOf: buffer[start..<(start + n)])
        start += n
        scan = start
        steps += n
    }

    // MARK: Request line and fields

    private mutating func parseRequestLine(_ range: Range<Int>) -> HTTPParseError? {
        let line = buffer[range]
        guard let sp1 = line.firstIndex(of: 32) else { return HTTPParseError(400, "malformed request line") }
        let methodBytes = line[range.lowerBound..<sp1]
        guard !methodBytes.isEmpty, methodBytes.allSatisfy(RequestParser.isTokenByte) else { return HTTPParseError(400, "malformed method") }
        guard let sp2 = line[(sp1 + 1)...].firstIndex(of: 32) else { return HTTPParseError(400, "malformed request line") }
        let target = line[(sp1 + 1)..<sp2]
        let version = line[(sp2 + 1)...]
        guard version.count == 8, version.starts(with: Array("HTTP/".utf8)),
              case let major = version[version.startIndex + 5], case let dot = version[version.startIndex + 6],
              case let minorByte = version[version.startIndex + 7],
              RequestParser.isDigit(major), dot == 46, RequestParser.isDigit(minorByte)
        else { return HTTPParseError(400, "malformed HTTP version") }
        guard major == 49, minorByte == 48 || minorByte == 49 else { return HTTPParseError(505, "HTTP version not supported: only HTTP/1.0 and HTTP/1.1") }
        minor = Int(minorByte - 48)
        // Visible ASCII only: spaces, controls and raw non-ASCII bytes must be percent-encoded.
        guard !target.isEmpty, target.allSatisfy({ $0 > 32 && $0 < 127 }) else { return HTTPParseError(400, "malformed request target") }
        method = String(decoding: methodBytes, as: UTF8.self)
        var t = target[...]
        if t.first == 47 {
            // origin-form: /path?query
        } else if t.elementsEqual([42]) && method == "OPTIONS" {
            path = "*"
            query = ""
            return nil
        } else if let scheme = RequestParser.absoluteFormPrefix(t) {
            // absolute-form (RFC 9112 §3.2.2): servers must accept it; the authority is ignored.
            t = t.dropFirst(scheme)
            t = t[(t.firstIndex { $0 == 47 || $0 == 63 } ?? t.endIndex)...]
            if t.first != 47 { t = [47][...] + t }
        } else {
            return HTTPParseError(400, "malformed request target")
        }
        if let q = t.firstIndex(of: 63) {
            path = String(decoding: t[..<q], as: UTF8.self)
            query = String(decoding: t[(q + 1)...], as: UTF8.self)
        } else {
            path = String(decoding: t, as: UTF8.self)
            query = ""
        }
        return nil
    }

    /// Length of `http://` or `https://` (any case) at the start, if there.
    static func absoluteFormPrefix(_ t: ArraySlice<UInt8>) -> Int? {
        for scheme in ["http://", "https://"] where t.count > scheme.utf8.count {
            if zip(t, scheme.utf8).allSatisfy({ $0 | 0x20 == $1 | 0x20 }) { return scheme.utf8.count }
        }
        return nil
    }

    private func parseField(_ range: Range<Int>) -> (name: String, value: String)? {
        let line = buffer[range]
        // A field line starting with whitespace is obsolete line folding (RFC 9112 §5.2): refused.
        guard let colon = line.firstIndex(of: 58), colon > range.lowerBound else { return nil }
        let name = line[range.lowerBound..<colon]
        guard name.allSatisfy(RequestParser.isTokenByte) else { return nil }
        var v = line[(colon + 1)...]
        while let f = v.first, f == 32 || f == 9 { v = v.dropFirst() }
        while let l = v.last, l == 32 || l == 9 { v = v.dropLast() }
        guard v.allSatisfy({ $0 == 9 || ($0 >= 32 && $0 != 127) }) else { return nil }
        return (String(decoding: name.map { $0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0 }, as: UTF8.self), String(decoding: v, as: UTF8.self))
    }

    /// Checks the head as a whole and chooses how the body is framed.
    private mutating func finishHead() -> HTTPParseError? {
        let hosts = headers.values(of: "host")
        if hosts.count > 1 { return HTTPParseError(400, "more than one Host header") }
        if minor == 1 && hosts.isEmpty { return HTTPParseError(400, "missing Host header") }
        let lengths = headers.values(of: "content-length")
        let codings = headers.values(of: "transfer-encoding")
        if lengths.count > 1 { return HTTPParseError(400, "duplicate Content-Length") }
        var chunked = false
        if !codings.isEmpty {
            if minor == 0 { return HTTPParseError(400, "Transfer-Encoding in an HTTP/1.0 request") }
            if !lengths.isEmpty { return HTTPParseError(400, "both Content-Length and Transfer-Encoding") }
            let list = codings.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }.map { $0.trimmingSpaces.lowercased() }
            guard list.last == "chunked", list.filter({ $0 == "chunked" }).count == 1 else {
                return HTTPParseError(400, "Transfer-Encoding must end in a single chunked")
            }
            if list.count > 1 { return HTTPParseError(501, "transfer coding not implemented: \(list.dropLast().joined(separator: ", "))") }
            chunked = true
        }
        var length = 0
        if let text = lengths.first {
            guard !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy(RequestParser.isDigit), let n = Int(text) else {
                return HTTPParseError(400, "malformed Content-Length")
            }
            length = n
            if length > limits.bodyBytes { return HTTPParseError(413, "body longer than \(limits.bodyBytes) bytes") }
        }
        let expectations = headers.values(of: "expect")
        if !expectations.isEmpty {
            guard expectations.count == 1, expectations[0].lowercased() == "100-continue" else { return HTTPParseError(417, "unsupported expectation") }
            continuePending = minor == 1 && (chunked || length > 0)
        }
        body = []
        body.reserveCapacity(min(length, 65_536))
        if chunked {
            state = .chunkSize
        } else {
            state = .body(remaining: length)
        }
        return nil
    }

    /// The size of a chunk-size line (`1a`, `1a;name=value`); nil when malformed or over 16 hex digits.
    private func chunkSize(_ range: Range<Int>) -> Int? {
        let line = buffer[range]
        var i = range.lowerBound
        var size: UInt64 = 0
        while i < range.upperBound, let d = RequestParser.hexValue(line[i]) {
            guard i - range.lowerBound < 16 else { return nil }
            size = size << 4 | UInt64(d)
            i += 1
        }
        guard i > range.lowerBound, size <= UInt64(Int.max) else { return nil }
        // Optional whitespace, then extensions after `;` (ignored, but no control bytes).
        var rest = line[i...]
        while let f = rest.first, f == 32 || f == 9 { rest = rest.dropFirst() }
        if let f = rest.first {
            guard f == 59, rest.allSatisfy({ $0 == 9 || ($0 >= 32 && $0 != 127) }) else { return nil }
        }
        return Int(size)
    }

    private mutating func complete() -> Event {
        let request = HTTPRequest(method: method, path: path, query: query, minorVersion: minor,
                                  headers: HTTPHeaders(headers.fields.filter { !$0.name.isEmpty }), body: body)
        state = .requestLine
        headers = HTTPHeaders()
        body = []
        fieldBytes = 0
        emptyLinesBefore = 0
        continuePending = false
        return .request(request)
    }

    private mutating func fail(_ status: Int, _ reason: String) -> Event {
        fail(HTTPParseError(status, reason))
    }

    private mutating func fail(_ error: HTTPParseError) -> Event {
        state = .failed(error)
        body = []
        continuePending = false
        return .error(error)
    }

    // MARK: Byte classes

    static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 65...70: c - 55
        case 97...102: c - 87
        default: nil
        }
    }

    /// RFC 9110's `tchar`.
    static func isTokenByte(_ c: UInt8) -> Bool {
        switch c {
        case 48...57, 65...90, 97...122: true
        case 33, 35, 36, 37, 38, 39, 42, 43, 45, 46, 94, 95, 96, 124, 126: true
        default: false
        }
    }
}
