import CCurl
import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// One request on its easy handle: options in, body and headers collected, result out.
///
/// Owned by the client thread from `configure` to `release`; libcurl's callbacks reach it through
/// an unretained pointer while `CurlEngine.active` keeps it alive.
final class CurlTransfer {
    let id: UInt64
    let easy: UnsafeMutableRawPointer
    let request: HTTPRequest
    let queue: DispatchQueue?
    let completion: @Sendable (Result<HTTPResponse, HTTPError>) -> Void

    var body: [UInt8] = []
    var headers: [HTTPHeader] = []
    var bodyLimitExceeded = false
    var headerList: UnsafeMutablePointer<curl_slist>? = nil
    let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)

    init(
        id: UInt64, easy: UnsafeMutableRawPointer, request: HTTPRequest, queue: DispatchQueue?,
        completion: @escaping @Sendable (Result<HTTPResponse, HTTPError>) -> Void
    ) {
        self.id = id
        self.easy = easy
        self.request = request
        self.queue = queue
        self.completion = completion
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        errorBuffer.deallocate()
        if let headerList { agent_curl_slist_free_all(headerList) }
    }

    /// Sets every option of the request; an error when the request cannot be sent as given.
    func configure(userAgent: String) -> HTTPError? {
        let r = request
        let easy = easy
        var failed: CURLcode = CURLE_OK
        func set(_ option: CURLoption, _ value: Int) {
            let code = agent_curl_easy_setopt_long(easy, option, value)
            if code != CURLE_OK && failed == CURLE_OK { failed = code }
        }
        func set(_ option: CURLoption, _ value: String) {
            let code = agent_curl_easy_setopt_string(easy, option, value)
            if code != CURLE_OK && failed == CURLE_OK { failed = code }
        }

        set(CURLOPT_URL, r.url)
        set(CURLOPT_NOSIGNAL, 1)
        set(CURLOPT_PROTOCOLS_STR, "http,https")
        set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        set(CURLOPT_TIMEOUT_MS, max(1, r.timeoutMilliseconds))
        set(CURLOPT_CONNECTTIMEOUT_MS, max(1, min(r.timeoutMilliseconds, 10_000)))
        set(CURLOPT_TCP_KEEPALIVE, 1)
        set(CURLOPT_USERAGENT, userAgent)
        set(CURLOPT_FOLLOWLOCATION, r.maxRedirects > 0 ? 1 : 0)
        set(CURLOPT_MAXREDIRS, max(0, r.maxRedirects))
        if r.acceptGzip { set(CURLOPT_ACCEPT_ENCODING, "gzip") }
        _ = agent_curl_easy_setopt_off(easy, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(r.bodyLimit))
        _ = agent_curl_easy_setopt_pointer(easy, CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errorBuffer))
        let me = Unmanaged.passUnretained(self).toOpaque()
        _ = agent_curl_easy_setopt_pointer(easy, CURLOPT_PRIVATE, me)
        _ = agent_curl_easy_setopt_callback(easy, CURLOPT_WRITEFUNCTION, curlWriteBody)
        _ = agent_curl_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, me)
        _ = agent_curl_easy_setopt_callback(easy, CURLOPT_HEADERFUNCTION, curlWriteHeader)
        _ = agent_curl_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, me)

        // TLS: verification stays on unless the request says otherwise.
        if let caFile = r.tls.caFile { set(CURLOPT_CAINFO, caFile) }
        if let certFile = r.tls.certFile { set(CURLOPT_SSLCERT, certFile) }
        if let keyFile = r.tls.keyFile { set(CURLOPT_SSLKEY, keyFile) }
        set(CURLOPT_SSL_VERIFYPEER, r.tls.insecureSkipVerify ? 0 : 1)
        set(CURLOPT_SSL_VERIFYHOST, r.tls.insecureSkipVerify ? 0 : 2)

        // Method and body.
        let method = r.method.uppercased()
        if let body = r.body {
            _ = agent_curl_easy_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
            body.withUnsafeBytes { raw in
                _ = agent_curl_easy_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: raw.baseAddress ?? UnsafeRawPointer(errorBuffer)))
            }
            if method != "POST" && method != "GET" { set(CURLOPT_CUSTOMREQUEST, method) }
        } else if method == "HEAD" {
            set(CURLOPT_NOBODY, 1)
        } else if method != "GET" {
            set(CURLOPT_CUSTOMREQUEST, method)
        }

        // Headers, credentials last so that a custom header cannot smuggle another Authorization.
        var lines = request.headers.filter { $0.name.lowercased() != "authorization" || request.authorization == nil }
            .map { "\($0.name): \($0.value)" }
        switch request.authorization {
        case nil:
            break
        case .basic(let username, let passwordFile):
            switch readSecret(passwordFile, what: "password") {
            case .failure(let error): return error
            case .success(var password):
                set(CURLOPT_HTTPAUTH, 1)  // CURLAUTH_BASIC
                set(CURLOPT_USERNAME, username)
                password.withUnsafeBufferPointer { _ = agent_curl_easy_setopt_string(easy, CURLOPT_PASSWORD, $0.baseAddress) }
                password.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
            }
        case .bearer(let tokenFile):
            switch readSecret(tokenFile, what: "bearer token") {
            case .failure(let error): return error
            case .success(var token):
                var line = Array("Authorization: Bearer ".utf8CString.dropLast())
                line.append(contentsOf: token)
                line.withUnsafeBufferPointer { headerList = agent_curl_slist_append(headerList, $0.baseAddress) }
                line.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
                token.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
            }
        }
        if !lines.contains(where: { $0.lowercased().hasPrefix("accept:") }) { lines.insert("Accept: */*", at: 0) }
        for line in lines { headerList = agent_curl_slist_append(headerList, line) }
        if let headerList { _ = agent_curl_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, headerList) }

        if failed != CURLE_OK {
            return HTTPError(.invalidRequest, "invalid request: \(String(cString: agent_curl_easy_strerror(failed)))")
        }
        body.reserveCapacity(min(max(r.bodySizeHint, 0), r.bodyLimit) + 1024)
        return nil
    }

    /// A secret file's content without its final newline, NUL-terminated, for libcurl to copy.
    func readSecret(_ path: String, what: String) -> Result<[CChar], HTTPError> {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read (check its permissions)" : "does not exist"
            return .failure(HTTPError(.credentials, "\(what) file \(path) \(reason)"))
        }
        var bytes = [UInt8](data)
        while let last = bytes.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { bytes.removeLast() }
        if bytes.contains(0) || bytes.contains(UInt8(ascii: "\n")) {
            return .failure(HTTPError(.credentials, "\(what) file \(path) must hold one line"))
        }
        var secret = bytes.map { CChar(bitPattern: $0) }
        secret.append(0)
        bytes.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        return .success(secret)
    }

    /// Frees what libcurl borrowed; the easy handle goes back to the engine.
    func release() {
        if let headerList {
            agent_curl_slist_free_all(headerList)
            self.headerList = nil
        }
    }

    func timings() -> HTTPTimings {
        func duration(_ info: CURLINFO) -> Duration {
            var microseconds: curl_off_t = 0
            _ = agent_curl_easy_getinfo_off(easy, info, &microseconds)
            return .microseconds(microseconds)
        }
        return HTTPTimings(
            nameLookup: duration(CURLINFO_NAMELOOKUP_TIME_T), connect: duration(CURLINFO_CONNECT_TIME_T),
            tlsHandshake: duration(CURLINFO_APPCONNECT_TIME_T), firstByte: duration(CURLINFO_STARTTRANSFER_TIME_T),
            total: duration(CURLINFO_TOTAL_TIME_T))
    }

    /// The response, or the error libcurl's code and message stand for.
    func result(code: CURLcode) -> Result<HTTPResponse, HTTPError> {
        let timings = timings()
        if code == CURLE_OK {
            var status = 0
            _ = agent_curl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
            var redirects = 0
            _ = agent_curl_easy_getinfo_long(easy, CURLINFO_REDIRECT_COUNT, &redirects)
            var url: UnsafeMutablePointer<CChar>? = nil
            _ = agent_curl_easy_getinfo_string(easy, CURLINFO_EFFECTIVE_URL, &url)
            return .success(
                HTTPResponse(
                    status: status, headers: headers, body: body, timings: timings, redirects: redirects,
                    effectiveURL: url.map { String(cString: $0) } ?? request.url))
        }
        let detail = errorBuffer.pointee != 0 ? String(cString: errorBuffer) : String(cString: agent_curl_easy_strerror(code))
        let limit = formatByteCount(request.bodyLimit)
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            return .failure(HTTPError(.timeout, "timed out after \(formatMilliseconds(request.timeoutMilliseconds)) (\(detail))", timings: timings))
        case CURLE_WRITE_ERROR where bodyLimitExceeded, CURLE_FILESIZE_EXCEEDED:
            return .failure(
                HTTPError(.bodyTooLarge, "response body exceeds the limit of \(limit); raise the body size limit or make the response smaller", timings: timings))
        case CURLE_COULDNT_CONNECT:
            return .failure(HTTPError(.connectionFailed, "connection failed: \(detail)", timings: timings))
        case CURLE_COULDNT_RESOLVE_HOST:
            return .failure(HTTPError(.nameResolution, "cannot resolve host: \(detail)", timings: timings))
        case CURLE_PEER_FAILED_VERIFICATION:
            return .failure(
                HTTPError(
                    .tls, "TLS certificate verification failed: \(detail); give the CA that signed the server's certificate as ca_file (or set insecure_skip_verify for tests)",
                    timings: timings))
        case CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ENGINE_NOTFOUND,
            CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_CRL_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
            CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_SHUTDOWN_FAILED, CURLE_USE_SSL_FAILED:
            return .failure(HTTPError(.tls, "TLS failed: \(detail)", timings: timings))
        case CURLE_TOO_MANY_REDIRECTS:
            return .failure(HTTPError(.tooManyRedirects, "more than \(request.maxRedirects) redirects: \(detail)", timings: timings))
        case CURLE_BAD_CONTENT_ENCODING:
            return .failure(HTTPError(.badContentEncoding, "the response body is not valid gzip: \(detail)", timings: timings))
        case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT:
            return .failure(HTTPError(.invalidRequest, "invalid URL (only http:// and https:// are supported): \(detail)", timings: timings))
        default:
            return .failure(HTTPError(.transport, "HTTP request failed: \(detail)", timings: timings))
        }
    }
}

