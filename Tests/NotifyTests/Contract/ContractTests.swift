import Alerting
import Foundation
import Ingest
import Synchronization
import Testing
import TimeSeries
@testable import Notify
#if canImport(Glibc)
import Glibc
#endif

/// Every receiver driven with hostile groups, every body sent over HTTP (the agent's own
/// transport, secrets spliced in as at send time) to `contracts.py`, which answers as the
/// service would: 400 with the reasons when the published schema or a documented limit is
/// broken, or when a mention, link or markup from alert text would reach the service. Any 4xx
/// fails the test. The count of payloads validated per receiver is printed once.
///
/// The contracts need python3 with `jsonschema`, the Adaptive Cards 1.2 schema and Alertmanager's
/// API spec (`scripts/contract-deps.sh`, run by `make test`): without them the test fails, it
/// never skips.
@Suite(.serialized) struct ContractTests {
    static let client = HTTPClient()

    /// A receiver under test: its builder, the mentions it was configured with, and the path the
    /// contract server validates it under.
    struct Subject: Sendable {
        var kind: String
        var builder: any PayloadBuilder
        var mentions: [String] = []
    }

    static let subjects: [Subject] = [
        Subject(kind: "slack", builder: SlackReceiver(channel: "#alerts", username: "agent")),
        Subject(kind: "slack", builder: SlackReceiver(mentions: ["here", "@U024BE7LH", "subteam^SAZ94GDB8"]), mentions: ["here", "@U024BE7LH", "subteam^SAZ94GDB8"]),
        Subject(kind: "mattermost", builder: SlackReceiver(flavor: .mattermost)),
        Subject(kind: "mattermost", builder: SlackReceiver(flavor: .mattermost, mentions: ["channel", "@oncall"]), mentions: ["channel", "@oncall"]),
        Subject(kind: "discord", builder: DiscordReceiver(username: "agent")),
        Subject(kind: "discord", builder: DiscordReceiver(mentions: ["here", "user:80351110224678912", "role:165511591545143296"]),
                mentions: ["here", "user:80351110224678912", "role:165511591545143296"]),
        Subject(kind: "teams", builder: TeamsReceiver()),
        Subject(kind: "googlechat", builder: GoogleChatReceiver()),
        Subject(kind: "googlechat", builder: GoogleChatReceiver(format: .text, mentions: ["all"]), mentions: ["all"]),
        Subject(kind: "googlechat", builder: GoogleChatReceiver(format: .text)),
        Subject(kind: "pagerduty", builder: PagerDutyReceiver()),
        Subject(kind: "alertmanager", builder: AlertmanagerReceiver()),
        Subject(kind: "webhook", builder: WebhookReceiver()),
        Subject(kind: "file", builder: FileReceiver()),
    ]

    @Test func everyPayloadOfEveryReceiverKeepsItsServicesContract() throws {
        let server = try ContractServer()
        defer { server.stop() }
        let transport = CurlTransport(client: ContractTests.client)
        let groups = HostileGroups.all()
        var refusals: [String] = []
        var sent: [String: Int] = [:]
        for subject in ContractTests.subjects {
            let integration = Integration(
                receiver: "contract", index: 0, builder: subject.builder, destination: .stdout,
                bodySecret: subject.kind == "pagerduty" ? (PagerDutyReceiver.routingKeyPlaceholder, .inline("R0123456789ABCDEF0123456789ABCDE")) : nil)
            for (name, group) in groups {
                let payload = subject.builder.payload(for: group)
                let body = try integration.finalBody(payload.body)
                var url = server.url(subject.kind)
                if !subject.mentions.isEmpty { url += "?mentions=" + subject.mentions.joined(separator: ",") }
                let answer = ContractTests.post(transport, url: url, body: body, contentType: payload.contentType)
                sent[subject.kind, default: 0] += 1
                switch answer {
                case .success(let r) where (200..<300).contains(r.status):
                    break
                case .success(let r):
                    refusals.append("\(subject.kind) \(subject.mentions) \(name): \(r.status) \(String(decoding: r.body.prefix(1500), as: UTF8.self))")
                case .failure(let e):
                    refusals.append("\(subject.kind) \(name): no answer: \(e)")
                }
            }
        }
        let counted = server.counts()
        let summary = sent.sorted { $0.key < $1.key }.map { "\($0.key) \(counted[$0.key] ?? 0)" }.joined(separator: ", ")
        print("contract: \(counted.values.reduce(0, +)) payloads validated against the services' contracts: \(summary)")
        #expect(counted == sent, "the contract server validated every payload sent")
        #expect(refusals.isEmpty, "\(refusals.count) refused, first: \(refusals.prefix(5).joined(separator: "\n"))")
        #expect(groups.count >= 25 && sent.values.allSatisfy { $0 >= groups.count })
    }

