/// Where the time of one exchange went, as libcurl measures it from the start of the request.
public struct HTTPTimings: Sendable, Hashable {
    /// Name resolution done.
    public var nameLookup: Duration
    /// TCP connection established (zero-length when a connection was reused).
    public var connect: Duration
    /// TLS handshake done (zero for plain HTTP).
    public var tlsHandshake: Duration
    /// First response byte received.
    public var firstByte: Duration
    /// The whole exchange, redirects included.
    public var total: Duration

    public init(nameLookup: Duration = .zero, connect: Duration = .zero, tlsHandshake: Duration = .zero, firstByte: Duration = .zero, total: Duration = .zero) {
        self.nameLookup = nameLookup
        self.connect = connect
        self.tlsHandshake = tlsHandshake
        self.firstByte = firstByte
        self.total = total
    }
}

/// A completed exchange: whatever the status, the server answered.
public struct HTTPResponse: Sendable {
    /// The status code of the final response (after redirects).
    public var status: Int
    /// Headers of the final response, in order.
    public var headers: [HTTPHeader]
    /// The body, decompressed.
    public var body: [UInt8]
    public var timings: HTTPTimings
    /// Redirects followed.
    public var redirects: Int
    /// The URL that answered last.
    public var effectiveURL: String

    public init(status: Int, headers: [HTTPHeader] = [], body: [UInt8] = [], timings: HTTPTimings = HTTPTimings(), redirects: Int = 0, effectiveURL: String = "") {
        self.status = status
        self.headers = headers
        self.body = body
        self.timings = timings
        self.redirects = redirects
        self.effectiveURL = effectiveURL
    }

    /// The value of the first header called `name` (case-insensitive), or nil.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }

    /// `"200 OK"`-style text for a status code, for error messages.
    public static func statusText(_ status: Int) -> String {
        let reasons: [Int: String] = [
            200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 301: "Moved Permanently", 302: "Found",
            304: "Not Modified", 307: "Temporary Redirect", 308: "Permanent Redirect", 400: "Bad Request",
            401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout",
            429: "Too Many Requests", 500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway",
            503: "Service Unavailable", 504: "Gateway Timeout",
        ]
        return reasons[status].map { "\(status) \($0)" } ?? "\(status)"
    }
}
