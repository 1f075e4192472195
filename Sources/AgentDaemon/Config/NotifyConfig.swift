public import Notify
import TimeSeries
public import YAMLSupport

/// `notify:` — routing, inhibition, receivers and the outbox, as written in the configuration.
///
/// Read with the same `YAMLReader` as the rest of the file: unknown keys are refused (with a
/// suggestion), every problem is reported as `file:line:column`, all in one pass. Secrets are
/// never read here, only where to find them (`url_file`, `url_env`, `routing_key_file`, …): they
/// are read at send time. Without `route:` the severity tree is used (critical pages `pager` and
/// goes to `chat`, high and medium to `chat`, low to `digest`), without `inhibit:` the severity
/// inhibition (critical mutes lower tiers of the same alertname).
public struct NotifyConfig: Sendable {
    /// The routing tree; nil until a receiver exists.
    public var route: Route.Spec?
    public var inhibitRules: [InhibitRule] = [InhibitRule.severityDefault]
    /// The receivers in file order.
    public var receivers: [ReceiverConfig] = []
    /// Link back to this agent in payloads (`externalURL`).
    public var externalURL = ""
    public var outbox = OutboxSettings()

    public init() {}

    /// `notify.outbox`: retry and retention of undelivered notifications.
    public struct OutboxSettings: Sendable, Equatable {
        public var maxAge: Duration = .seconds(6 * 3600)
        public var initialBackoff: Duration = .seconds(1)
        public var maxBackoff: Duration = .seconds(300)
        public var maxInFlight = 16
        public var maxEntries = 10_000
        public init() {}
    }

    /// One named receiver and its integrations.
    public struct ReceiverConfig: Sendable {
        public var name: String
        public var integrations: [IntegrationConfig]
    }

    /// One integration of a receiver, before it is built.
    public struct IntegrationConfig: Sendable {
        public var kind: String
        public var builder: any PayloadBuilder
        public var destination: Integration.Destination
        public var sendResolved: Bool
        public var bodySecret: (placeholder: String, secret: Secret)?
        /// Alertmanager forwarding re-sends firing alerts this often.
        public var resendInterval: Duration?
    }

    static let keys = ["route", "inhibit", "receivers", "external_url", "outbox"]
    static let routeKeys = ["receiver", "matchers", "continue", "group_by", "group_wait", "group_interval", "repeat_interval", "routes"]
    static let kinds = ["slack", "mattermost", "discord", "teams", "googlechat", "pagerduty", "webhook", "alertmanager", "file", "stdout"]
    static let httpKeys = ["url", "url_file", "url_env", "timeout", "hmac_secret_file", "hmac_secret_env", "headers", "send_resolved"]

    /// Reads `notify:` from its node, reporting problems into `r`.
    public mutating func read(_ node: Node, _ r: inout YAMLReader) {
        guard let m = r.mapping(node, "notify", known: NotifyConfig.keys) else { return }
        if let n = m["external_url"], let v = r.string(n, "notify.external_url") { externalURL = v }
        if let n = m["outbox"] { readOutbox(n, &r) }
        var names = Set<String>()
        if let n = m["receivers"], let items = r.sequence(n, "notify.receivers") {
            for item in items {
                guard let receiver = readReceiver(item, &r) else { continue }
                if names.contains(receiver.name) {
                    r.error(item, "notify.receivers: the name \"\(receiver.name)\" is used twice")
                    continue
                }
                names.insert(receiver.name)
                receivers.append(receiver)
            }
        }
        if let n = m["route"] {
            route = readRoute(n, "notify.route", isRoot: true, receivers: names, &r)
        } else if !receivers.isEmpty {
            let chat = names.contains("chat") ? "chat" : receivers[0].name
            route = Route.severityDefault(
                chat: chat, pager: names.contains("pager") ? "pager" : nil, digest: names.contains("digest") ? "digest" : nil)
        }
        if let n = m["inhibit"], let items = r.sequence(n, "notify.inhibit") {
            inhibitRules = items.compactMap { readInhibit($0, &r) }
        }
        if route != nil, receivers.isEmpty, let n = m["route"] {
            r.error(n, "notify.route: no receivers are defined under notify.receivers")
        }
    }

