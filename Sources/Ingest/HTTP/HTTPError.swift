/// Why an exchange produced no response, with what to do about it.
///
/// Messages never contain credentials; the URL is left to the caller, which knows which target or
/// receiver it was (a webhook URL is often a secret itself).
public struct HTTPError: Error, Sendable, CustomStringConvertible {
    /// The broad cause, for counting and for deciding whether to retry.
    public enum Kind: String, Sendable, Hashable {
        case timeout, connectionFailed, nameResolution, bodyTooLarge, tls, tooManyRedirects
        case badContentEncoding, invalidRequest, credentials, cancelled, transport
    }

    public var kind: Kind
    /// What happened and how to fix it.
    public var message: String
    /// Time spent before failing.
    public var timings: HTTPTimings

    public init(_ kind: Kind, _ message: String, timings: HTTPTimings = HTTPTimings()) {
        self.kind = kind
        self.message = message
        self.timings = timings
    }

    public var description: String { message }
}
