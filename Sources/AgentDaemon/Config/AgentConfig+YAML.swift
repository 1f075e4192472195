import Ingest
import Notify
import Query
import RemoteWrite
import TimeSeries

/// The configuration in force as YAML, for `/api/v1/status/config` (Prometheus's `config.String()`):
/// rendered from what the agent holds, defaults included, under the file's keys.
///
/// Secrets: the agent reads most of them from files or the environment at use, and those
/// references (`*_file`, `*_env` and their paths) are shown. What is written inline is never
/// shown: a receiver's `url` (chat webhooks carry their token in it), HTTP header values (an
/// `Authorization` header) and HMAC secrets are `<secret>`, as Prometheus writes its `Secret` fields.
extension AgentConfig {
    /// The configuration as YAML with every inline secret replaced by `<secret>`.
    public func redactedYAML() -> String {
        var root: [(String, YAMLValue)] = [("global", global.yaml), ("listen", listen.yaml)]
        if !ruleFiles.isEmpty { root.append(("rule_files", .strings(ruleFiles))) }
        if !gateFiles.isEmpty { root.append(("gate_files", .strings(gateFiles))) }
        if !scrape.isEmpty { root.append(("scrape", .sequence(scrape.map(\.yaml)))) }
        if !logs.isEmpty { root.append(("logs", .sequence(logs.map(\.yaml)))) }
        if notify.route != nil || !notify.receivers.isEmpty { root.append(("notify", notify.yaml)) }
        if !remoteWrite.isEmpty { root.append(("remote_write", .sequence(remoteWrite.map(\.yaml)))) }
        var out = ""
        YAMLValue.mapping(root).write(into: &out, indent: 0)
        return out
    }
}

/// A YAML value for output: block mappings and sequences, scalars quoted when YAML would read them
/// as anything but the same string.
enum YAMLValue {
    case string(String)
    /// Written as is (numbers, booleans, durations).
    case plain(String)
    case mapping([(String, YAMLValue)])
    case sequence([YAMLValue])