    /// Reads a standalone `notify:` document (for tests and `agent check config`).
    public static func parse(_ text: String, file: String) throws(ConfigErrors) -> NotifyConfig {
        var reader = YAMLReader(file: file)
        var config = NotifyConfig()
        if let root = reader.parse(text), let top = reader.mapping(root, "configuration", known: ["notify"]), let n = top["notify"] {
            config.read(n, &reader)
        }
        guard reader.errors.isEmpty else { throw ConfigErrors(reader.errors) }
        return config
    }

    /// True when there is somewhere to send notifications.
    public var isEnabled: Bool { route != nil && !receivers.isEmpty }

    /// The notifier's configuration, with the outbox in `stateDir/outbox`. Throws only when the
    /// tree is inconsistent, which `read` already reports with positions.
    public func notifierConfiguration(stateDir: String) throws -> Notifier.Configuration {
        guard let spec = route else { throw RouteError(path: "notify.route", message: "no receivers are configured") }
        let tree = try Route(root: spec, receivers: Set(receivers.map(\.name)))
        var integrations: [Integration] = []
        var resend: [String: Duration] = [:]
        for receiver in receivers {
            for (index, c) in receiver.integrations.enumerated() {
                integrations.append(
                    Integration(
                        receiver: receiver.name, index: index, builder: c.builder, destination: c.destination, sendResolved: c.sendResolved,
                        bodySecret: c.bodySecret))
                if let interval = c.resendInterval { resend[receiver.name] = min(resend[receiver.name] ?? interval, interval) }
            }
        }
        return Notifier.Configuration(
            route: tree, inhibitRules: inhibitRules, integrations: integrations, resendIntervals: resend, externalURL: externalURL,
            outbox: Outbox.Configuration(
                directory: stateDir + "/outbox", maxAge: outbox.maxAge, initialBackoff: outbox.initialBackoff, maxBackoff: outbox.maxBackoff,
                maxInFlight: outbox.maxInFlight, maxEntries: outbox.maxEntries))
    }

    // MARK: - Parts

    mutating func readOutbox(_ node: Node, _ r: inout YAMLReader) {
        let keys = ["max_age", "initial_backoff", "max_backoff", "max_in_flight", "max_entries"]
        guard let m = r.mapping(node, "notify.outbox", known: keys) else { return }
        if let n = m["max_age"], let v = r.duration(n, "notify.outbox.max_age", minimum: 1000) { outbox.maxAge = .milliseconds(v) }
        if let n = m["initial_backoff"], let v = r.duration(n, "notify.outbox.initial_backoff", minimum: 10) { outbox.initialBackoff = .milliseconds(v) }
        if let n = m["max_backoff"], let v = r.duration(n, "notify.outbox.max_backoff", minimum: 10) { outbox.maxBackoff = .milliseconds(v) }
        if let n = m["max_in_flight"], let v = r.int(n, "notify.outbox.max_in_flight", in: 1...1024) { outbox.maxInFlight = v }
        if let n = m["max_entries"], let v = r.int(n, "notify.outbox.max_entries", in: 1...10_000_000) { outbox.maxEntries = v }
        if outbox.maxBackoff < outbox.initialBackoff { r.error(node, "notify.outbox: max_backoff must not be shorter than initial_backoff") }
    }

