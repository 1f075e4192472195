import JSON
public import HTTPServing
import TextRendering

/// What the HTTP listeners serve, implemented by the daemon. Every answer is a value computed under
/// its owner's lock; the server only moves bytes.
public protocol ControlAPI: Sendable {
    /// True while every loop of the agent makes progress (what the systemd watchdog goes by). Runs on
    /// the server's event loop: it must not block or wait for a lock that work (queries,
    /// checkpoints) holds for long.
    func isHealthy() -> Bool
    /// When not healthy: which loops are stuck, and for how long (the body of a 503 `/-/healthy`).
    func healthProblem() -> String?
    /// True once state is restored and every component has started. Runs on the event loop too.
    func isReady() -> Bool
    /// The /metrics page.
    func metricsPage() -> [UInt8]
    /// The endpoints under `/api/` (and any other page), one `Route` each; see `Daemon.apiRoutes`.
    var apiRoutes: [Route] { get }
}

/// Prometheus's API error types, each with its HTTP status (web/api/v1/api.go's `respondError`).
public enum APIErrorType: String, Sendable {
    case badData = "bad_data"
    case execution
    case timeout
    case canceled
    case `internal`
    case notFound = "not_found"
    /// Not Prometheus's: the feature is switched off in the configuration (409).
    case unavailable
    /// Not Prometheus's: the request conflicts with what is under way (409; a gate already running).
    case conflict

    /// The status Prometheus answers with.
    public var status: Int {
        switch self {
        case .badData: 400
        case .execution: 422
        case .timeout: 503
        case .canceled: 499
        case .internal: 500
        case .notFound: 404
        case .unavailable, .conflict: 409
        }
    }
}

/// An API error: Prometheus's type and message, thrown by a handler's validation.
public struct APIError: Error, Sendable, CustomStringConvertible {
    public var type: APIErrorType
    public var message: String

    public init(_ type: APIErrorType, _ message: String) {
        self.type = type
        self.message = message
    }

    /// `invalid parameter "time": …`, as Prometheus's `invalidParamError`.
    public static func invalidParameter(_ name: String, _ reason: String) -> APIError {
        APIError(.badData, "invalid parameter \(quotedGo(name)): \(reason)")
    }

    public var description: String { "\(type.rawValue): \(message)" }

    /// `{"status":"error","errorType":…,"error":…}` with the type's status.
    public var response: HTTPServing.HTTPResponse {
        var json = "{\"status\":\"error\",\"errorType\":"
        JSONString.append(type.rawValue, to: &json)
        json += ",\"error\":"
        JSONString.append(message, to: &json)
        json += "}"
        return HTTPResponse(status: type.status, contentType: "application/json", body: Array(json.utf8))
    }
}

extension HTTPResponse {
    /// `{"status":"success","data":<json>}` where `json` is already JSON text.
    static func apiSuccess(json data: String) -> HTTPResponse {
        HTTPResponse(status: 200, contentType: "application/json", body: Array(("{\"status\":\"success\",\"data\":" + data + "}").utf8))
    }

    /// `{"status":"success","data":…}` for a document tree (see `JSON.init(tree:)`).
    static func apiSuccess(_ data: Any) -> HTTPResponse {
        guard let value = JSON(tree: data) else {
            return APIError(.internal, "answer not representable as JSON").response
        }
        return apiSuccess(value)
    }

    /// `{"status":"success","data":…}`.
    static func apiSuccess(_ data: JSON) -> HTTPResponse {
        var body: [UInt8] = []
        body.reserveCapacity(256)
        body.append(contentsOf: #"{"data":"#.utf8)
        data.write(into: &body)
        body.append(contentsOf: #","status":"success"}"#.utf8)
        return HTTPResponse(status: 200, contentType: "application/json", body: body)
    }
}

/// Go's `%q` of a parameter value in error messages: quoted, with quotes, backslashes and controls escaped.
func quotedGo(_ s: String) -> String {
    var out = ""
    JSONString.append(s, to: &out)
    return out
}
