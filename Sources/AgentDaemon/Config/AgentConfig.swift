import Alerting
import AgentClient
public import TimeSeries
public import Ingest
public import RemoteWrite
public import HTTPServing
import YAMLSupport
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The agent's configuration file: the user's contract (keys of DESIGN.md, extended, never renamed).
public struct AgentConfig: Sendable {
    /// Storage, intervals and identity.
    public var global = GlobalConfig()
    /// Where the API listens.
    public var listen = ListenConfig()
    /// Globs of rule files (relative ones are relative to the configuration file's folder).
    public var ruleFiles: [String] = []
    /// Globs of gate files (`gate_files:`, relative like `rule_files:`): rollout gates for `agent gate`.
    public var gateFiles: [String] = []
    /// The targets to scrape (`scrape:`).
    public var scrape: [ScrapeTarget] = []
    /// The logs to tail (`logs:`).
    public var logs: [LogMapping] = []
    /// The folder relative rule-file globs are read from.
    public var baseDirectory: String {
        guard source.hasPrefix("/") || source.contains("/") else { return FileManager.default.currentDirectoryPath }
        return String(source[..<source.lastIndex(of: "/")!])
    }
    /// Where every stored series is sent with Prometheus remote write (`remote_write:`).
    public var remoteWrite: [RemoteWriteEndpoint] = []
    /// Routing, inhibition, receivers and the outbox (`notify:`).
    public var notify = NotifyConfig()
    /// The file this came from ("(built-in default)" for the default).
    public var source: String = "(built-in default)"

    public init() {}

    static let topLevelKeys = ["global", "listen", "scrape", "logs", "rule_files", "gate_files", "notify", "remote_write"]

    /// Loads and validates a configuration file; throws every problem found, with positions.
    public static func load(path: String) throws -> AgentConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigErrors([ConfigError(file: path, line: 1, column: 1, message: "cannot read the file: \(RuleFile.describe(error))")])
        }
        return try parse(text, file: path)
    }

    /// Parses and validates configuration text.
    public static func parse(_ text: String, file: String) throws -> AgentConfig {
        var reader = YAMLReader(file: file)
        var config = AgentConfig()
        config.source = file
        let root = reader.parse(text)
        var logsErrors: [ConfigError] = []
        let empty = root.map(isEmptyDocument) ?? false
        if let root, empty {
            // As Alertmanager refuses a file without a route: applied, an empty file (a truncated
            // write, a template that rendered nothing) would silently drop every rule, log and target.
            reader.error(nil, "the configuration is empty (no top-level keys); it would drop every rule, log and target. "
                + "Write at least one key (e.g. \"global: {}\" to run on the defaults)")
        } else if let root, let top = reader.mapping(root, "configuration", known: topLevelKeys) {
            if let node = top["global"] { config.global.read(node, &reader) }
            if let node = top["listen"] { config.listen.read(node, &reader) }
            if let node = top["scrape"] { config.scrape = ScrapeConfig.read(node, global: config.global, &reader) }
            if let node = top["rule_files"], let files = reader.strings(node, "rule_files") { config.ruleFiles = files }
            if let node = top["gate_files"], let files = reader.strings(node, "gate_files") { config.gateFiles = files }
            if let node = top["notify"] { config.notify.read(node, &reader) }
            if let node = top["remote_write"] { config.remoteWrite = RemoteWriteConfig.read(node, &reader) }
            if let node = top["logs"] {
                do { config.logs = try LogsConfig.decode(logs: node, file: file) } catch { logsErrors = error.problems }
            }
        }
        let errors = reader.errors + logsErrors
        guard errors.isEmpty else { throw ConfigErrors(errors.sorted { ($0.line, $0.column) < ($1.line, $1.column) }) }
        return config
    }
}

/// True for a document that yields no configuration at all: nothing but whitespace and comments,
/// `{}`, or a null document (`~`, `null`, a bare `---`).
private func isEmptyDocument(_ root: Node) -> Bool {
    switch root {
    case .mapping(let m): m.isEmpty
    case .scalar: root.null != nil || root.string == ""
    default: false
    }
}

