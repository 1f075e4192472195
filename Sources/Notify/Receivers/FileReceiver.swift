import JSON
/// One JSON line per notification (to a file or standard output): Alertmanager's webhook message,
/// compact, plus `idempotencyKey` and `reason`. For `agent demo`, tests, and log shippers.
public struct FileReceiver: PayloadBuilder {
    public let kind: String

    /// `kind` is `file` or `stdout`, as configured.
    public init(kind: String = "file") { self.kind = kind }

    public func payload(for n: AlertNotification) -> Payload {
        guard case .object(var members) = WebhookReceiver().message(n) else { preconditionFailure() }
        members.append(("idempotencyKey", .string(n.idempotencyKey)))
        members.append(("reason", .string(n.reason.rawValue)))
        return Payload(body: JSON.object(members).encoded(newline: true), contentType: "application/x-ndjson")
    }
}
