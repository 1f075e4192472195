public import HTTPServing
import JSON
public import Logging

/// The agent's HTTP listeners: the CLI's Unix socket (mode 0660) and, optionally, loopback TCP
/// (IPv4 or IPv6), both serving the same routes: `/-/healthy`, `/-/ready`, `/metrics`, and the
/// daemon's `apiRoutes`. The server itself is `HTTPServer` (bounds, timeouts, lanes: see there).
public final class APIServer: Sendable {
    let server: HTTPServer

    /// Listeners for `socketPath` and, when given, `http` (`host:port`), with `configuration`'s bounds.
    public init(api: any ControlAPI, socketPath: String, http: (host: String, port: UInt16)?,
                configuration: HTTPServer.Configuration = HTTPServer.Configuration(), logger: Logger) throws {
        var addresses: [ListenAddress] = [.unix(path: socketPath, mode: 0o660)]
        if let http { addresses.append(.tcp(host: http.host, port: http.port)) }
        server = HTTPServer(addresses: addresses, router: APIServer.router(api), configuration: configuration, logger: logger)
    }

    /// The routes of every listener: health and readiness on the loop itself (they take no lock a
    /// query holds, so they answer whatever runs), `/metrics` on the general lane, then the API's.
    static func router(_ api: any ControlAPI) -> Router {
        let fixed = [
            Route("GET", "/-/healthy", .loop) { _ in
                if let problem = api.healthProblem() { return .text(503, "Not healthy: \(problem)\n") }
                return .text(200, "Healthy.\n")
            },
            Route("GET", "/-/ready", .loop) { _ in
                api.isReady() ? .text(200, "Ready.\n") : .text(503, "Not ready.\n")
            },
            Route("GET", "/metrics", .general) { _ in
                HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: api.metricsPage())
            },
        ]
        return Router(fixed + api.apiRoutes) { request, status, allowed in
            // The API answers in its JSON shape; other paths in plain text.
            guard request.path.hasPrefix("/api/") else { return Router.plainFallback(request, status, allowed) }
            // Alertmanager's API answers errors as a JSON string.
            if request.path.hasPrefix("/api/v2/") {
                let message = switch status {
                case 405: "method \(request.method) not allowed for \(request.path)"
                case 400: "malformed path \(request.path)"
                default: "no such endpoint: \(request.method) \(request.path)"
                }
                var r = AlertmanagerAPIError(status, message).response
                if status == 405 { r.headers.add("allow", allowed.joined(separator: ", ")) }
                return r
            }
            switch status {
            case 405:
                var r = APIError(.badData, "method \(request.method) not allowed for \(request.path)").response
                r.status = 405
                r.headers.add("allow", allowed.joined(separator: ", "))
                return r
            case 400: return APIError(.badData, "malformed path \(request.path)").response
            default: return APIError(.notFound, "no such endpoint: \(request.method) \(request.path)").response
            }
        }
    }

    /// Starts every listener (the socket is mode 0660 before it accepts anything).
    public func start() async throws {
        try server.start()
    }

    /// The TCP listener's port (useful when configured with port 0).
    public func tcpPort() async -> UInt16? { server.tcpPort }

    /// True while the server's event loop turns (the API's part of the daemon's health).
    public func isAlive(within milliseconds: Int64 = 5_000) -> Bool { server.isAlive(within: milliseconds) }

    /// Monotonic nanoseconds of the event loop's last turn.
    public var lastLoopTick: UInt64 { server.lastLoopTick }

    /// What the server counted (connections, refusals, accept errors).
    public var stats: ServerStats { server.stats }

    /// Stops listening, letting answers in flight finish for up to `timeout` seconds.
    public func stop(timeout: Double = 1) async {
        server.stop(timeout: Int64(timeout * 1000))
    }
}