    func readRoute(_ node: Node, _ path: String, isRoot: Bool, receivers: Set<String>, _ r: inout YAMLReader) -> Route.Spec? {
        guard let m = r.mapping(node, path, known: NotifyConfig.routeKeys) else { return nil }
        var spec = Route.Spec()
        if let n = m["receiver"], let v = r.string(n, "\(path).receiver") {
            if receivers.contains(v) {
                spec.receiver = v
            } else {
                let known = receivers.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
                r.error(n, "\(path).receiver: \"\(v)\" is not defined under notify.receivers (defined: \(known.isEmpty ? "none" : known))")
            }
        } else if isRoot, m["receiver"] == nil {
            r.error(node, "\(path): the root route needs a receiver")
        }
        if let n = m["matchers"] {
            if isRoot { r.error(n, "\(path): the root route takes every alert; it cannot have matchers") }
            spec.matchers = readMatchers(n, "\(path).matchers", &r)
        }
        if let n = m["continue"], let v = r.bool(n, "\(path).continue") { spec.continue = v }
        if let n = m["group_by"], let names = r.strings(n, "\(path).group_by") {
            if names == ["..."] {
                spec.groupBy = .all
            } else if names.contains("...") {
                r.error(n, "\(path).group_by: \"...\" (group by every label) must be alone")
            } else {
                for name in names where !NotifyConfig.isLabelName(name) { r.error(n, "\(path).group_by: \"\(name)\" is not a label name") }
                spec.groupBy = .labels(names)
            }
        }
        if let n = m["group_wait"], let v = r.duration(n, "\(path).group_wait", minimum: 0) { spec.groupWait = .milliseconds(v) }
        if let n = m["group_interval"], let v = r.duration(n, "\(path).group_interval", minimum: 1) { spec.groupInterval = .milliseconds(v) }
        if let n = m["repeat_interval"], let v = r.duration(n, "\(path).repeat_interval", minimum: 1) { spec.repeatInterval = .milliseconds(v) }
        if let n = m["routes"], let items = r.sequence(n, "\(path).routes") {
            for (i, item) in items.enumerated() {
                if let child = readRoute(item, "\(path).routes[\(i)]", isRoot: false, receivers: receivers, &r) { spec.routes.append(child) }
            }
        }
        return spec
    }

    func readMatchers(_ node: Node, _ what: String, _ r: inout YAMLReader) -> [Matcher] {
        guard let items = r.strings(node, what) else { return [] }
        var out: [Matcher] = []
        let nodes = r.sequence(node, what) ?? []
        for (i, text) in items.enumerated() {
            do {
                out.append(contentsOf: try Matcher.parseList(text))
            } catch {
                r.error(i < nodes.count ? nodes[i] : node, "\(what): \(error.message) at column \(error.column) of \(text.debugDescription) (write e.g. severity=\"critical\" or team=~\"db|api\")")
            }
        }
        return out
    }

    func readInhibit(_ node: Node, _ r: inout YAMLReader) -> InhibitRule? {
        guard let m = r.mapping(node, "notify.inhibit item", known: ["source_matchers", "target_matchers", "equal"]) else { return nil }
        guard let s = m["source_matchers"], let t = m["target_matchers"] else {
            r.error(node, "notify.inhibit item needs source_matchers and target_matchers")
            return nil
        }
        let source = readMatchers(s, "notify.inhibit.source_matchers", &r)
        let target = readMatchers(t, "notify.inhibit.target_matchers", &r)
        var equal: [String] = []
        if let n = m["equal"], let v = r.strings(n, "notify.inhibit.equal") { equal = v }
        return InhibitRule(source: source, target: target, equal: equal)
    }

    func readReceiver(_ node: Node, _ r: inout YAMLReader) -> ReceiverConfig? {
        guard let m = r.mapping(node, "notify.receivers item", known: ["name"] + NotifyConfig.kinds) else { return nil }
        guard let nameNode = m["name"], let name = r.string(nameNode, "receiver name"), !name.isEmpty else {
            r.error(node, "notify.receivers item needs a name")
            return nil
        }
        var integrations: [IntegrationConfig] = []
        for kind in NotifyConfig.kinds {
            guard let n = m[kind] else { continue }
            // One mapping, or a list of them (Alertmanager's *_configs).
            let items: [Node]
            if case .sequence = n { items = r.sequence(n, "\(name).\(kind)") ?? [] } else { items = [n] }
            for item in items {
                if let c = readIntegration(kind, item, "receiver \"\(name)\" \(kind)", &r) { integrations.append(contentsOf: c) }
            }
        }
        if !NotifyConfig.kinds.contains(where: { m[$0] != nil }) {
            r.error(node, "receiver \"\(name)\" has no integration (one of: \(NotifyConfig.kinds.joined(separator: ", ")))")
        }
        return ReceiverConfig(name: name, integrations: integrations)
    }