/// libcurl's body callback: append, or stop the transfer at the body limit.
let curlWriteBody: agent_curl_data_callback = { pointer, size, count, userdata in
    guard let pointer, let userdata else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
    let n = size * count
    if transfer.body.count + n > transfer.request.bodyLimit {
        transfer.bodyLimitExceeded = true
        return 0
    }
    transfer.body.append(contentsOf: UnsafeRawBufferPointer(start: pointer, count: n))
    return n
}

/// libcurl's header callback: one header line per call; a status line starts a new response.
let curlWriteHeader: agent_curl_data_callback = { pointer, size, count, userdata in
    guard let pointer, let userdata else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
    let n = size * count
    let line = UnsafeRawBufferPointer(start: pointer, count: n)
    if line.starts(with: "HTTP/".utf8) {
        transfer.headers.removeAll(keepingCapacity: true)
    } else if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
        let name = String(decoding: line[..<colon], as: UTF8.self)
        var value = Substring(String(decoding: line[(colon + 1)...], as: UTF8.self))
        while let c = value.first, c == " " || c == "\t" { value.removeFirst() }
        while let c = value.last, c == " " || c == "\t" || c == "\r\n" || c == "\n" || c == "\r" { value.removeLast() }
        if transfer.headers.count < 256 { transfer.headers.append(HTTPHeader(name, String(value))) }
    }
    return n
}

/// `16 MiB`, `512 KiB`, `1000 bytes`: a size as a person writes it.
func formatByteCount(_ bytes: Int) -> String {
    if bytes >= 1 << 20 && bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
    if bytes >= 1 << 10 && bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
    return "\(bytes) bytes"
}

/// `5s`, `250ms`, `1.5s`.
func formatMilliseconds(_ ms: Int) -> String {
    if ms % 1000 == 0 { return "\(ms / 1000)s" }
    if ms > 1000 { return "\(Double(ms) / 1000)s" }
    return "\(ms)ms"
}