    static func post(_ transport: CurlTransport, url: String, body: [UInt8], contentType: String) -> Result<TransportResponse, TransportError> {
        let result = Mutex<Result<TransportResponse, TransportError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        transport.send(TransportRequest(url: url, headers: [("Content-Type", contentType)], body: body, timeout: .seconds(60))) { r in
            result.withLock { $0 = r }
            done.signal()
        }
        done.wait()
        return result.withLock { $0! }
    }

    /// The validator refuses what the services refuse: a check of the checker, on bodies built by hand.
    @Test func theValidatorRefusesWhatTheServicesRefuse() throws {
        let server = try ContractServer()
        defer { server.stop() }
        for sample in ContractServer.knownBad {
            let answer = ContractTests.post(CurlTransport(client: ContractTests.client), url: server.url(sample.kind), body: Array(sample.body.utf8), contentType: "application/json")
            guard case .success(let r) = answer else {
                Issue.record("\(sample.testDescription): no answer")
                continue
            }
            let text = String(decoding: r.body, as: UTF8.self)
            #expect(r.status == 400 && text.contains(sample.reason), "\(sample.testDescription): \(r.status) \(text)")
        }
    }
}

/// `contracts.py --serve` on 127.0.0.1: a stand-in for every service.
final class ContractServer: @unchecked Sendable {
    private(set) var port = 0
    private let process = Process()
    private let input = Pipe()