    static let secret = YAMLValue.string("<secret>")
    static func strings(_ items: [String]) -> YAMLValue { .sequence(items.map { .string($0) }) }
    static func duration(_ ms: Milliseconds) -> YAMLValue { .plain(PromQL.formatDuration(ms)) }
    static func bool(_ b: Bool) -> YAMLValue { .plain(b ? "true" : "false") }
    static func int(_ n: Int) -> YAMLValue { .plain(String(n)) }
    static func map(_ d: [String: String]) -> YAMLValue { .mapping(d.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }) }

    var isEmptyCollection: Bool {
        switch self {
        case .mapping(let m): m.isEmpty
        case .sequence(let s): s.isEmpty
        default: false
        }
    }

    /// Appends this value as the value of a key (or sequence item) at `indent`.
    func write(into out: inout String, indent: Int) {
        let pad = String(repeating: " ", count: indent)
        switch self {
        case .mapping(let members):
            for (key, value) in members {
                out += pad + YAMLValue.quoted(key) + ":"
                value.writeAfterKey(into: &out, indent: indent)
            }
        case .sequence(let items):
            for item in items {
                switch item {
                case .mapping(let members) where !members.isEmpty:
                    // Written two deeper, then the first key's indentation becomes the dash.
                    var block = ""
                    item.write(into: &block, indent: indent + 2)
                    out += pad + "- " + block.dropFirst(indent + 2)
                default:
                    out += pad + "-"
                    item.writeAfterKey(into: &out, indent: indent)
                }
            }
        case .string, .plain:
            out += pad
            writeAfterKey(into: &out, indent: indent)
        }
    }

    private func writeAfterKey(into out: inout String, indent: Int) {
        switch self {
        case .string(let s): out += " " + YAMLValue.quoted(s) + "\n"
        case .plain(let s): out += " " + s + "\n"
        case .mapping(let m) where m.isEmpty: out += " {}\n"
        case .sequence(let s) where s.isEmpty: out += " []\n"
        default:
            out += "\n"
            write(into: &out, indent: indent + 2)
        }
    }

    /// `s` plain when YAML reads it back as this string, else double-quoted (JSON's escapes are
    /// YAML's too).
    static func quoted(_ s: String) -> String {
        let reserved: Set<String> = ["", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE",
                                     "yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "y", "n", "<<"]
        let safe = s.unicodeScalars.allSatisfy { c in
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || "_-./".unicodeScalars.contains(c)
        }
        let first = s.unicodeScalars.first
        let numberLike = Double(s) != nil || first == "." || first == "-"
        if safe && !reserved.contains(s) && !numberLike { return s }
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if c.value < 0x20 || c.value == 0x7F {
                    let hex = String(c.value, radix: 16)
                    out += "\\x" + (hex.count < 2 ? "0" : "") + hex
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        return out + "\""
    }
}

extension GlobalConfig {
    var yaml: YAMLValue {
        var m: [(String, YAMLValue)] = [
            ("resolution", .duration(store.resolution)), ("retention", .duration(store.retention)),
        ]
        if !store.tiers.isEmpty {
            m.append(("tiers", .sequence(store.tiers.map { .mapping([("resolution", .duration($0.resolution)), ("retention", .duration($0.retention))]) })))
        }
        m += [
            ("scrape_interval", .duration(scrapeInterval)), ("scrape_timeout", .duration(scrapeTimeout)),
            ("evaluation_interval", .duration(evaluationInterval)), ("series_limit", .int(store.seriesLimit)),
            ("checkpoint_interval", .duration(checkpointInterval)), ("state_dir", .string(stateDir)),
            ("reload_check_interval", .duration(reloadCheckInterval)), ("external_labels", .map(externalLabels)),
        ]
        return .mapping(m)
    }
}

extension ListenConfig {
    var yaml: YAMLValue {
        var m: [(String, YAMLValue)] = [("socket", .string(socket))]
        if let http { m.append(("http", .string(http))) }
        m += [
            ("expose", .string(expose.rawValue)), ("max_connections", .int(maxConnections)),
            ("query_timeout", .duration(queryTimeout)), ("query_max_concurrency", .int(queryMaxConcurrency)),
            ("idle_timeout", .duration(idleTimeout)), ("read_header_timeout", .duration(readHeaderTimeout)),
            ("enable_lifecycle", .bool(enableLifecycle)),
        ]
        return .mapping(m)
    }
}

extension ScrapeTarget {
    var yaml: YAMLValue {
        var m: [(String, YAMLValue)] = [
            ("job", .string(job)), ("targets", .strings([YAMLValue.redactingPassword(url)])), ("format", .string(format.rawValue)),
            ("scrape_interval", .duration(interval)), ("scrape_timeout", .duration(timeout)),
        ]
        if !labels.isEmpty { m.append(("labels", .map(labels))) }
        m += [("honor_labels", .bool(honorLabels)), ("honor_timestamps", .bool(honorTimestamps)),
              ("sample_limit", .int(limits.sampleLimit)), ("body_size_limit", .int(limits.bodySizeLimit))]
        if !metricRelabelConfigs.isEmpty { m.append(("metric_relabel_configs", .sequence(metricRelabelConfigs.map(\.yaml)))) }
        m += YAMLValue.http(authorization: http.authorization, tls: http.tls, headers: http.headers.map { ($0.name, $0.value) }, remoteWrite: false)
        return .mapping(m)
    }
}

extension RelabelRule {
    var yaml: YAMLValue {
        var m: [(String, YAMLValue)] = []
        if !sourceLabels.isEmpty { m.append(("source_labels", .strings(sourceLabels))) }
        m += [("separator", .string(separator)), ("regex", .string(pattern))]
        if !targetLabel.isEmpty { m.append(("target_label", .string(targetLabel))) }
        m += [("replacement", .string(replacement)), ("action", .string(action.rawValue))]
        return .mapping(m)
    }
}

extension YAMLValue {
    /// The HTTP client settings of a scrape target or remote-write endpoint: credential files
    /// shown, header values redacted.
    /// (A scrape job writes `bearer_token_file` and `tls`; a remote-write endpoint, as Prometheus,
    /// `authorization` and `tls_config`.)
    static func http(authorization: HTTPAuthorization?, tls: TLSOptions, headers: [(String, String)], remoteWrite: Bool) -> [(String, YAMLValue)] {
        var m: [(String, YAMLValue)] = []
        switch authorization {
        case .basic(let username, let file)?: m.append(("basic_auth", .mapping([("username", .string(username)), ("password_file", .string(file))])))
        case .bearer(let file)?:
            m.append(remoteWrite ? ("authorization", .mapping([("type", .string("Bearer")), ("credentials_file", .string(file))]))
                                 : ("bearer_token_file", .string(file)))
        case nil: break
        }
        var t: [(String, YAMLValue)] = []
        if let f = tls.caFile { t.append(("ca_file", .string(f))) }
        if let f = tls.certFile { t.append(("cert_file", .string(f))) }
        if let f = tls.keyFile { t.append(("key_file", .string(f))) }
        if tls.insecureSkipVerify { t.append(("insecure_skip_verify", .bool(true))) }
        if !t.isEmpty { m.append((remoteWrite ? "tls_config" : "tls", .mapping(t))) }
        if !headers.isEmpty { m.append(("headers", .mapping(headers.map { ($0.0, .secret) }))) }
        return m
    }

    /// A URL with the password of its user info (`https://user:pass@host/…`) redacted, as
    /// Prometheus's `config.URL` marshals one.
    static func redactingPassword(_ url: String) -> String {
        guard let scheme = url.firstRange(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":xxxxx" + String(url[at...])
    }

    /// A secret as its reference: `<prefix>_file`/`<prefix>_env` shown, an inline value redacted.
    static func secret(_ prefix: String, _ secret: Secret) -> (String, YAMLValue) {
        switch secret {
        case .inline: (prefix, .secret)
        case .file(let path): (prefix + "_file", .string(path))
        case .environment(let name): (prefix + "_env", .string(name))
        }
    }
}

extension LogMapping {
    var yaml: YAMLValue {
        var m: [(String, YAMLValue)] = [paths.count == 1 ? ("path", .string(paths[0])) : ("paths", .strings(paths))]
        if let job { m.append(("job", .string(job))) }
        m.append(("max_line_bytes", .int(maxLineBytes)))
        if !metrics.isEmpty {
            m.append(("metrics", .sequence(metrics.map { metric in
                var e: [(String, YAMLValue)] = [("name", .string(metric.name)), ("type", .string("\(metric.kind)"))]
                if let field = metric.field { e.append(("field", .string(field))) }
                if let help = metric.help { e.append(("help", .string(help))) }
                return .mapping(e)
            })))
        }
        return .mapping(m)
    }
}

extension NotifyConfig {
    var yaml: YAMLValue {
        var m: [(String, YAMLValue)] = []
        if !externalURL.isEmpty { m.append(("external_url", .string(externalURL))) }
        if let route { m.append(("route", Self.yaml(route))) }
        m.append(("inhibit", .sequence(inhibitRules.map { rule in
            .mapping([("source_matchers", .strings(rule.source.map(\.description))), ("target_matchers", .strings(rule.target.map(\.description))),
                      ("equal", .strings(rule.equal))])
        })))
        m.append(("receivers", .sequence(receivers.map { receiver in
            .mapping([("name", .string(receiver.name))] + receiver.integrations.map { ($0.kind, Self.yaml($0)) })
        })))
        m.append(("outbox", .mapping([
            ("max_age", .duration(Self.ms(outbox.maxAge))), ("initial_backoff", .duration(Self.ms(outbox.initialBackoff))),
            ("max_backoff", .duration(Self.ms(outbox.maxBackoff))), ("max_in_flight", .int(outbox.maxInFlight)),
            ("max_entries", .int(outbox.maxEntries)),
        ])))
        return .mapping(m)
    }

    static func yaml(_ route: Route.Spec) -> YAMLValue {
        var m: [(String, YAMLValue)] = []
        if let r = route.receiver { m.append(("receiver", .string(r))) }
        if !route.matchers.isEmpty { m.append(("matchers", .strings(route.matchers.map(\.description)))) }
        if route.continue { m.append(("continue", .bool(true))) }
        switch route.groupBy {
        case .labels(let names)?: m.append(("group_by", .strings(names)))
        case .all?: m.append(("group_by", .strings(["..."])))
        case nil: break
        }
        if let d = route.groupWait { m.append(("group_wait", .duration(ms(d)))) }
        if let d = route.groupInterval { m.append(("group_interval", .duration(ms(d)))) }
        if let d = route.repeatInterval { m.append(("repeat_interval", .duration(ms(d)))) }
        if !route.routes.isEmpty { m.append(("routes", .sequence(route.routes.map(yaml)))) }
        return .mapping(m)
    }

    static func yaml(_ integration: IntegrationConfig) -> YAMLValue {
        var m: [(String, YAMLValue)] = []
        switch integration.destination {
        case .http(let endpoint):
            m.append(YAMLValue.secret("url", endpoint.url))
            if !endpoint.headers.isEmpty { m.append(("headers", .mapping(endpoint.headers.map { ($0.name, .secret) }))) }
            if let hmac = endpoint.hmacSecret { m.append(YAMLValue.secret("hmac_secret", hmac)) }
            m.append(("timeout", .duration(ms(endpoint.timeout))))
        case .file(let path): m.append(("path", .string(path)))
        case .stdout: break
        }
        if let (_, key) = integration.bodySecret { m.append(YAMLValue.secret("routing_key", key)) }
        m.append(("send_resolved", .bool(integration.sendResolved)))
        return .mapping(m)
    }

    static func ms(_ d: Duration) -> Milliseconds {
        let (s, atto) = d.components
        return s * 1000 + atto / 1_000_000_000_000_000
    }
}

extension RemoteWriteEndpoint {
    var yaml: YAMLValue {
        var m: [(String, YAMLValue)] = [("url", .string(YAMLValue.redactingPassword(url))), ("name", .string(name)), ("remote_timeout", .duration(timeout))]
        m += YAMLValue.http(authorization: authorization, tls: tls, headers: headers.map { ($0.name, $0.value) }, remoteWrite: true)
        if !relabel.isEmpty { m.append(("write_relabel_configs", .sequence(relabel.map(\.yaml)))) }
        return .mapping(m)
    }
}
