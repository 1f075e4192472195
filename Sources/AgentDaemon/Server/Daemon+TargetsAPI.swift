#if canImport(FoundationEssentials)
import TextRendering
import JSON
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import HTTPServing
import Ingest
import Notify
import Query
import TimeSeries

/// Prometheus's `/api/v1/targets` in its shape (`TargetDiscovery`): every configured target is an
/// active target with its health, last error, last scrape and its duration, labels, URLs and
/// intervals. The agent drops no targets (there is no service discovery to relabel away), so
/// `droppedTargets` is empty and `droppedTargetCounts` says 0 per scrape pool (job).
extension Daemon {
    /// `/api/v1/scrape_pools`: the jobs that have targets, in name order (`{"scrapePools": […]}`).
    func scrapePoolsDocument() -> JSON {
        let pools = Set((scrapes?.targetSnapshots() ?? []).map(\.target.job)).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        return .object([("scrapePools", .array(pools.map { .string($0) }))])
    }

    /// `/api/v1/targets`: `state` (`active`, `dropped`, `any`), `scrapePool`.
    func targetsDocument(_ request: Request, _ form: FormValues) throws(APIError) -> HTTPServing.HTTPResponse {
        // Prometheus reads these from the URL only.
        let query = (try? FormValues(parsing: request.http.query)) ?? FormValues()
        let state = (query["state"] ?? "").lowercased()
        let pool = query["scrapePool"] ?? ""
        let showActive = state == "" || state == "any" || state == "active"
        let showDropped = state == "" || state == "any" || state == "dropped"
        let snapshot = scrapes?.targetSnapshots() ?? []
        var active: [JSON] = []
        if showActive {
            // Pools in name order, targets in configuration order within each, as Prometheus.
            let ordered = snapshot.enumerated().sorted { ($0.element.target.job, $0.offset) < ($1.element.target.job, $1.offset) }.map(\.element)
            for t in ordered where pool.isEmpty || t.target.job == pool { active.append(targetJSON(t)) }
        }
        var members: [(String, JSON)] = [("activeTargets", .array(active)), ("droppedTargets", .array([]))]
        // Prometheus 3 writes null when dropped targets are not asked for (a nil map).
        let pools = Set(snapshot.map(\.target.job)).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        members.append(("droppedTargetCounts", showDropped ? .object(pools.map { ($0, .int(0)) }) : .null))
        return .apiSuccess(data: .object(members))
    }

    func targetJSON(_ t: ScrapeComponent.TargetSnapshot) -> JSON {
        let target = t.target
        let health: String
        if let report = t.lastReport { health = report.up ? "up" : "down" } else { health = "unknown" }
        return .object([
            ("discoveredLabels", Self.json(Self.discoveredLabels(target))),
            ("labels", Self.json(target.targetLabels)),
            ("scrapePool", .string(target.job)),
            ("scrapeUrl", .string(target.url)),
            ("globalUrl", .string(globalURL(target.url))),
            ("lastError", .string(t.lastReport?.error?.description ?? "")),
            ("lastScrape", .string(Self.goTime(t.lastReport?.timestamp))),
            ("lastScrapeDuration", .double(t.lastReport.map { Self.seconds($0.duration) } ?? 0)),
            ("health", .string(health)),
            ("scrapeInterval", .string(PromQL.formatDuration(target.interval))),
            ("scrapeTimeout", .string(PromQL.formatDuration(target.timeout))),
        ])
    }

    /// The labels Prometheus shows a static target with before relabeling: its address, scheme,
    /// path, job, intervals and static labels.
    static func discoveredLabels(_ target: ScrapeTarget) -> [(name: String, value: String)] {
        let components = URLComponents(string: target.url)
        var out: [(name: String, value: String)] = [
            ("__address__", ScrapeTarget.defaultInstance(of: target.url)),
            ("__metrics_path__", components?.percentEncodedPath ?? ""),
            ("__scheme__", components?.scheme ?? "http"),
            ("__scrape_interval__", PromQL.formatDuration(target.interval)),
            ("__scrape_timeout__", PromQL.formatDuration(target.timeout)),
            ("job", target.job),
        ]
        for (n, v) in target.labels where n != "job" && !n.hasPrefix("__") { out.append((n, v)) }
        return out
    }

    /// Prometheus's `getGlobalURL`: a target on this host is named by the host other machines know
    /// (the external URL's, else this machine's name); the agent's own port by the external URL.
    func globalURL(_ url: String) -> String {
        guard var components = URLComponents(string: url), let host = components.host,
              ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host) else { return url }
        let external = URLComponents(string: running.notify.externalURL)
        let ownPort = running.listen.http.flatMap(ListenConfig.hostPort)?.port
        if let port = components.port, let ownPort, port == Int(ownPort), let external, let externalHost = external.host {
            components.scheme = external.scheme
            components.host = externalHost
            components.port = external.port
        } else {
            components.host = external?.host ?? Self.hostname
        }
        return components.string ?? url
    }

    /// This machine's name (`gethostname`).
    static let hostname: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }()
}
