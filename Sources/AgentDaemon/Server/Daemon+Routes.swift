public import HTTPServing
import JSON

/// Every endpoint of the API, one line each: methods, path pattern, lane, handler. Handlers take
/// the request and its form (Go's `ParseForm`: body pairs, then URL pairs) and validate before
/// anything else; what they throw is answered in Prometheus's error shape.
///
/// Lanes (see `Lane`): queries run on the query workers with a deadline; everything that only
/// reads an owner's state under its lock runs on the general workers.
extension Daemon {
    public var apiRoutes: [Route] {
        [
            Route(["GET", "POST"], "/api/v1/query", .query, endpoint { try $0.instantQuery($1, $2) }),
            Route(["GET", "POST"], "/api/v1/query_range", .query, endpoint { try $0.rangeQuery($1, $2) }),
            Route(["GET", "POST"], "/api/v1/summary", .query, endpoint { try $0.summary($1, $2) }),
            Route("GET", "/api/v1/status", .general, endpoint { d, _, _ in .apiSuccess(d.statusDocument()) }),
            Route("GET", "/api/v1/alerts", .general, endpoint { d, _, _ in .apiSuccess(d.alertsDocument()) }),
            Route("GET", "/api/v1/silences", .general, endpoint { try $0.listSilences($1, $2) }),
            Route("POST", "/api/v1/silences", .general, endpoint { try $0.addSilence($1, $2) }),
            Route("POST", "/api/v1/silences/expire", .general, endpoint { try $0.expireSilence($1, $2) }),
            Route("GET", "/api/v1/gates", .general, endpoint { try $0.listGates($1, $2) }),
            Route("GET", "/api/v1/gates/{name}", .general, endpoint { try $0.gateRun($1, $2) }),
            Route("POST", "/api/v1/gates/{name}", .general, endpoint { try $0.startGate($1, $2) }),
        ]
    }

    /// A handler calling `body` with the daemon and the request's form; a thrown `APIError` becomes
    /// its JSON answer. Holds the daemon weakly (the server lives inside it).
    func endpoint(_ body: @escaping @Sendable (Daemon, Request, FormValues) throws -> HTTPResponse) -> Handler {
        { [weak self] request in
            guard let self else { return APIError(.unavailable, "the agent is stopping").response }
            do {
                return try body(self, request, try APIParameters.form(request))
            } catch let error as APIError {
                return error.response
            } catch {
                return APIError(.internal, "\(error)").response
            }
        }
    }
}
