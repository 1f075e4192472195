import JSON
/// A rendered request body, before secrets and signatures are added at send time.
public struct Payload: Sendable, Equatable {
    public var body: [UInt8]
    public var contentType: String
    /// Query parameters appended to the URL at send time (Google Chat's `messageReplyOption`).
    public var query: [String: String]

    public init(body: [UInt8], contentType: String = "application/json", query: [String: String] = [:]) {
        self.body = body
        self.contentType = contentType
        self.query = query
    }
}

/// Renders notifications into one service's payload, within that service's documented limits.
///
/// Pure: no I/O, no clock, no secrets (secrets that belong in the body, such as PagerDuty's
/// routing key, are spliced in at send time through `Integration.finalBody`).
public protocol PayloadBuilder: Sendable {
    /// The service name as written in configuration (`slack`, `pagerduty`, …).
    var kind: String { get }
    /// The body for one notification.
    func payload(for notification: AlertNotification) -> Payload
}

/// Where an HTTP integration sends, and how it signs.
public struct Endpoint: Sendable {
    /// The URL, usually with a token in it: a secret.
    public var url: Secret
    /// Extra headers sent with every request (not secrets).
    public var headers: [(name: String, value: String)]
    /// When set, `X-Signature-256: sha256=<HMAC-SHA256 of the body>` is added.
    public var hmacSecret: Secret?
    /// Whole-exchange deadline of one attempt.
    public var timeout: Duration

    public init(url: Secret, headers: [(name: String, value: String)] = [], hmacSecret: Secret? = nil, timeout: Duration = .seconds(10)) {
        self.url = url
        self.headers = headers
        self.hmacSecret = hmacSecret
        self.timeout = timeout
    }
}

/// One way a receiver is reached: a payload builder and a destination.
///
/// A receiver (a name in the routing tree) has one or more integrations (Slack and PagerDuty,
/// say); each notification becomes one outbox entry per integration, delivered independently.
public struct Integration: Sendable {
    public enum Destination: Sendable {
        case http(Endpoint)
        /// Appends one line per notification to a file.
        case file(path: String)
        /// Writes one line per notification to standard output.
        case stdout
    }

    public var receiver: String
    /// Position among the receiver's integrations; with `kind`, identifies it across restarts.
    public var index: Int
    public var builder: any PayloadBuilder
    public var destination: Destination
    /// Send notifications that only resolve alerts (and resolved alerts within others).
    public var sendResolved: Bool
    /// A secret spliced into the body at send time: the first occurrence of `placeholder` in the
    /// body is replaced by the secret's JSON-escaped value (PagerDuty's `routing_key`, which its
    /// builder writes first). Keeps secrets out of the outbox files.
    public var bodySecret: (placeholder: String, secret: Secret)?

    public init(
        receiver: String, index: Int, builder: any PayloadBuilder, destination: Destination, sendResolved: Bool = true,
        bodySecret: (placeholder: String, secret: Secret)? = nil
    ) {
        self.receiver = receiver
        self.index = index
        self.builder = builder
        self.destination = destination
        self.sendResolved = sendResolved
        self.bodySecret = bodySecret
    }

    public var kind: String { builder.kind }

    /// `receiver/kind[index]`, for logs and metrics.
    public var name: String { "\(receiver)/\(kind)[\(index)]" }

    /// The body with `bodySecret` filled in.
    func finalBody(_ body: [UInt8]) throws(SecretError) -> [UInt8] {
        guard let (placeholder, secret) = bodySecret else { return body }
        let value = try secret.resolve()
        var escaped: [UInt8] = []
        JSON.writeString(value, into: &escaped, escapeHTML: false)
        escaped.removeFirst()
        escaped.removeLast()
        return body.replacingFirst(Array(placeholder.utf8), with: escaped)
    }
}

extension Array where Element == UInt8 {
    /// A copy with the first occurrence of `pattern` replaced. Only the first: the builder puts
    /// the placeholder first in the body, so text from labels can never receive the secret.
    func replacingFirst(_ pattern: [UInt8], with replacement: [UInt8]) -> [UInt8] {
        guard !pattern.isEmpty, count >= pattern.count else { return self }
        for i in 0...(count - pattern.count) where self[i] == pattern[0] && self[i..<(i + pattern.count)].elementsEqual(pattern) {
            return Array(self[..<i]) + replacement + Array(self[(i + pattern.count)...])
        }
        return self
    }
}
