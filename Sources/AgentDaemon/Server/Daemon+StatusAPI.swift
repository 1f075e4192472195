import TextRendering
import JSON
import AgentClient
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import HTTPServing
import Notify
import Query
import TimeSeries

/// Prometheus's status endpoints in its shapes: `status/buildinfo`, `status/runtimeinfo`,
/// `status/flags` (the settings that stand for Prometheus's command-line flags, under their names),
/// `status/config` (the configuration in force, secrets redacted) and `status/tsdb` (cardinality),
/// and the lifecycle's `/-/reload`.
extension Daemon {
    /// `/api/v1/status/buildinfo`.
    func buildInfo() -> JSON {
        .object([("version", .string(AgentVersion.string)), ("revision", ""), ("branch", ""), ("buildUser", ""), ("buildDate", ""),
                 ("goVersion", .string(Self.compilerVersion))])
    }

    /// The compiler that built the agent, where Prometheus names its Go version.
    static var compilerVersion: String {
        #if compiler(>=6.3)
        "swift6.3"
        #elseif compiler(>=6.2)
        "swift6.2"
        #elseif compiler(>=6.1)
        "swift6.1"
        #else
        "swift6"
        #endif
    }

    /// `/api/v1/status/runtimeinfo` (Prometheus 3's fields; Go's runtime figures as their nearest
    /// equivalents: threads for goroutines, cores for GOMAXPROCS, no memory limit).
    func runtimeInfo() -> JSON {
        let reload = reloads.value
        return .object([
            ("startTime", .string(RFC3339.format(startedAt))),
            ("CWD", .string(FileManager.default.currentDirectoryPath)),
            ("hostname", .string(Self.hostname)),
            ("serverTime", .string(RFC3339.format(clock()))),
            ("reloadConfigSuccess", .bool(reload.lastSuccessful)),
            ("lastConfigTime", .string(RFC3339.format(reload.lastSuccessAt))),
            ("corruptionCount", .int(0)),
            ("goroutineCount", .int(Int64(ProcessStats.current().threads))),
            ("GOMAXPROCS", .int(Int64(ProcessInfo.processInfo.activeProcessorCount))),
            ("GOMEMLIMIT", .int(Int64.max)),
            ("GOGC", ""),
            ("GODEBUG", ""),
            ("storageRetention", .string(PromQL.formatDuration(longestRetention))),
        ])
    }

    /// How far back the store's coarsest ring reaches.
    var longestRetention: Milliseconds {
        ([config.global.store.retention] + config.global.store.tiers.map(\.retention)).max() ?? 0
    }

    /// `/api/v1/status/flags`: Prometheus's flag names for the settings the agent has, as strings.
    func flagsDocument() -> JSON {
        let current = running
        let flags: [(String, String)] = [
            ("config.file", current.source),
            ("query.lookback-delta", "5m"),
            ("query.max-concurrency", String(current.listen.queryMaxConcurrency)),
            ("query.timeout", PromQL.formatDuration(current.listen.queryTimeout)),
            ("storage.tsdb.path", config.global.stateDir),
            ("storage.tsdb.retention.time", PromQL.formatDuration(longestRetention)),
            ("web.enable-lifecycle", current.listen.enableLifecycle ? "true" : "false"),
            ("web.external-url", current.notify.externalURL),
            ("web.listen-address", config.listen.http ?? ""),
            ("web.max-connections", String(current.listen.maxConnections)),
        ]
        return .object(flags.map { ($0.0, .string($0.1)) })
    }

    /// `/api/v1/status/config`: `{"yaml": …}`, the configuration in force with every inline secret
    /// replaced by `<secret>` (see `AgentConfig.redactedYAML`).
    func configDocument() -> JSON {
        .object([("yaml", .string(running.redactedYAML()))])
    }

    /// `/api/v1/status/tsdb`: `limit` (default 10) entries of each cardinality list.
    func tsdbStatus(_ request: Request, _ form: FormValues) throws(APIError) -> HTTPServing.HTTPResponse {
        let limit = min(try APIParameters.positiveLimit(form, fallback: 10), Self.maxListedItems)
        var byName: [String: Int] = [:]
        var valuesByLabel: [String: Set<String>] = [:]
        var byPair: [String: Int] = [:]
        var newest: Timestamp = .min
        let count: Int = store.read { reader in
            let refs = reader.allSeries()
            for ref in refs {
                guard let labels = reader.labels(of: ref) else { continue }
                if let t = reader.latest(of: ref)?.timestamp { newest = max(newest, t) }
                for l in labels.labels {
                    if l.name == Labels.metricName { byName[l.value, default: 0] += 1 }
                    valuesByLabel[l.name, default: []].insert(l.value)
                    byPair["\(l.name)=\(l.value)", default: 0] += 1
                }
            }
            return refs.count
        }
        try Self.checkDeadline(request)
        func top(_ counts: [String: Int]) -> JSON {
            let sorted = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            return .array(sorted.prefix(limit).map { .object([("name", .string($0.key)), ("value", .int(Int64($0.value)))]) })
        }
        let now = clock()
        let head: JSON = .object([
            ("numSeries", .int(Int64(count))), ("numLabelPairs", .int(Int64(byPair.count))), ("chunkCount", .int(0)),
            ("minTime", .int(newest == .min ? 0 : now - longestRetention)), ("maxTime", .int(newest == .min ? 0 : newest)),
        ])
        return .apiSuccess(data: .object([
            ("headStats", head),
            ("seriesCountByMetricName", top(byName)),
            ("labelValueCountByLabelName", top(valuesByLabel.mapValues(\.count))),
            ("memoryInBytesByLabelName", top(valuesByLabel.mapValues { $0.reduce(0) { $0 + $1.utf8.count } })),
            ("seriesCountByLabelValuePair", top(byPair)),
        ]))
    }

    /// `POST /-/reload` (Prometheus's lifecycle API): refused with 403 unless
    /// `listen.enable_lifecycle` (Prometheus's `--web.enable-lifecycle`); otherwise the same reload
    /// as SIGHUP, answered once it is done: 200, or 500 with why the configuration was refused.
    func reloadEndpoint(_ request: Request) -> HTTPServing.HTTPResponse {
        guard running.listen.enableLifecycle else { return .text(403, "Lifecycle API is not enabled.") }
        guard !flags.stopping else { return .text(503, "the agent is stopping") }
        let failure: String? = queue.sync { requestReload(trigger: "POST /-/reload") }
        guard let failure else { return HTTPServing.HTTPResponse(status: 200, contentType: "text/plain; charset=utf-8", body: []) }
        return .text(500, "failed to reload config: \(failure)\n")
    }
}