    func readIntegration(_ kind: String, _ node: Node, _ what: String, _ r: inout YAMLReader) -> [IntegrationConfig]? {
        switch kind {
        case "file", "stdout":
            guard let m = r.mapping(node, what, known: kind == "file" ? ["path", "send_resolved"] : ["send_resolved"]) else { return nil }
            let sendResolved = m["send_resolved"].flatMap { r.bool($0, "\(what).send_resolved") } ?? true
            if kind == "stdout" {
                return [IntegrationConfig(kind: kind, builder: FileReceiver(kind: "stdout"), destination: .stdout, sendResolved: sendResolved)]
            }
            guard let p = m["path"], let path = r.string(p, "\(what).path"), path.hasPrefix("/") else {
                r.error(m["path"] ?? node, "\(what) needs an absolute path")
                return nil
            }
            return [IntegrationConfig(kind: kind, builder: FileReceiver(), destination: .file(path: path), sendResolved: sendResolved)]
        case "alertmanager":
            let extra = ["urls", "resend_interval", "timeout", "hmac_secret_file", "hmac_secret_env", "headers"]
            guard let m = r.mapping(node, what, known: extra) else { return nil }
            guard let u = m["urls"], let urls = r.strings(u, "\(what).urls"), !urls.isEmpty else {
                r.error(m["urls"] ?? node, "\(what) needs urls: the Alertmanager instances, e.g. [http://127.0.0.1:9093]")
                return nil
            }
            var resend: Duration = .seconds(60)
            if let n = m["resend_interval"], let v = r.duration(n, "\(what).resend_interval", minimum: 1000) { resend = .milliseconds(v) }
            let common = readEndpointOptions(m, what, &r)
            return urls.compactMap { base in
                guard base.hasPrefix("http://") || base.hasPrefix("https://") else {
                    r.error(u, "\(what).urls: \"\(base)\" is not an http(s) URL")
                    return nil
                }
                var trimmed = base
                while trimmed.hasSuffix("/") { trimmed.removeLast() }
                let endpoint = Endpoint(url: .inline(trimmed + "/api/v2/alerts"), headers: common.headers, hmacSecret: common.hmac, timeout: common.timeout)
                return IntegrationConfig(kind: kind, builder: AlertmanagerReceiver(), destination: .http(endpoint), sendResolved: true, resendInterval: resend)
            }
        default:
            var extra: [String] = []
            switch kind {
            case "slack": extra = ["channel", "username", "mentions"]
            case "mattermost": extra = ["channel", "username", "mentions"]
            case "discord": extra = ["username", "mentions"]
            case "googlechat": extra = ["format", "mentions"]
            case "pagerduty": extra = ["routing_key_file", "routing_key_env", "source", "component", "group", "class"]
            case "webhook": extra = ["max_alerts"]
            default: break
            }
            guard let m = r.mapping(node, what, known: NotifyConfig.httpKeys + extra) else { return nil }
            let options = readEndpointOptions(m, what, &r)
            let url: Secret?
            if kind == "pagerduty", m["url"] == nil, m["url_file"] == nil, m["url_env"] == nil {
                url = .inline("https://events.pagerduty.com/v2/enqueue")
            } else {
                url = readSecret(m, what, prefix: "url", node: node, &r)
            }
            guard let url else { return nil }
            if case .inline(let u) = url, !(u.hasPrefix("http://") || u.hasPrefix("https://")) {
                r.error(m["url"], "\(what).url must start with http:// or https://")
            }
            let sendResolved = m["send_resolved"].flatMap { r.bool($0, "\(what).send_resolved") } ?? true
            let endpoint = Endpoint(url: url, headers: options.headers, hmacSecret: options.hmac, timeout: options.timeout)
            var builder: any PayloadBuilder
            var bodySecret: (placeholder: String, secret: Secret)?
            func text(_ key: String) -> String? { m[key].flatMap { r.string($0, "\(what).\(key)") } }
            // Mentions come only from here (never from alert text): each in the service's form.
            var mentions: [String] = []
            if let node = m["mentions"], let list = r.strings(node, "\(what).mentions") {
                for name in list {
                    if Mentions.render(name, for: kind) != nil {
                        mentions.append(name)
                    } else {
                        r.error(node, "\(what).mentions: \"\(name)\" is not a \(kind) mention (one of: \(Mentions.forms(kind) ?? "none"))")
                    }
                }
            }
            switch kind {
            case "slack": builder = SlackReceiver(flavor: .slack, channel: text("channel"), username: text("username"), mentions: mentions)
            case "mattermost": builder = SlackReceiver(flavor: .mattermost, channel: text("channel"), username: text("username"), mentions: mentions)
            case "discord": builder = DiscordReceiver(username: text("username"), mentions: mentions)
            case "teams": builder = TeamsReceiver()
            case "googlechat":
                var format = GoogleChatReceiver.Format.card
                if let f = text("format") {
                    if let v = GoogleChatReceiver.Format(rawValue: f) { format = v } else { r.error(m["format"], "\(what).format must be \"card\" or \"text\", got \"\(f)\"") }
                }
                builder = GoogleChatReceiver(format: format, mentions: mentions)
            case "pagerduty":
                builder = PagerDutyReceiver(source: text("source"), component: text("component"), group: text("group"), eventClass: text("class"))
                guard let key = readSecret(m, what, prefix: "routing_key", node: node, allowInline: false, &r) else { return nil }
                bodySecret = (PagerDutyReceiver.routingKeyPlaceholder, key)
            default:
                var maxAlerts = 0
                if let n = m["max_alerts"], let v = r.int(n, "\(what).max_alerts", in: 0...100_000) { maxAlerts = v }
                builder = WebhookReceiver(maxAlerts: maxAlerts)
            }
            return [IntegrationConfig(kind: kind, builder: builder, destination: .http(endpoint), sendResolved: sendResolved, bodySecret: bodySecret)]
        }
    }

