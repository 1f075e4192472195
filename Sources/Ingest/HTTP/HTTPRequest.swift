/// One HTTP header: a name and its value.
public struct HTTPHeader: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// TLS settings of a request. Verification is on unless `insecureSkipVerify` says otherwise.
public struct TLSOptions: Sendable, Hashable {
    /// PEM file of the CA certificates to trust instead of the system's.
    public var caFile: String?
    /// PEM client certificate, for servers that ask for one.
    public var certFile: String?
    /// PEM private key of `certFile`.
    public var keyFile: String?
    /// Accept any server certificate and host name. For tests and broken setups only.
    public var insecureSkipVerify: Bool

    public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil, insecureSkipVerify: Bool = false) {
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
        self.insecureSkipVerify = insecureSkipVerify
    }
}

/// Credentials sent with a request, always read from a file at send time.
///
/// Files, not values: a secret never sits in a configuration file, on a command line or in a log,
/// and a rotated secret is picked up by the next request. `description` never shows the secret.
public enum HTTPAuthorization: Sendable, Hashable, CustomStringConvertible {
    /// HTTP basic authentication with the password read from `passwordFile`.
    case basic(username: String, passwordFile: String)
    /// `Authorization: Bearer <token>` with the token read from `tokenFile`.
    case bearer(tokenFile: String)

    public var description: String {
        switch self {
        case .basic(let username, let file): "basic auth as \(username) (password from \(file))"
        case .bearer(let file): "bearer token from \(file)"
        }
    }
}

/// A request for `HTTPClient`: what to send and the limits that bound the exchange.
public struct HTTPRequest: Sendable {
    /// `http://` or `https://` URL; other schemes are refused.
    public var url: String
    /// The method; a body makes `GET` a `POST`.
    public var method: String
    /// Extra headers, sent as given after the client's defaults (which they override).
    public var headers: [HTTPHeader]
    /// The request body, if any.
    public var body: [UInt8]?
    /// Whole-exchange deadline, in milliseconds.
    public var timeoutMilliseconds: Int
    /// Largest (decompressed) response body accepted; past it the request fails.
    public var bodyLimit: Int
    /// Redirects followed before failing; 0 returns the redirect response itself.
    public var maxRedirects: Int
    /// Ask for gzip and decompress it.
    public var acceptGzip: Bool
    public var tls: TLSOptions
    public var authorization: HTTPAuthorization?
    /// Expected body size, to size the buffer once (the scrape loop passes the previous size).
    public var bodySizeHint: Int

    /// 16 MiB, the default body limit.
    public static let defaultBodyLimit = 16 << 20

    public init(
        url: String, method: String = "GET", headers: [HTTPHeader] = [], body: [UInt8]? = nil,
        timeoutMilliseconds: Int = 10_000, bodyLimit: Int = HTTPRequest.defaultBodyLimit, maxRedirects: Int = 10,
        acceptGzip: Bool = true, tls: TLSOptions = TLSOptions(), authorization: HTTPAuthorization? = nil,
        bodySizeHint: Int = 0
    ) {
        self.url = url
        self.method = method
        self.headers = headers
        self.body = body
        self.timeoutMilliseconds = timeoutMilliseconds
        self.bodyLimit = bodyLimit
        self.maxRedirects = maxRedirects
        self.acceptGzip = acceptGzip
        self.tls = tls
        self.authorization = authorization
        self.bodySizeHint = bodySizeHint
    }
}
