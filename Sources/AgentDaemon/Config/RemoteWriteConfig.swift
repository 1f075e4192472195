import Ingest
import RemoteWrite
import TimeSeries
import YAMLSupport

/// `remote_write:` — Prometheus's keys, where they apply; several endpoints, each on its own:
///
/// ```yaml
/// remote_write:
///   - url: https://mimir.example.com/api/v1/push
///     name: central                       # default: a hash of the URL
///     remote_timeout: 30s
///     headers: {X-Scope-OrgID: team-a}
///     basic_auth: {username: agent, password_file: /run/credentials/agent.service/rw_password}
///     # or: authorization: {type: Bearer, credentials_file: /run/credentials/agent.service/rw_token}
///     tls_config: {ca_file: /etc/agent/ca.pem, cert_file: …, key_file: …, insecure_skip_verify: false}
///     write_relabel_configs: [{source_labels: [__name__], regex: "go_.*", action: drop}]
///     queue_config: {max_samples_per_send: 2000, batch_send_deadline: 5s, min_backoff: 30ms,
///                    max_backoff: 5s, retry_on_http_429: true, max_shards: 1}
///     send_exemplars: false
/// ```
///
/// Keys of Prometheus that do not apply are refused with the reason rather than ignored: a
/// `queue_config.capacity` would suggest a sample queue, and the agent has none (the rings are the
/// buffer); secrets are read from files only.
enum RemoteWriteConfig {
    static let keys = ["url", "name", "remote_timeout", "headers", "basic_auth", "authorization", "tls_config",
                       "write_relabel_configs", "queue_config", "send_exemplars"]
    static let queueKeys = ["max_samples_per_send", "batch_send_deadline", "min_backoff", "max_backoff", "retry_on_http_429", "max_shards"]
    /// Prometheus keys that have no meaning here, with the reason.
    static let notApplicable: [String: String] = [
        "capacity": "the agent keeps no queue of samples: the rings are the buffer (global.retention bounds an outage)",
        "min_shards": "the agent does not reshard; max_shards is the number of shards",
        "max_retries": "failed requests are retried until they succeed; samples wait in the rings",
        "sample_age_limit": "samples are sent for as long as the rings hold them (global.retention)",
        "send_native_histograms": "the agent stores no native histograms; distributions are sent as summaries (docs/remote_write.md)",
        "metadata_config": "the agent sends no metadata",
        "bearer_token": "secrets are read from files: use authorization: {credentials_file: …}",
        "bearer_token_file": "use authorization: {type: Bearer, credentials_file: …}",
        "proxy_url": "set https_proxy in the service's environment (libcurl honours it)",
        "sigv4": "not supported", "azuread": "not supported", "oauth2": "not supported", "google_iam": "not supported",
        "follow_redirects": "redirects are never followed (a redirected POST loses its body); give the final URL",
        "enable_http2": "not configurable",
        "protobuf_message": "the agent speaks remote write 1.0 (prometheus.WriteRequest)",
        "password": "passwords are read from files: use password_file",
        "credentials": "credentials are read from files: use credentials_file",
    ]
    /// Headers the protocol sets itself (Prometheus refuses the same).
    static let reservedHeaders = ["authorization", "host", "content-encoding", "content-type", "content-length",
                                  "x-prometheus-remote-write-version", "user-agent", "connection", "keep-alive",
                                  "proxy-authenticate", "proxy-authorization", "www-authenticate", "transfer-encoding"]

