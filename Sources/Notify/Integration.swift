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
    /// Position among the receiver's integrations, as configured.
    public var index: Int
    /// Position among the receiver's integrations of the same kind: with `receiver` and `kind`,
    /// what identifies it across reloads and restarts (see `IntegrationIdentity`). Set by
    /// `Integration.numbered`, which the notifier applies to every list it is given.
    public var kindIndex: Int
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
        self.kindIndex = index
        self.builder = builder
        self.destination = destination
        self.sendResolved = sendResolved
        self.bodySecret = bodySecret
    }

    public var kind: String { builder.kind }

    /// `receiver/kind[kindIndex]`, for logs and metrics: the same after a reload that reorders
    /// the receiver's integrations of different kinds.
    public var name: String { "\(receiver)/\(kind)[\(kindIndex)]" }

    /// Who this integration is, as outbox entries remember it.
    public var identity: IntegrationIdentity {
        IntegrationIdentity(receiver: receiver, kind: kind, kindIndex: kindIndex, destination: destinationFingerprint)
    }

    /// A hash of where it sends: the kind and the *source* of the URL (the inline value, the
    /// file's path or the variable's name; a file's content is not read), or the file path. Lets
    /// entries follow an integration whose receiver was renamed or that moved among its kind.
    public var destinationFingerprint: UInt64 {
        var text = kind + "\u{0}"
        switch destination {
        case .http(let endpoint):
            switch endpoint.url {
            case .inline(let v): text += "inline\u{0}" + v
            case .file(let path): text += "file\u{0}" + path
            case .environment(let name): text += "env\u{0}" + name
            }
        case .file(let path): text += "path\u{0}" + path
        case .stdout: text += "stdout"
        }
        let digest = SHA256.hash(Array(text.utf8))
        return digest.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// The secret values it uses, as far as they can be read now (to redact them from what a
    /// service answers): the URL and its path, the body secret, the HMAC key.
    func secretValues() -> [String] {
        var out: [String] = []
        if case .http(let endpoint) = destination {
            if let url = try? endpoint.url.resolve() {
                out.append(url)
                if let scheme = url.firstRange(of: "://"), let slash = url[scheme.upperBound...].firstIndex(of: "/") {
                    let rest = url[slash...]
                    out.append(String(rest))
                    // Tokens travel as path segments or query values: each long one on its own.
                    out += rest.split(whereSeparator: { "/?&=#".contains($0) }).map(String.init).filter { $0.count >= 10 }
                }
            }
            if let key = try? endpoint.hmacSecret?.resolve() { out.append(key) }
        }
        if let value = try? bodySecret?.secret.resolve() { out.append(value) }
        // Longest first, so a URL is replaced whole before its path is looked for.
        return out.sorted { $0.count > $1.count }
    }

    /// The list with each integration's `kindIndex` counted in list order per receiver and kind.
    public static func numbered(_ list: [Integration]) -> [Integration] {
        var seen: [String: Int] = [:]
        return list.map { integration in
            var copy = integration
            let key = integration.receiver + "\u{0}" + integration.kind
            copy.kindIndex = seen[key, default: 0]
            seen[key] = copy.kindIndex + 1
            return copy
        }
    }

    /// Takes `resend` notifications: Alertmanager forwarding, whose alerts expire there unless
    /// re-sent. Every other integration follows `repeat_interval` only.
    public var resends: Bool { builder is AlertmanagerReceiver }

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

/// What an outbox entry remembers of the integration it was rendered for.
///
/// Identity is the receiver's name, the kind and the position among the receiver's integrations
/// of that kind (`chat/slack[0]`): reordering integrations of different kinds, or editing one
/// (its URL, timeout, options), keeps it. `destination` (see `Integration.destinationFingerprint`)
/// follows an integration that moved: see `IntegrationTable.resolve` for the order of the rules.
public struct IntegrationIdentity: Sendable, Hashable {
    public var receiver: String
    public var kind: String
    public var kindIndex: Int
    /// `Integration.destinationFingerprint`; 0 when unknown (entries of earlier versions).
    public var destination: UInt64

    public init(receiver: String, kind: String, kindIndex: Int, destination: UInt64 = 0) {
        self.receiver = receiver
        self.kind = kind
        self.kindIndex = kindIndex
        self.destination = destination
    }

    /// `receiver/kind[kindIndex]`, as `Integration.name`.
    public var id: String { "\(receiver)/\(kind)[\(kindIndex)]" }
}

/// The integrations in force, and how an entry finds its own among them.
struct IntegrationTable {
    let all: [Integration]
    let byID: [String: Integration]
    /// `destinationFingerprint` of each of `all`, computed once (a hash per entry queued otherwise).
    let destinations: [UInt64]

    init(_ list: [Integration]) {
        all = Integration.numbered(list)
        var byID: [String: Integration] = [:]
        for i in all { byID[i.name] = i }
        self.byID = byID
        destinations = all.map(\.destinationFingerprint)
    }

    /// The integration that now stands for `target`, in this order: the same receiver and kind
    /// with the same destination (two of a kind swapped); the same receiver, kind and position
    /// among its kind (an integration edited in place); for entries of earlier versions, the same
    /// receiver, kind and overall position; the one integration of that kind anywhere with the
    /// same destination (a receiver renamed). Nil: it was removed.
    func resolve(_ target: IntegrationIdentity, legacyIndex: Int? = nil) -> Integration? {
        let sameKind = all.indices.filter { all[$0].receiver == target.receiver && all[$0].kind == target.kind }
        if target.destination != 0 {
            let moved = sameKind.filter { destinations[$0] == target.destination }
            if let exact = moved.first(where: { all[$0].kindIndex == target.kindIndex }) ?? moved.first { return all[exact] }
        }
        if let legacyIndex {
            return sameKind.first { all[$0].index == legacyIndex }.map { all[$0] }
        }
        if let inPlace = sameKind.first(where: { all[$0].kindIndex == target.kindIndex }) { return all[inPlace] }
        if target.destination != 0 {
            let renamed = all.indices.filter { all[$0].kind == target.kind && destinations[$0] == target.destination }
            if renamed.count == 1 { return all[renamed[0]] }
        }
        return nil
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