/// `global:` — storage shape, intervals, identity.
public struct GlobalConfig: Sendable {
    /// The store's shape and limits (resolution, retention, tiers, series limit, sketch accuracy).
    public var store = StoreConfig()
    public var scrapeInterval: Milliseconds = 15_000
    public var scrapeTimeout: Milliseconds = 10_000
    public var evaluationInterval: Milliseconds = 15_000
    /// How often the state is checkpointed (and always on shutdown).
    public var checkpointInterval: Milliseconds = 30_000
    /// Where checkpoints, the outbox and silences live (systemd's StateDirectory).
    public var stateDir = "/var/lib/agent"
    /// Labels added to every alert and to federated series.
    public var externalLabels: [String: String] = [:]
    /// How often the configuration and rule files are checked for changes (a change reloads as
    /// SIGHUP does); 0 turns the check off.
    public var reloadCheckInterval: Milliseconds = 5_000

    public init() {}

    static let keys = ["resolution", "retention", "tiers", "scrape_interval", "scrape_timeout", "evaluation_interval",
                       "series_limit", "series_expiry", "sketch_accuracy", "sketch_max_buckets", "checkpoint_interval",
                       "state_dir", "external_labels", "reload_check_interval"]

    mutating func read(_ node: Node, _ r: inout YAMLReader) {
        guard let m = r.mapping(node, "global", known: GlobalConfig.keys) else { return }
        if let n = m["resolution"], let v = r.duration(n, "global.resolution", minimum: 1000) { store.resolution = v }
        if let n = m["retention"], let v = r.duration(n, "global.retention", minimum: 1000) { store.retention = v }
        if let n = m["tiers"], let items = r.sequence(n, "global.tiers") {
            store.tiers = []
            for item in items {
                guard let t = r.mapping(item, "global.tiers item", known: ["resolution", "retention"]) else { continue }
                guard let rn = t["resolution"], let tn = t["retention"] else {
                    r.error(item, "global.tiers item needs both resolution and retention")
                    continue
                }
                if let res = r.duration(rn, "tier resolution", minimum: 1000), let ret = r.duration(tn, "tier retention", minimum: 1000) {
                    store.tiers.append(.init(resolution: res, retention: ret))
                }
            }
        }
        if let n = m["series_limit"], let v = r.int(n, "global.series_limit", in: 1...10_000_000) { store.seriesLimit = v }
        if let n = m["series_expiry"], let v = r.duration(n, "global.series_expiry", minimum: 1000) { store.expireAfter = v }
        if let n = m["sketch_accuracy"], let v = r.double(n, "global.sketch_accuracy", in: 0.0001...0.2) { store.sketchAccuracy = v }
        if let n = m["sketch_max_buckets"], let v = r.int(n, "global.sketch_max_buckets", in: 16...65_536) { store.sketchMaxBuckets = v }
        if let n = m["scrape_interval"], let v = r.duration(n, "global.scrape_interval", minimum: 1000) { scrapeInterval = v }
        if let n = m["scrape_timeout"], let v = r.duration(n, "global.scrape_timeout", minimum: 100) { scrapeTimeout = v }
        if let n = m["evaluation_interval"], let v = r.duration(n, "global.evaluation_interval", minimum: 1000) { evaluationInterval = v }
        if let n = m["checkpoint_interval"], let v = r.duration(n, "global.checkpoint_interval", minimum: 1000) { checkpointInterval = v }
        if let n = m["state_dir"], let v = r.string(n, "global.state_dir") {
            if v.hasPrefix("/") { stateDir = v } else { r.error(n, "global.state_dir must be an absolute path, got \"\(v)\"") }
        }
        if let n = m["external_labels"], let v = r.stringMap(n, "global.external_labels") { externalLabels = v }
        if let n = m["reload_check_interval"], let v = r.duration(n, "global.reload_check_interval", minimum: 0) {
            if v == 0 || v >= 1000 { reloadCheckInterval = v } else { r.error(n, "global.reload_check_interval must be 0s (off) or at least 1s, got \(v)ms") }
        }
        for problem in store.problems() { r.error(node, "global: \(problem)") }
    }
}