    static func read(_ node: Node, _ r: inout YAMLReader) -> [RemoteWriteEndpoint] {
        guard let items = r.sequence(node, "remote_write") else { return [] }
        var out: [RemoteWriteEndpoint] = []
        var names: [String: Node] = [:]
        for (i, item) in items.enumerated() {
            let what = "remote_write[\(i)]"
            guard let m = mapping(item, what, known: keys, &r) else { continue }
            guard let urlNode = m["url"], let url = r.string(urlNode, "\(what).url") else {
                r.error(item, "\(what) needs a url (e.g. url: http://prometheus:9090/api/v1/write)")
                continue
            }
            guard url.hasPrefix("http://") || url.hasPrefix("https://"), url.split(separator: "/", omittingEmptySubsequences: true).count >= 2 else {
                r.error(urlNode, "\(what).url: \"\(url)\" must be an http:// or https:// URL with a host")
                continue
            }
            var endpoint = RemoteWriteEndpoint(url: url)
            if let n = m["name"], let name = r.string(n, "\(what).name") {
                if name.isEmpty || name.utf8.count > 100 { r.error(n, "\(what).name must be 1 to 100 characters") } else { endpoint.name = name }
            }
            if let first = names[endpoint.name] {
                r.error(m["name"] ?? urlNode, "\(what): endpoint name \"\(endpoint.name)\" is used twice (also at line \(first.mark?.line ?? 0)); give each endpoint its own name")
            } else {
                names[endpoint.name] = m["name"] ?? urlNode
            }
            if let n = m["remote_timeout"], let v = r.duration(n, "\(what).remote_timeout", minimum: 100) { endpoint.timeout = v }
            if let n = m["headers"], let h = r.stringMap(n, "\(what).headers") {
                for name in h.keys.sorted() where reservedHeaders.contains(name.lowercased()) {
                    r.error(n, "\(what).headers: \"\(name)\" is set by the agent and cannot be configured")
                }
                endpoint.headers = h.filter { !reservedHeaders.contains($0.key.lowercased()) }.sorted { $0.key < $1.key }.map { HTTPHeader($0.key, $0.value) }
            }
            if let n = m["basic_auth"], let b = mapping(n, "\(what).basic_auth", known: ["username", "password_file"], &r) {
                if let user = b["username"].flatMap({ r.string($0, "\(what).basic_auth.username") }),
                   let file = b["password_file"].flatMap({ r.string($0, "\(what).basic_auth.password_file") }) {
                    endpoint.authorization = .basic(username: user, passwordFile: file)
                } else {
                    r.error(n, "\(what).basic_auth needs username and password_file (passwords are never written in the configuration)")
                }
            }
            if let n = m["authorization"], let a = mapping(n, "\(what).authorization", known: ["type", "credentials_file"], &r) {
                if endpoint.authorization != nil { r.error(n, "\(what): basic_auth and authorization exclude each other") }
                if let t = a["type"], let type = r.string(t, "\(what).authorization.type"), type.lowercased() != "bearer" {
                    r.error(t, "\(what).authorization.type: only Bearer is supported, got \"\(type)\"")
                }
                if let file = a["credentials_file"].flatMap({ r.string($0, "\(what).authorization.credentials_file") }) {
                    endpoint.authorization = .bearer(tokenFile: file)
                } else {
                    r.error(n, "\(what).authorization needs credentials_file (credentials are never written in the configuration)")
                }
            }
            if let n = m["tls_config"], let t = mapping(n, "\(what).tls_config", known: ["ca_file", "cert_file", "key_file", "insecure_skip_verify"], &r) {
                endpoint.tls.caFile = t["ca_file"].flatMap { r.string($0, "\(what).tls_config.ca_file") }
                endpoint.tls.certFile = t["cert_file"].flatMap { r.string($0, "\(what).tls_config.cert_file") }
                endpoint.tls.keyFile = t["key_file"].flatMap { r.string($0, "\(what).tls_config.key_file") }
                if (endpoint.tls.certFile == nil) != (endpoint.tls.keyFile == nil) { r.error(n, "\(what).tls_config: cert_file and key_file go together") }
                if let v = t["insecure_skip_verify"].flatMap({ r.bool($0, "\(what).tls_config.insecure_skip_verify") }) { endpoint.tls.insecureSkipVerify = v }
            }
            if let n = m["write_relabel_configs"] { endpoint.relabel = ScrapeConfig.relabel(n, "\(what).write_relabel_configs", &r) }
            if let n = m["queue_config"], let q = mapping(n, "\(what).queue_config", known: queueKeys, &r) {
                let w = "\(what).queue_config"
                if let v = q["max_samples_per_send"].flatMap({ r.int($0, "\(w).max_samples_per_send", in: 10...100_000) }) { endpoint.queue.maxSamplesPerSend = v }
                if let v = q["batch_send_deadline"].flatMap({ r.duration($0, "\(w).batch_send_deadline", minimum: 100) }) { endpoint.queue.batchSendDeadline = v }
                if let v = q["min_backoff"].flatMap({ r.duration($0, "\(w).min_backoff", minimum: 1) }) { endpoint.queue.minBackoff = v }
                if let v = q["max_backoff"].flatMap({ r.duration($0, "\(w).max_backoff", minimum: 1) }) { endpoint.queue.maxBackoff = v }
                if endpoint.queue.minBackoff > endpoint.queue.maxBackoff {
                    r.error(q["min_backoff"] ?? n, "\(w): min_backoff (\(YAMLReader.formatDuration(endpoint.queue.minBackoff))) exceeds max_backoff (\(YAMLReader.formatDuration(endpoint.queue.maxBackoff)))")
                }
                if let v = q["retry_on_http_429"].flatMap({ r.bool($0, "\(w).retry_on_http_429") }) { endpoint.queue.retryOnHTTP429 = v }
                if let v = q["max_shards"].flatMap({ r.int($0, "\(w).max_shards", in: 1...64) }) { endpoint.queue.maxShards = v }
            }
            if let n = m["send_exemplars"], let v = r.bool(n, "\(what).send_exemplars"), v {
                r.error(n, "\(what).send_exemplars: the agent stores no exemplars; only false is allowed")
            }
            out.append(endpoint)
        }
        return out
    }

    /// `YAMLReader.mapping`, with Prometheus's keys that do not apply here refused with the reason.
    private static func mapping(_ node: Node, _ what: String, known: [String], _ r: inout YAMLReader) -> [String: Node]? {
        guard case .mapping(let m) = node else { return r.mapping(node, what, known: known) }
        var kept: [(Node, Node)] = []
        for (key, value) in m {
            if let name = key.string, let reason = notApplicable[name] {
                r.error(key, "\(what).\(name) does not apply to the agent: \(reason)")
            } else {
                kept.append((key, value))
            }
        }
        return r.mapping(.mapping(Node.Mapping(kept, m.tag, m.style, m.mark)), what, known: known)
    }
}