    /// `<prefix>`, `<prefix>_file` or `<prefix>_env`: exactly one.
    func readSecret(_ m: [String: Node], _ what: String, prefix: String, node: Node, allowInline: Bool = true, _ r: inout YAMLReader) -> Secret? {
        let given = [prefix, prefix + "_file", prefix + "_env"].filter { m[$0] != nil }
        guard given.count == 1, let key = given.first, let n = m[key], let v = r.string(n, "\(what).\(key)"), !v.isEmpty else {
            let options = allowInline ? "\(prefix), \(prefix)_file or \(prefix)_env" : "\(prefix)_file or \(prefix)_env"
            r.error(given.count > 1 ? m[given[1]] : node, "\(what) needs exactly one of \(options)")
            return nil
        }
        if key == prefix { return .inline(v) }
        if key.hasSuffix("_file") {
            guard v.hasPrefix("/") else {
                r.error(n, "\(what).\(key) must be an absolute path (e.g. /run/credentials/agent.service/\(prefix))")
                return nil
            }
            return .file(v)
        }
        return .environment(v)
    }

    func readEndpointOptions(_ m: [String: Node], _ what: String, _ r: inout YAMLReader) -> (timeout: Duration, hmac: Secret?, headers: [(name: String, value: String)]) {
        var timeout: Duration = .seconds(10)
        if let n = m["timeout"], let v = r.duration(n, "\(what).timeout", minimum: 10) { timeout = .milliseconds(v) }
        var hmac: Secret?
        if let n = m["hmac_secret_file"], let v = r.string(n, "\(what).hmac_secret_file") {
            if v.hasPrefix("/") { hmac = .file(v) } else { r.error(n, "\(what).hmac_secret_file must be an absolute path") }
        }
        if let n = m["hmac_secret_env"], let v = r.string(n, "\(what).hmac_secret_env") {
            if hmac != nil { r.error(n, "\(what): give hmac_secret_file or hmac_secret_env, not both") } else { hmac = .environment(v) }
        }
        var headers: [(name: String, value: String)] = []
        if let n = m["headers"], let map = r.stringMap(n, "\(what).headers") {
            let reserved = ["content-type", "idempotency-key", "x-signature-256", "content-length", "host"]
            for (k, v) in map.sorted(by: { $0.key < $1.key }) {
                if reserved.contains(k.lowercased()) { r.error(n, "\(what).headers: \(k) is set by the agent") } else { headers.append((k, v)) }
            }
        }
        return (timeout, hmac, headers)
    }

    static func isLabelName(_ s: String) -> Bool {
        guard let first = s.utf8.first, !(48...57).contains(first) else { return false }
        return s.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 65 && $0 <= 90) || ($0 >= 48 && $0 <= 57) || $0 == 95 }
    }
}
