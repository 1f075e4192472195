import Ingest
import YAMLSupport
import TimeSeries

/// `scrape:` — the targets, one job per item:
///
/// ```yaml
/// scrape:
///   - job: api
///     targets: [http://127.0.0.1:8080/metrics]
///     scrape_interval: 15s          # default: global.scrape_interval
///     labels: {team: payments}
///     metric_relabel_configs: [{source_labels: [__name__], regex: "go_.*", action: drop}]
///   - job: api-health
///     format: health
///     targets: [http://127.0.0.1:8080/health]
///     expect: {status: [200], max_response_time: 1s, body_json: {path: status, equals: ok}, body_contains: "ok"}
///     tls: {ca_file: /etc/agent/ca.pem, insecure_skip_verify: false}
///     bearer_token_file: /run/credentials/agent.service/token
/// ```
enum ScrapeConfig {
    static let jobKeys = ["job", "targets", "format", "scrape_interval", "scrape_timeout", "labels", "honor_labels", "honor_timestamps",
                          "metric_relabel_configs", "expect", "tls", "basic_auth", "bearer_token_file", "headers", "sample_limit",
                          "body_size_limit"]

    static func read(_ node: Node, global: GlobalConfig, _ r: inout YAMLReader) -> [ScrapeTarget] {
        guard let jobs = r.sequence(node, "scrape") else { return [] }
        var out: [ScrapeTarget] = []
        var names = Set<String>()
        for (i, jobNode) in jobs.enumerated() {
            let what = "scrape[\(i)]"
            guard let m = r.mapping(jobNode, what, known: jobKeys) else { continue }
            guard let job = m["job"].flatMap({ r.string($0, "\(what).job") }), !job.isEmpty else {
                r.error(jobNode, "\(what) needs a job name (job: api)")
                continue
            }
            if !names.insert(job).inserted { r.error(m["job"], "\(what): job \"\(job)\" is configured twice") }
            guard let urls = m["targets"].flatMap({ r.strings($0, "\(what).targets") }), !urls.isEmpty else {
                r.error(jobNode, "\(what) (\(job)) needs targets: [http://host:port/metrics]")
                continue
            }
            var format = ScrapeFormat.prometheus
            if let n = m["format"], let v = r.string(n, "\(what).format") {
                if let f = ScrapeFormat(rawValue: v) { format = f } else {
                    r.error(n, "\(what).format must be one of \(ScrapeFormat.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(v)\"")
                }
            }
            let interval = m["scrape_interval"].flatMap { r.duration($0, "\(what).scrape_interval", minimum: 1000) } ?? global.scrapeInterval
            let timeout = m["scrape_timeout"].flatMap { r.duration($0, "\(what).scrape_timeout", minimum: 100) } ?? min(global.scrapeTimeout, interval)
            if timeout > interval { r.error(m["scrape_timeout"], "\(what).scrape_timeout must not exceed its scrape_interval") }
            let labels = m["labels"].flatMap { r.stringMap($0, "\(what).labels") } ?? [:]
            var template = ScrapeTarget(url: "", job: job, labels: labels, format: format, interval: interval, timeout: timeout)
            if let n = m["honor_labels"], let v = r.bool(n, "\(what).honor_labels") { template.honorLabels = v }
            if let n = m["honor_timestamps"], let v = r.bool(n, "\(what).honor_timestamps") { template.honorTimestamps = v }
            if let n = m["metric_relabel_configs"] { template.metricRelabelConfigs = relabel(n, "\(what).metric_relabel_configs", &r) }
            if let n = m["expect"] {
                if format != .health { r.error(n, "\(what).expect applies to format: health only") }
                template.health = expectations(n, "\(what).expect", &r)
            }
            if let n = m["tls"], let t = r.mapping(n, "\(what).tls", known: ["ca_file", "cert_file", "key_file", "insecure_skip_verify"]) {
                template.http.tls.caFile = t["ca_file"].flatMap { r.string($0, "\(what).tls.ca_file") }
                template.http.tls.certFile = t["cert_file"].flatMap { r.string($0, "\(what).tls.cert_file") }
                template.http.tls.keyFile = t["key_file"].flatMap { r.string($0, "\(what).tls.key_file") }
                if let v = t["insecure_skip_verify"].flatMap({ r.bool($0, "\(what).tls.insecure_skip_verify") }) { template.http.tls.insecureSkipVerify = v }
            }
            if let n = m["basic_auth"], let b = r.mapping(n, "\(what).basic_auth", known: ["username", "password_file"]) {
                if let user = b["username"].flatMap({ r.string($0, "\(what).basic_auth.username") }),
                   let file = b["password_file"].flatMap({ r.string($0, "\(what).basic_auth.password_file") }) {
                    template.http.authorization = .basic(username: user, passwordFile: file)
                } else {
                    r.error(n, "\(what).basic_auth needs username and password_file (passwords are never written in the configuration)")
                }
            }
            if let n = m["bearer_token_file"], let file = r.string(n, "\(what).bearer_token_file") {
                if template.http.authorization != nil { r.error(n, "\(what): basic_auth and bearer_token_file exclude each other") }
                template.http.authorization = .bearer(tokenFile: file)
            }
            if let n = m["headers"], let h = r.stringMap(n, "\(what).headers") {
                template.http.headers = h.sorted { $0.key < $1.key }.map { HTTPHeader($0.key, $0.value) }
            }
            if let n = m["sample_limit"], let v = r.int(n, "\(what).sample_limit", in: 1...10_000_000) { template.limits.sampleLimit = v }
            if let n = m["body_size_limit"], let v = r.int(n, "\(what).body_size_limit", in: 1024...1 << 30) { template.limits.bodySizeLimit = v }
            for url in urls {
                guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                    r.error(m["targets"], "\(what).targets: \"\(url)\" must be an http:// or https:// URL")
                    continue
                }
                var target = template
                target.url = url
                target.instance = ScrapeTarget.defaultInstance(of: url)
                out.append(target)
            }
        }
        return out
    }

    static func relabel(_ node: Node, _ what: String, _ r: inout YAMLReader) -> [RelabelRule] {
        guard let items = r.sequence(node, what) else { return [] }
        var rules: [RelabelRule] = []
        for (i, item) in items.enumerated() {
            let w = "\(what)[\(i)]"
            guard let m = r.mapping(item, w, known: ["source_labels", "separator", "regex", "target_label", "replacement", "action"]) else { continue }
            var action = RelabelRule.Action.replace
            if let n = m["action"], let v = r.string(n, "\(w).action") {
                if let a = RelabelRule.Action(rawValue: v) { action = a } else {
                    r.error(n, "\(w).action must be one of \(RelabelRule.Action.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(v)\"")
                    continue
                }
            }
            do {
                rules.append(try RelabelRule(
                    sourceLabels: m["source_labels"].flatMap { r.strings($0, "\(w).source_labels") } ?? [],
                    separator: m["separator"].flatMap { r.string($0, "\(w).separator") } ?? ";",
                    regex: m["regex"].flatMap { r.string($0, "\(w).regex") } ?? "(.*)",
                    targetLabel: m["target_label"].flatMap { r.string($0, "\(w).target_label") } ?? "",
                    replacement: m["replacement"].flatMap { r.string($0, "\(w).replacement") } ?? "$1",
                    action: action))
            } catch {
                r.error(item, "\(w): \(error)")
            }
        }
        return rules
    }

    static func expectations(_ node: Node, _ what: String, _ r: inout YAMLReader) -> HealthExpectations {
        var e = HealthExpectations()
        guard let m = r.mapping(node, what, known: ["status", "max_response_time", "body_json", "body_contains", "body_not_contains"]) else { return e }
        if let n = m["status"], let items = r.sequence(n, "\(what).status") {
            e.statusCodes = items.compactMap { r.int($0, "\(what).status item", in: 100...599) }
        }
        if let n = m["max_response_time"] { e.maxResponseTime = r.duration(n, "\(what).max_response_time", minimum: 1) }
        if let n = m["body_contains"], let v = r.string(n, "\(what).body_contains") { e.body.append(BodyCondition(.contains(v))) }
        if let n = m["body_not_contains"], let v = r.string(n, "\(what).body_not_contains") { e.body.append(BodyCondition(.notContains(v))) }
        if let n = m["body_json"] {
            // One condition, or a list of them.
            let conditions: [Node]
            if case .sequence(let items) = n { conditions = Array(items) } else { conditions = [n] }
            for c in conditions {
                let ops = ["equals", "not_equals", "matches", "less_than", "less_or_equal", "greater_than", "greater_or_equal", "exists"]
                guard let j = r.mapping(c, "\(what).body_json", known: ["path"] + ops),
                      let path = j["path"].flatMap({ r.string($0, "\(what).body_json.path") }) else { continue }
                let given = ops.filter { j[$0] != nil }
                guard given.count == 1, let op = given.first, let v = j[op] else {
                    r.error(c, "\(what).body_json needs exactly one of \(ops.joined(separator: ", "))")
                    continue
                }
                func number() -> Double? { r.double(v, "\(what).body_json.\(op)", in: -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude) }
                let condition: JSONCondition?
                switch op {
                case "equals": condition = r.string(v, "\(what).body_json.equals").map { .equals($0) }
                case "not_equals": condition = r.string(v, "\(what).body_json.not_equals").map { .notEquals($0) }
                case "matches":
                    condition = r.string(v, "\(what).body_json.matches").map { .matches($0) }
                    if case .matches(let pattern)? = condition, let problem = JSONCondition.problem(withPattern: pattern) {
                        r.error(v, "\(what).body_json.matches: \(problem)")
                    }
                case "less_than": condition = number().map { .lessThan($0) }
                case "less_or_equal": condition = number().map { .lessOrEqual($0) }
                case "greater_than": condition = number().map { .greaterThan($0) }
                case "greater_or_equal": condition = number().map { .greaterOrEqual($0) }
                default: condition = .exists
                }
                if let condition { e.body.append(BodyCondition(.json(path: path, condition))) }
            }
        }
        return e
    }
}
