#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A secret (a webhook URL with its token, a routing key, an HMAC key) and where to read it.
///
/// Read at send time, so a rotated file is picked up by the next notification. `description`
/// never shows the value, and nothing in Notify logs a resolved secret.
public enum Secret: Sendable, Equatable, CustomStringConvertible {
    /// Written in the configuration itself (fine for a loopback webhook; avoid for tokens).
    case inline(String)
    /// The content of a file, whitespace trimmed (systemd credentials, Kubernetes secrets).
    case file(String)
    /// The value of an environment variable, whitespace trimmed.
    case environment(String)

    /// The secret's value; throws when the file cannot be read, the variable is unset, or it is empty.
    public func resolve() throws(SecretError) -> String {
        let value: String
        switch self {
        case .inline(let v): value = v
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw SecretError(message: "cannot read secret file \(path): check that it exists and the agent may read it")
            }
            value = String(decoding: data, as: UTF8.self)
        case .environment(let name):
            guard let v = ProcessInfo.processInfo.environment[name] else {
                throw SecretError(message: "environment variable \(name) is not set")
            }
            value = v
        }
        let trimmed = value.trimmingSpaces
        guard !trimmed.isEmpty else { throw SecretError(message: "\(self) is empty") }
        return trimmed
    }

    public var description: String {
        switch self {
        case .inline: "inline secret"
        case .file(let path): "secret file \(path)"
        case .environment(let name): "environment variable \(name)"
        }
    }
}

/// A secret that could not be read; names where it was looked for, never its value.
public struct SecretError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// URLs as they may appear in logs: scheme, host and port only; path and query (where webhook
/// tokens live) become `<redacted>`.
public enum RedactedURL {
    public static func string(_ url: String) -> String {
        guard let schemeEnd = url.firstRange(of: "://") else { return "<redacted>" }
        let rest = url[schemeEnd.upperBound...]
        var authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        let hasMore = authority.endIndex < rest.endIndex
        return String(url[..<schemeEnd.upperBound]) + authority + (hasMore ? "/<redacted>" : "")
    }
}
