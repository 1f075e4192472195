import FlyingFox
import Foundation
public import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The agent's HTTP listeners: the CLI's Unix socket (mode 0660) and, optionally, loopback TCP.
///
/// Both serve the same routes: `/-/healthy`, `/-/ready`, `/metrics`, `/api/v1/…`.
/// FlyingFox parses HTTP; each connection is a child task, so a slow client stalls nobody.
public final class APIServer: Sendable {
    let servers: [HTTPServer]
    let socketPath: String
    let logger: Logger
    private let stopping = Locked(false)

    /// Listeners for `socketPath` and, when given, `http` (`host:port`).
    public init(api: any ControlAPI, socketPath: String, http: (host: String, port: UInt16)?, logger: Logger) throws {
        self.socketPath = socketPath
        self.logger = logger
        let handler = APIHandler(api: api)
        var servers: [HTTPServer] = []
        // A socket left by a crashed run would make bind fail.
        unlink(socketPath)
        servers.append(HTTPServer(address: .unix(path: socketPath), timeout: 30, logger: .disabled, handler: handler))
        if let http {
            if http.host.contains(":") {
                servers.append(HTTPServer(address: try .inet6(ip6: http.host, port: http.port), timeout: 30, logger: .disabled, handler: handler))
            } else {
                let ip = http.host == "localhost" ? "127.0.0.1" : http.host
                servers.append(HTTPServer(address: try .inet(ip4: ip, port: http.port), timeout: 30, logger: .disabled, handler: handler))
            }
        }
        self.servers = servers
    }

    /// Starts every listener and returns once all listen; the socket is then made mode 0660.
    public func start() async throws {
        for server in servers {
            Task { [logger, stopping] in
                do { try await server.run() } catch is CancellationError {
                } catch where stopping.value {
                } catch { logger.error("listener stopped: \(error)") }
            }
        }
        for server in servers { try await server.waitUntilListening(timeout: 10) }
        chmod(socketPath, 0o660)
    }

    /// The TCP listener's port (useful when configured with port 0).
    public func tcpPort() async -> UInt16? {
        guard servers.count > 1, let address = await servers[1].listeningAddress else { return nil }
        switch address {
        case .ip4(_, let port), .ip6(_, let port): return port
        default: return nil
        }
    }

    /// Stops listening, letting requests in flight finish for up to `timeout` seconds.
    public func stop(timeout: Double = 1) async {
        stopping.withLock { $0 = true }
        await withTaskGroup(of: Void.self) { group in
            for server in servers { group.addTask { await server.stop(timeout: timeout) } }
        }
        unlink(socketPath)
    }
}

/// Routes requests to the `ControlAPI`.
struct APIHandler: HTTPHandler {
    let api: any ControlAPI

    func handleRequest(_ request: HTTPRequest) async throws -> HTTPResponse {
        switch request.path {
        case "/-/healthy":
            if let problem = api.healthProblem() { return text(503, "Not healthy: \(problem)\n") }
            return text(200, "Healthy.\n")
        case "/-/ready":
            return text(api.isReady() ? 200 : 503, api.isReady() ? "Ready.\n" : "Not ready.\n")
        case "/metrics":
            return HTTPResponse(statusCode: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: Data(api.metricsPage()))
        default:
            guard request.path.hasPrefix("/api/") else { return text(404, "Not found: \(request.path)\n") }
            var parameters: [String: String] = [:]
            for item in request.query { parameters[item.name] = item.value }
            let body = try await request.bodyData
            // Form-encoded POST parameters, as Prometheus's API accepts them.
            if request.method == .POST, request.headers[.contentType]?.hasPrefix("application/x-www-form-urlencoded") == true {
                for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
                    let kv = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0) }
                    if kv.count == 2 { parameters[kv[0]] = kv[1] }
                }
            }
            let response = await api.api(method: request.method.rawValue, path: request.path, parameters: parameters, body: body)
            return HTTPResponse(statusCode: HTTPStatusCode(response.status, phrase: ""), headers: [.contentType: response.contentType], body: response.body)
        }
    }

    func text(_ status: Int, _ body: String) -> HTTPResponse {
        HTTPResponse(statusCode: HTTPStatusCode(status, phrase: ""), headers: [.contentType: "text/plain; charset=utf-8"], body: Data(body.utf8))
    }
}
