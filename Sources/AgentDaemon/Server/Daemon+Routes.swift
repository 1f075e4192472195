import TextRendering
import AgentClient
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
            // Queries.
            Route(["GET", "POST"], "/api/v1/query", .query, endpoint { try $0.instantQuery($1, $2) }),
            Route(["GET", "POST"], "/api/v1/query_range", .query, endpoint { try $0.rangeQuery($1, $2) }),
            Route(["GET", "POST"], "/api/v1/summary", .query, endpoint { try $0.summary($1, $2) }),
            Route("GET", "/api/v1/status", .general, endpoint { d, _, _ in .apiSuccess(d.statusDocument()) }),
            // The rest of Prometheus's HTTP API (docs/api.md): series and metadata, rules and alerts,
            // targets, status, expressions, federation, the lifecycle.
            Route(["GET", "POST"], "/api/v1/labels", .query, endpoint { try $0.labelNames($1, $2) }),
            Route("GET", "/api/v1/label/{name}/values", .query, endpoint { try $0.labelValues($1, $2) }),
            Route(["GET", "POST"], "/api/v1/series", .query, endpoint { try $0.series($1, $2) }),
            Route("GET", "/api/v1/metadata", .general, endpoint { try $0.metricMetadata($1, $2) }),
            Route("GET", "/api/v1/rules", .general, endpoint { try $0.rulesDocument($1, $2) }),
            Route("GET", "/api/v1/alerts", .general, endpoint { d, _, _ in .apiSuccess(data: d.alertsDocument()) }),
            Route("GET", "/api/v1/scrape_pools", .general, endpoint { d, _, _ in .apiSuccess(data: d.scrapePoolsDocument()) }),
            Route("GET", "/api/v1/targets", .general, endpoint { try $0.targetsDocument($1, $2) }),
            Route("GET", "/api/v1/targets/metadata", .general, endpoint { try $0.targetMetadata($1, $2) }),
            Route("GET", "/api/v1/status/buildinfo", .general, endpoint { d, _, _ in .apiSuccess(data: d.buildInfo()) }),
            Route("GET", "/api/v1/status/runtimeinfo", .general, endpoint { d, _, _ in .apiSuccess(data: d.runtimeInfo()) }),
            Route("GET", "/api/v1/status/flags", .general, endpoint { d, _, _ in .apiSuccess(data: d.flagsDocument()) }),
            Route("GET", "/api/v1/status/config", .general, endpoint { d, _, _ in .apiSuccess(data: d.configDocument()) }),
            Route("GET", "/api/v1/status/tsdb", .query, endpoint { try $0.tsdbStatus($1, $2) }),
            Route(["GET", "POST"], "/api/v1/query_exemplars", .general, endpoint { try $0.queryExemplars($1, $2) }),
            Route(["GET", "POST"], "/api/v1/format_query", .general, endpoint { try $0.formatQuery($1, $2) }),
            Route(["GET", "POST"], "/api/v1/parse_query", .general, endpoint { try $0.parseQuery($1, $2) }),
            Route("GET", "/federate", .query, textRoute { $0.federate($1) }),
            Route(["POST", "PUT"], "/-/reload", .general, textRoute { $0.reloadEndpoint($1) }),
            // The agent's own: silences and rollout gates.
            Route("GET", "/api/v1/silences", .general, endpoint { try $0.listSilences($1, $2) }),
            Route("POST", "/api/v1/silences", .general, endpoint { try $0.addSilence($1, $2) }),
            Route("POST", "/api/v1/silences/expire", .general, endpoint { try $0.expireSilence($1, $2) }),
            Route("GET", "/api/v1/gates", .general, endpoint { try $0.listGates($1, $2) }),
            Route("GET", "/api/v1/gates/{name}", .general, endpoint { try $0.gateRun($1, $2) }),
            Route("POST", "/api/v1/gates/{name}", .general, endpoint { try $0.startGate($1, $2) }),
            // The web pages (read-only HTML, see Web/): the graph runs queries, so it has their lane and deadline.
            // `/`, the overview, is also what clients probe first (prometheus-api-client's
            // check_prometheus_connection wants a 200 there, as Prometheus answers it).
            Route("GET", "/", .general, page { d, _ in d.overviewPage() }),
            Route("GET", "/alerts", .general, page { d, _ in d.alertsPage() }),
            Route("GET", "/rules", .general, page { d, _ in d.rulesPage() }),
            Route("GET", "/targets", .general, page { d, _ in d.targetsPage() }),
            Route("GET", "/logs", .general, page { d, _ in d.logsPage() }),
            Route("GET", "/graph", .query, page { $0.graphPage($1) }),
            Route("GET", "/status", .general, page { d, _ in d.statusPage() }),
            Route("GET", "/static/app.css", .general) { WebAssets.css.response(to: $0) },
            Route("GET", "/static/app.js", .general) { WebAssets.js.response(to: $0) },
        ] + alertmanagerRoutes
    }

    /// A handler answering in its own format (text pages), holding the daemon weakly.
    func textRoute(_ body: @escaping @Sendable (Daemon, Request) -> HTTPResponse) -> Handler {
        { [weak self] request in
            guard let self else { return .text(503, "the agent is stopping\n") }
            return body(self, request)
        }
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
