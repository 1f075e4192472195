/// One parsed HTTP/1.x request, body included (bounded by `RequestParser.Limits`).
public struct HTTPRequest: Sendable {
    /// The method token as sent (`GET`, `POST`, …; case-sensitive, as RFC 9110 says).
    public var method: String
    /// The path of the request target, still percent-encoded (`/api/v1/label/job/values`).
    public var path: String
    /// What follows `?` in the request target (without the `?`), still encoded; empty when none.
    public var query: String
    /// `HTTP/1.0` or `HTTP/1.1`: the minor version.
    public var minorVersion: Int
    /// The header fields in the order sent, names lower-cased.
    public var headers: HTTPHeaders
    /// The body, de-chunked.
    public var body: [UInt8]

    public init(method: String, path: String, query: String = "", minorVersion: Int = 1, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.method = method
        self.path = path
        self.query = query
        self.minorVersion = minorVersion
        self.headers = headers
        self.body = body
    }

    /// Whether the connection stays open after the answer (HTTP/1.1 unless `Connection: close`;
    /// HTTP/1.0 only with `Connection: keep-alive`).
    public var keepAlive: Bool {
        var close = false, keep = false
        for value in headers.values(of: "connection") {
            for option in value.split(separator: ",") {
                let o = option.trimmingSpaces.lowercased()
                if o == "close" { close = true } else if o == "keep-alive" { keep = true }
            }
        }
        if close { return false }
        return minorVersion >= 1 || keep
    }
}

/// Header fields in order; names are lower-cased when parsed, so lookups compare exactly.
public struct HTTPHeaders: Sendable, Sequence {
    public private(set) var fields: [(name: String, value: String)] = []

    public init(_ fields: [(name: String, value: String)] = []) {
        self.fields = fields.map { ($0.name.lowercased(), $0.value) }
    }

    /// Appends a field (the name is lower-cased).
    public mutating func add(_ name: String, _ value: String) { fields.append((name.lowercased(), value)) }

    /// The first value of `name` (lower-case), if any.
    public subscript(name: String) -> String? { fields.first { $0.name == name }?.value }

    /// Every value of `name` (lower-case), in order.
    public func values(of name: String) -> [String] { fields.filter { $0.name == name }.map(\.value) }

    public var count: Int { fields.count }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }
}

extension Substring {
    /// Without leading and trailing spaces and tabs (HTTP's optional whitespace).
    var trimmingSpaces: Substring {
        let s = self
        guard let first = s.firstIndex(where: { $0 != " " && $0 != "\t" }) else { return s[s.endIndex...] }
        let last = s.lastIndex(where: { $0 != " " && $0 != "\t" })!
        return s[first...last]
    }
}
