import HTTPServing
import Query
import TimeSeries

/// `/federate?match[]=…`: the `listen.expose: all` page (`federationPage`) cut to the series one
/// of the selectors matches, with Prometheus's federation semantics (`web/federate.go`): each
/// series' newest sample within the 5-minute lookback, stale ones left out, with its timestamp;
/// the external labels a series lacks added; and `instance=""` on series without an instance, so
/// that a Prometheus scraping with `honor_labels: true` keeps every series' own `job` and
/// `instance` (and adds none). Without `match[]` the page is empty, as Prometheus's. Served
/// whatever `listen.expose` says: it is an explicit request, like the query API.
extension Daemon {
    func federate(_ request: Request) -> HTTPServing.HTTPResponse {
        // Prometheus's federate answers a bad request in plain text, not the API's JSON.
        let sets: [[LabelMatcher]]
        do throws(APIError) {
            sets = try APIParameters.matcherSets(APIParameters.form(request).values(of: "match[]"))
        } catch {
            return .text(400, "\(error.message)\n")
        }
        let body = sets.isEmpty ? [] : federationPage(externalLabels: Labels(running.global.externalLabels), selecting: sets, blank: "instance")
        return HTTPServing.HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: body)
    }
}
