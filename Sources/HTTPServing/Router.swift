import Synchronization

/// Where a handler runs, so that cheap answers never wait behind expensive ones.
public enum Lane: Sendable {
    /// On the server's event loop itself: only for answers that take no lock held by others for
    /// long (`/-/healthy`, `/-/ready`); they are answered even while every worker is busy.
    case loop
    /// On the general workers: short work under the owners' locks (`/metrics`, status, silences).
    case general
    /// On the query workers: a bounded number at once (`HTTPServer.Configuration.maxConcurrentQueries`),
    /// each with a deadline (`queryTimeout`) and cancelled when its client goes away.
    case query
}

/// Set when the client of a request has gone away or the server stops; long handlers check it.
public final class Cancellation: Sendable {
    private let flag = Atomic(false)
    public init() {}
    public var isCancelled: Bool { flag.load(ordering: .relaxed) }
    public func cancel() { flag.store(true, ordering: .relaxed) }
}

/// A request as a handler sees it: the parsed request, the path parameters its route captured,
/// and, on the query lane, its deadline and cancellation.
public struct Request: Sendable {
    public var http: HTTPRequest
    /// Values of the route's `{name}` segments, percent-decoded.
    public var pathParameters: [String: String]
    /// Monotonic nanoseconds (`Monotonic.now()`) after which the handler should give up; nil when unbounded.
    public var deadline: UInt64?
    /// Cancelled when the client disconnects.
    public var cancellation: Cancellation

    public init(http: HTTPRequest, pathParameters: [String: String] = [:], deadline: UInt64? = nil, cancellation: Cancellation = Cancellation()) {
        self.http = http
        self.pathParameters = pathParameters
        self.deadline = deadline
        self.cancellation = cancellation
    }

    public var method: String { http.method }
    public var path: String { http.path }

    /// The form as Go's `Request.ParseForm` builds it: the body's pairs (for a POST, PUT or PATCH
    /// with `Content-Type: application/x-www-form-urlencoded`) first, then the URL query's.
    public func form() throws(FormError) -> FormValues {
        var values = FormValues()
        if ["POST", "PUT", "PATCH"].contains(http.method), let type = http.headers["content-type"],
           type.split(separator: ";", maxSplits: 1)[0].trimmingSpaces.lowercased() == "application/x-www-form-urlencoded" {
            values = try FormValues(parsing: String(decoding: http.body, as: UTF8.self))
        }
        values.append(contentsOf: try FormValues(parsing: http.query))
        return values
    }
}

/// A handler: validates its input first, then answers.
public typealias Handler = @Sendable (Request) -> HTTPResponse

/// A path such as `/api/v1/label/{name}/values`: literal segments and `{name}` captures (one
/// non-empty segment each).
public struct PathPattern: Sendable, CustomStringConvertible {
    enum Segment: Sendable, Equatable { case literal(String), parameter(String) }
    let segments: [Segment]
    public let description: String

    public init(_ pattern: String) {
        precondition(pattern.hasPrefix("/"), "a path pattern starts with /: \(pattern)")
        description = pattern
        segments = pattern.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { s in
            s.hasPrefix("{") && s.hasSuffix("}") ? .parameter(String(s.dropFirst().dropLast())) : .literal(String(s))
        }
    }

    /// The captured (still encoded) parameters when `path` matches.
    func match(_ path: [Substring]) -> [String: Substring]? {
        guard path.count == segments.count else { return nil }
        var captured: [String: Substring] = [:]
        for (segment, part) in zip(segments, path) {
            switch segment {
            case .literal(let l): guard part == l || FormValues.unescapePath(part) == l else { return nil }
            case .parameter(let name):
                guard !part.isEmpty else { return nil }
                captured[name] = part
            }
        }
        return captured
    }
}

/// One endpoint: methods, path pattern, lane and handler (one line each in a route table).
public struct Route: Sendable {
    public let methods: [String]
    public let pattern: PathPattern
    public let lane: Lane
    public let handler: Handler

    /// `Route(["GET", "POST"], "/api/v1/query", .query, handler)`; a GET route answers HEAD too.
    public init(_ methods: [String], _ pattern: String, _ lane: Lane = .general, _ handler: @escaping Handler) {
        self.methods = methods
        self.pattern = PathPattern(pattern)
        self.lane = lane
        self.handler = handler
    }

    /// A route for one method.
    public init(_ method: String, _ pattern: String, _ lane: Lane = .general, _ handler: @escaping Handler) {
        self.init([method], pattern, lane, handler)
    }

    func allows(_ method: String) -> Bool { methods.contains(method) || (method == "HEAD" && methods.contains("GET")) }
}

/// Finds the route of a request: 404 when no pattern matches its path, 405 (with `Allow`) when
/// patterns match but not for its method, 400 when a path parameter is not valid percent-encoding.
/// The answers for those come from `fallback`, so an API can give them its own shape.
public struct Router: Sendable {
    /// The answer when routing fails: the request, the status (400, 404, 405) and the methods the
    /// path allows (for 405).
    public typealias Fallback = @Sendable (_ request: HTTPRequest, _ status: Int, _ allowed: [String]) -> HTTPResponse

    public let routes: [Route]
    let fallback: Fallback

    public init(_ routes: [Route], fallback: @escaping Fallback = Router.plainFallback) {
        var seen = Set<String>()
        for r in routes {
            for m in r.methods { precondition(seen.insert("\(m) \(r.pattern)").inserted, "route defined twice: \(m) \(r.pattern)") }
        }
        self.routes = routes
        self.fallback = fallback
    }

    /// Plain-text answers for 400, 404 and 405.
    public static let plainFallback: Fallback = { request, status, allowed in
        switch status {
        case 405:
            var r = HTTPResponse.text(405, "method \(request.method) not allowed for \(request.path)\n")
            r.headers.add("allow", allowed.joined(separator: ", "))
            return r
        case 400: return .text(400, "malformed path: \(request.path)\n")
        default: return .text(404, "not found: \(request.path)\n")
        }
    }

    /// What to run for `request`: its lane and a closure producing the answer.
    public func resolve(_ request: HTTPRequest) -> (lane: Lane, run: @Sendable (_ deadline: UInt64?, _ cancellation: Cancellation) -> HTTPResponse) {
        let parts = request.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        let path = Array(parts)
        var allowed: [String] = []
        for route in routes {
            guard let captured = route.pattern.match(path) else { continue }
            guard route.allows(request.method) else {
                allowed += route.methods
                continue
            }
            var parameters: [String: String] = [:]
            for (name, raw) in captured {
                guard let value = FormValues.unescapePath(raw) else {
                    let fallback = fallback
                    return (.loop, { _, _ in fallback(request, 400, []) })
                }
                parameters[name] = value
            }
            let handler = route.handler
            let decoded = parameters
            return (route.lane, { deadline, cancellation in
                handler(Request(http: request, pathParameters: decoded, deadline: deadline, cancellation: cancellation))
            })
        }
        let fallback = fallback
        if !allowed.isEmpty {
            if allowed.contains("GET") && !allowed.contains("HEAD") { allowed.append("HEAD") }
            let methods = allowed
            return (.loop, { _, _ in fallback(request, 405, methods) })
        }
        return (.loop, { _, _ in fallback(request, 404, []) })
    }
}