    init() throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("contracts.py").path
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, "--serve"]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("PORT "), let n = Int(text.dropFirst(5)) else {
            process.waitUntilExit()
            let why = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw ReceiverError(message: "contracts.py did not start (run scripts/contract-deps.sh): \(text) \(why)")
        }
        port = n
    }

    func url(_ kind: String) -> String { "http://127.0.0.1:\(port)/\(kind)" }

    /// Payloads validated per receiver kind.
    func counts() -> [String: Int] {
        var counts: [String: Int] = [:]
        let done = DispatchSemaphore(value: 0)
        let box = Mutex<[UInt8]>([])
        CurlTransport(client: ContractTests.client).send(TransportRequest(url: url("counts"), method: "GET", body: [], timeout: .seconds(10))) { r in
            if case .success(let response) = r { box.withLock { $0 = response.body } }
            done.signal()
        }
        done.wait()
        if let object = try? JSONSerialization.jsonObject(with: Data(box.withLock { $0 })) as? [String: Any] {
            for (kind, n) in object { counts[kind] = (n as? NSNumber)?.intValue ?? (n as? Int) }
        }
        return counts
    }

    func stop() {
        try? input.fileHandleForWriting.close()
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
    }

    /// A body a service refuses, and the reason the validator must give.
    struct Sample: Sendable, CustomTestStringConvertible {
        var kind: String
        var body: String
        var reason: String
        var testDescription: String { "\(kind): \(reason)" }
    }

    static let knownBad: [Sample] = [
        Sample(kind: "googlechat", body: #"{"text": "\#(String(repeating: "x", count: 4097))"}"#, reason: "Message is longer than 4096 characters"),
        Sample(kind: "googlechat", body: #"{"text": "disk full <users/all>"}"#, reason: "a mention or link"),
        Sample(kind: "googlechat", body: #"{"cardsV2": [{"cardId": "a", "card": {"sections": [{"header": "<b>x</b> & y", "widgets": [{"textParagraph": {"text": "ok"}}]}]}}]}"#,
               reason: "bare & or a split entity"),
        Sample(kind: "discord", body: #"{"content": "x", "embeds": [{"title": "t", "url": "/runbooks/x"}], "allowed_mentions": {"parse": []}}"#, reason: "URL_TYPE_INVALID_SCHEME"),
        Sample(kind: "discord", body: #"{"content": "@everyone"}"#, reason: "no allowed_mentions"),
        Sample(kind: "discord", body: #"{"content": "x", "embeds": [{"title": "\#(String(repeating: "🚨", count: 257))"}], "allowed_mentions": {"parse": []}}"#, reason: "is too long"),
        Sample(kind: "teams", body: #"{"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": {"type": "AdaptiveCard", "version": "1.2", "body": [{"type": "TextBlock", "text": "x", "style": "heading"}]}}]}"#,
               reason: "Adaptive Card 1.2"),
        Sample(kind: "slack", body: #"{"text": "<!channel> disk full"}"#, reason: "control sequence"),
        Sample(kind: "slack", body: #"{"text": "a &amp"}"#, reason: "split entity"),
        Sample(kind: "mattermost", body: #"{"text": "disk full @channel"}"#, reason: "mentions"),
        Sample(kind: "pagerduty", body: #"{"routing_key": "k", "event_action": "trigger", "payload": {"summary": "s", "source": "h", "severity": "critical"}, "links": [{"href": "/runbooks/x"}]}"#,
               reason: "not an absolute http(s) URL"),
        Sample(kind: "pagerduty", body: #"{"routing_key": "k", "event_action": "trigger", "payload": {"summary": "\#(String(repeating: "🚨", count: 513))", "source": "h", "severity": "critical"}}"#,
               reason: "over 1024"),
        Sample(kind: "alertmanager", body: #"[{"labels": {"a": "b"}, "startsAt": "yesterday"}]"#, reason: "schema"),
    ]
}

/// Groups no service would like: many alerts, huge annotations, every special character, empty
/// annotations, relative and absolute links, tier changes, resolutions.
enum HostileGroups {
    /// Text that must reach every service as written: mentions, links and markup of every service,
    /// HTML, entities, emoji, right-to-left text, NUL and other controls.
    static let hostile = [
        "<!channel> <!here> <!everyone> <@U024BE7LH> <!subteam^SAZ94GDB8> <#C024BE7LR>",
        "<users/all> <users/123456789> @everyone @here @channel @all @alice ~town-square",
        "<@80351110224678912> <@&165511591545143296> <#1234> <t:1700000000:R> <:emoji:123>",
        "*bold* **strong** _it_ __u__ ~strike~ ~~s~~ `code` ```block``` ||spoiler|| > quote",
        "# heading\n- item\n+ item\n1. first\n> quote\n[link](https://evil.example/x) <https://evil.example|click>",
        "<script>alert(1)</script> <b>bold</b> <a href=\"x\">a</a> &amp; &lt; &#60; & < > \" ' \\ | ^",
        "emoji 🚨🔥👩‍👩‍👧‍👦 flags 🇫🇷 RTL \u{202E}gnp.exe\u{202C} مرحبا بالعالم עברית combining e\u{301} zero\u{200B}width",
        "controls \u{0}NUL \u{1}\u{7}\u{1B}[31mred\u{1B}[0m tab\there line\u{2028}sep\u{2029} CRLF\r\n end",
    ]

    static func alert(_ i: Int, status: NotifiedAlert.Status, severity: String?, annotations: [String: String], labels extra: [String: String] = [:],
                      previous: String? = nil, history: Bool = false) -> NotifiedAlert {
        var labels = ["alertname": "HostileAlert", "instance": "api-\(i):8080", "job": "api"]
        labels.merge(extra) { $1 }
        labels["severity"] = severity
        let identity = Labels(labels.filter { $0.key != "severity" })
        let t0: Timestamp = 1_714_564_800_000
        let h = history ? ValueHistory(end: t0, points: (0..<30).map { Sample(timestamp: t0 - Int64(29 - $0) * 60_000, value: Double(($0 * 37) % 11) + 0.5) }) : nil
        return NotifiedAlert(
            status: status, labels: Labels(labels), annotations: annotations, severity: severity, startsAt: t0 - 600_000,
            endsAt: status == .resolved ? t0 - 60_000 : nil, value: Double(i) * 1.5, fingerprint: identity.stableHash,
            source: "rules/hostile.yaml:" + (i % 3 == 0 ? hostile[i % hostile.count] : "api"), previousSeverity: previous, history: h)
    }

    static func group(_ alerts: [NotifiedAlert], externalURL: String, name: String = "HostileAlert") -> AlertNotification {
        AlertNotification(
            receiver: "contract", groupKey: "{}:{alertname=\"\(name)\"}", groupLabels: Labels(["alertname": name]), alerts: alerts,
            reason: .new, idempotencyKey: "k", createdAt: 1_714_564_800_000, validUntil: 1_714_565_040_000, externalURL: externalURL)
    }

    /// Named groups, each a different combination.
    static func all() -> [(String, AlertNotification)] {
        let tiers = ["critical", "high", "medium", "low", "page", ""]
        let big = String(repeating: "x<&>*_ 🚨 ", count: 65_536 / 10)  // 64 KB of escapable text
        let links = ["https://runbooks.example.com/api?a=1&b=<2>", "/runbooks/api-latency", "javascript:alert(1)", "", "ftp://x", "https://" + String(repeating: "a", count: 3000)]
        var groups: [(String, AlertNotification)] = []
        for count in [1, 3, 20, 21, 60, 100] {
            for size in ["empty", "hostile", "64KB"] {
                // Every size with every count, and each external URL in turn; the costly 64 KB groups (a
                // few dozen renders of up to 512 KB each in a debug build) at three counts only.
                if size == "64KB", ![1, 21, 100].contains(count) { continue }
                for (u, url) in ["", "https://agent.example.org", "/relative"].enumerated() where (count + size.count + u) % 2 == 0 || count == 1 {
                    let alerts = (0..<count).map { i -> NotifiedAlert in
                        let text: String
                        switch size {
                        case "empty": text = ""
                        case "hostile": text = hostile[i % hostile.count]
                        default: text = i % 7 == 0 ? big : hostile[i % hostile.count] + String(repeating: "🚨 long ", count: 200)
                        }
                        let annotations = size == "empty" ? [:] : ["summary": text, "description": text + "\n" + big.prefix(i % 5 == 0 ? 2000 : 10), "runbook_url": links[i % links.count]]
                        let status: NotifiedAlert.Status = i % 4 == 3 ? .resolved : .firing
                        var extra: [String: String] = ["hostile": hostile[(i + 3) % hostile.count], "empty": ""]
                        if size == "64KB", i == 1 { for k in 0..<40 { extra["l\(k)"] = "value \(k) " + hostile[k % hostile.count] } }
                        let tier = tiers[i % tiers.count]
                        return alert(i, status: status, severity: tier.isEmpty ? nil : tier, annotations: annotations, labels: extra,
                                     previous: i % 5 == 1 ? "low" : nil, history: i % 2 == 0)
                    }
                    groups.append(("\(count) alerts, \(size) text, externalURL \"\(url)\"", group(alerts, externalURL: url)))
                }
            }
        }
        // Resolutions only, a hostile group name, tier changes only.
        let resolved = (0..<30).map { alert($0, status: .resolved, severity: "high", annotations: ["summary": hostile[$0 % hostile.count], "runbook": "/runbooks/x"]) }
        groups.append(("30 resolved", group(resolved, externalURL: "https://agent.example.org")))
        groups.append(("hostile group name", group([alert(0, status: .firing, severity: "critical", annotations: [:])], externalURL: "", name: hostile[0] + big)))
        let escalated = (0..<12).map { alert($0, status: .firing, severity: "critical", annotations: ["description": hostile[$0 % hostile.count]], previous: "medium", history: true) }
        groups.append(("12 escalations", group(escalated, externalURL: "https://agent.example.org")))
        return groups
    }
}
