public import Foundation

/// What the HTTP API serves, implemented by the daemon. Every answer is a value computed under its
/// owner's lock; the server only moves bytes.
public protocol ControlAPI: Sendable {
    /// True while every loop of the agent makes progress (what the systemd watchdog goes by).
    func isHealthy() -> Bool
    /// When not healthy: which loops are stuck, and for how long (the body of a 503 `/-/healthy`).
    func healthProblem() -> String?
    /// True once state is restored and every component has started.
    func isReady() -> Bool
    /// The /metrics page.
    func metricsPage() -> [UInt8]
    /// A JSON API request (`/api/v1/...`): method, path, query parameters, body.
    func api(method: String, path: String, parameters: [String: String], body: Data) async -> APIResponse
}

/// An API answer: status code, content type and body.
public struct APIResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var body: Data

    public init(status: Int, contentType: String = "application/json", body: Data) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    /// `{"status":"success","data":…}` as Prometheus's HTTP API answers.
    public static func success(_ data: Any) -> APIResponse {
        json(200, ["status": "success", "data": data])
    }

    /// `{"status":"error","errorType":…,"error":…}` with an HTTP status.
    public static func error(_ status: Int, type: String, _ message: String) -> APIResponse {
        json(status, ["status": "error", "errorType": type, "error": message])
    }

    static func json(_ status: Int, _ object: Any) -> APIResponse {
        let body = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return APIResponse(status: status, body: body)
    }
}
