/// One HTTP request a receiver sends.
public struct TransportRequest: Sendable {
    public var url: String
    public var method: String
    /// Headers in the order sent.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Whole-exchange deadline.
    public var timeout: Duration

    public init(url: String, method: String = "POST", headers: [(name: String, value: String)] = [], body: [UInt8], timeout: Duration) {
        self.url = url
        self.method = method
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }

    /// The value of the first header called `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }
}

/// What the receiver answered, whatever the status.
public struct TransportResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The value of the first header called `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }
}

/// Why there is no answer. Messages never contain the URL (it may carry a token).
public struct TransportError: Error, Sendable, CustomStringConvertible {
    /// Whether trying again later can help (a refused or timed-out connection can; a malformed URL cannot).
    public var retryable: Bool
    public var message: String

    public init(retryable: Bool, _ message: String) {
        self.retryable = retryable
        self.message = message
    }

    public var description: String { message }
}

/// Sends HTTP requests: the libcurl client in production, a double in tests.
///
/// `completion` is called exactly once, on any thread, and must not block.
public protocol Transport: Sendable {
    func send(_ request: TransportRequest, completion: @escaping @Sendable (Result<TransportResponse, TransportError>) -> Void)
}