/// `listen:` — the control API's Unix socket and the optional loopback HTTP listener.
public struct ListenConfig: Sendable {
    /// The CLI's socket (HTTP over a Unix socket, mode 0660).
    public var socket = ControlClient.defaultSocket
    /// `host:port` for /metrics and the Prometheus-compatible API; nil disables it.
    public var http: String? = "127.0.0.1:9464"
    /// What /metrics exposes: the agent's own metrics, or every stored series too.
    public var expose: Exposure = .selfOnly
    /// Most open connections over both listeners (Prometheus's `--web.max-connections`).
    public var maxConnections = 512
    /// Time limit of one query (Prometheus's `--query.timeout`).
    public var queryTimeout: Milliseconds = 120_000
    /// Queries run at once (Prometheus's `--query.max-concurrency`).
    public var queryMaxConcurrency = 20
    /// How long a kept-alive connection may wait for its next request.
    public var idleTimeout: Milliseconds = 60_000
    /// How long a request's head (request line and header fields) may take to arrive.
    public var readHeaderTimeout: Milliseconds = 10_000
    /// Whether `POST /-/reload` reloads (Prometheus's `--web.enable-lifecycle`); refused with 403 otherwise.
    public var enableLifecycle = false

    /// The HTTP server's bounds from these settings (see `HTTPServer.Configuration`).
    public var serverConfiguration: HTTPServer.Configuration {
        var c = HTTPServer.Configuration()
        c.maxConnections = maxConnections
        c.queryTimeout = queryTimeout
        c.maxConcurrentQueries = queryMaxConcurrency
        c.idleTimeout = idleTimeout
        c.headerTimeout = readHeaderTimeout
        return c
    }

    /// What /metrics exposes.
    public enum Exposure: String, Sendable { case selfOnly = "self", all }

    public init() {}

    mutating func read(_ node: Node, _ r: inout YAMLReader) {
        guard let m = r.mapping(node, "listen", known: ["socket", "http", "expose", "max_connections", "query_timeout", "query_max_concurrency",
                                                        "idle_timeout", "read_header_timeout", "enable_lifecycle"]) else { return }
        if let n = m["enable_lifecycle"], let v = r.bool(n, "listen.enable_lifecycle") { enableLifecycle = v }
        if let n = m["max_connections"], let v = r.int(n, "listen.max_connections", in: 1...65_536) { maxConnections = v }
        if let n = m["query_timeout"], let v = r.duration(n, "listen.query_timeout", minimum: 1) { queryTimeout = v }
        if let n = m["query_max_concurrency"], let v = r.int(n, "listen.query_max_concurrency", in: 1...1024) { queryMaxConcurrency = v }
        if let n = m["idle_timeout"], let v = r.duration(n, "listen.idle_timeout", minimum: 1) { idleTimeout = v }
        if let n = m["read_header_timeout"], let v = r.duration(n, "listen.read_header_timeout", minimum: 1) { readHeaderTimeout = v }
        if let n = m["socket"], let v = r.string(n, "listen.socket") {
            if v.hasPrefix("/") && v.utf8.count < 108 { socket = v } else { r.error(n, "listen.socket must be an absolute path shorter than 108 bytes") }
        }
        if let n = m["http"] {
            if case .scalar = n, n.null != nil || n.string == "" {
                http = nil
            } else if let v = r.string(n, "listen.http") {
                if ListenConfig.hostPort(v) == nil { r.error(n, "listen.http must be host:port (e.g. 127.0.0.1:9464), got \"\(v)\"") } else { http = v }
            }
        }
        if let n = m["expose"], let v = r.string(n, "listen.expose") {
            if let e = Exposure(rawValue: v) { expose = e } else { r.error(n, "listen.expose must be \"self\" or \"all\", got \"\(v)\"") }
        }
    }

    /// Splits `host:port` (IPv6 in brackets); nil when malformed.
    public static func hostPort(_ text: String) -> (host: String, port: UInt16)? {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        guard let port = UInt16(text[text.index(after: colon)...]) else { return nil }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        return (host, port)
    }
}
